"""What "formatting keeps the meaning" means: the same AST, save for import aliases it had to add."""

from __future__ import annotations

import dataclasses

from heddle_lang.syntax import ast


def same_meaning(before: ast.Module, after: ast.Module) -> bool:
    """`after` says what `before` says; an import without alias may have gained one (HE2008's fix)."""
    if len(before.declarations) != len(after.declarations):
        return False
    filled = []
    for old, new in zip(before.declarations, after.declarations, strict=True):
        if isinstance(old, ast.Import) and isinstance(new, ast.Import) and old.alias is None:
            filled.append(dataclasses.replace(old, alias=new.alias))
        else:
            filled.append(old)
    return dataclasses.replace(before, declarations=tuple(filled)) == after
