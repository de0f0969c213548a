"""The syntax layer: tree-sitter parsing, syntax diagnostics and the typed AST."""

from heddle_lang.syntax.tree import LANGUAGE, SyntaxTree, parse

__all__ = ["LANGUAGE", "SyntaxTree", "parse"]
