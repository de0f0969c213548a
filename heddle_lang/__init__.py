"""Heddle's language: pure functions of source text (and, later, a module catalog). No I/O."""

from heddle_lang.diagnostics import Diagnostic, Fix, Related, Severity, TextEdit
from heddle_lang.syntax import SyntaxTree, parse

__version__ = "0.1.0"

__all__ = ["Diagnostic", "Fix", "Related", "Severity", "SyntaxTree", "TextEdit", "__version__", "parse"]
