"""Importing what an import path maps to (`package.module:attribute` or `package.module`)."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path


def load_target(target: str, root: Path | None = None) -> object:
    """The object `module:attr.sub` (or the module `module`) names, imported with `root` on sys.path."""
    module_name, _, attribute = target.partition(":")
    module_name, attribute = module_name.strip(), attribute.strip()
    if not module_name:
        raise ValueError(f"`{target}` names no module (write \"package.module:attribute\")")
    with _on_path(root):
        if root is not None:
            _forget_foreign(module_name, root)
        importlib.invalidate_caches()
        value: object = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        value = getattr(value, part)
    return value


@contextlib.contextmanager
def _on_path(root: Path | None) -> Iterator[None]:
    entry = str(root) if root is not None else None
    added = entry is not None and entry not in sys.path
    if added:
        sys.path.insert(0, entry)  # type: ignore[arg-type]
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)  # type: ignore[arg-type]


def _forget_foreign(module_name: str, root: Path) -> None:
    """If the project provides the top-level package `module_name` lives in, but another folder's package of
    that name was imported before (another project in the same process), drop the stale one."""
    top = module_name.partition(".")[0]
    if not ((root / top).is_dir() or (root / f"{top}.py").is_file()):
        return
    loaded = sys.modules.get(top)
    if loaded is None or _inside(loaded, root):
        return
    for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
        del sys.modules[name]


def _inside(module: object, root: Path) -> bool:
    locations = [getattr(module, "__file__", None), *list(getattr(module, "__path__", []) or [])]
    resolved = root.resolve()
    return any(loc is not None and Path(loc).resolve().is_relative_to(resolved) for loc in locations)


def forget_project_modules(root: Path) -> list[str]:
    """Drop the modules imported from files under `root`, so the next import reads them again."""
    gone = [name for name, module in list(sys.modules.items()) if module is not None and _inside(module, root)]
    for name in gone:
        del sys.modules[name]
    return gone


def find_module_file(module: str, folders: Sequence[Path]) -> Path | None:
    """The source file of the dotted module `module` in the first of `folders` that has it (`a/b.py` or
    `a/b/__init__.py`), found by looking at files only: no package's `__init__` runs."""
    parts = module.split(".")
    if not module or not all(p.isidentifier() for p in parts):
        return None
    for folder in folders:
        base = folder.joinpath(*parts)
        for candidate in (base.with_name(f"{parts[-1]}.py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None
