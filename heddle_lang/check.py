"""`check_tree`: every diagnostic the language knows for one document, sorted by position."""

from __future__ import annotations

from heddle_lang.diagnostics import Diagnostic, sort_diagnostics
from heddle_lang.syntax.tree import SyntaxTree


def check_tree(tree: SyntaxTree) -> list[Diagnostic]:
    return sort_diagnostics([*tree.diagnostics, *tree.layout])
