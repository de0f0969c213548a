"""Heddle's language: pure functions of source text (and, later, a module catalog). No I/O.

The names below load on first use: importing a submodule (or `heddle_lang.version`) loads no parser.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from heddle_lang.version import __version__

if TYPE_CHECKING:
    from heddle_lang.diagnostics import Diagnostic, Fix, Related, Severity, TextEdit
    from heddle_lang.syntax import SyntaxTree, parse

_HOMES = {"Diagnostic": "heddle_lang.diagnostics", "Fix": "heddle_lang.diagnostics",
          "Related": "heddle_lang.diagnostics", "Severity": "heddle_lang.diagnostics",
          "TextEdit": "heddle_lang.diagnostics", "SyntaxTree": "heddle_lang.syntax", "parse": "heddle_lang.syntax"}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'heddle_lang' has no attribute {name!r}")
    return getattr(import_module(home), name)


__all__ = ["Diagnostic", "Fix", "Related", "Severity", "SyntaxTree", "TextEdit", "__version__", "parse"]
