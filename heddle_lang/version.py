"""The version of the language and its tools (imported alone by `heddle --version`)."""

__version__ = "0.1.0"
