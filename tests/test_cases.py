"""Tests as data: every `tests/cases/**/*.he` file against the diagnostics annotated inside it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from heddle_engine.catalog import EngineCatalog, load_catalog
from heddle_engine.library_files import read_text
from heddle_engine.project import path_policy
from heddle_lang.check import check_tree
from heddle_lang.diagnostics import Diagnostic
from heddle_lang.semantic.workspace import Workspace
from heddle_lang.syntax import SyntaxTree, parse
from heddle_lang.text import Encoding
from tests.annotations import expectations

CASES = Path(__file__).parent / "cases"
CASE_FILES = sorted(p for p in CASES.rglob("*.he") if p.parent.name != "format")
# Syntax and layout cases check the text alone; the others are analysed in the project tests/cases/, those
# of `editor/` with the language server's catalog (plugins imported in a plugin process).
TEXT_ONLY = {"syntax", "layout"}
CATALOG = load_catalog(CASES)


@pytest.fixture(scope="module")
def editor_catalog() -> Iterator[EngineCatalog]:
    catalog = load_catalog(CASES, isolated=True)
    yield catalog
    if catalog.plugins is not None:
        catalog.plugins.close()


def diagnostics(path: Path, tree: SyntaxTree, editor: EngineCatalog) -> list[Diagnostic]:
    if path.parent.name in TEXT_ONLY:
        return check_tree(tree)
    catalog = editor if path.parent.name == "editor" else CATALOG
    # A workspace reads the `.he` libraries a case imports from the disk (`libraries/`).
    workspace = Workspace(catalog, read_text, lambda file: path_policy(Path(file), catalog.project))
    return list(workspace.analyze(path.resolve().as_posix(), tree).diagnostics)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: str(p.relative_to(CASES)))
def test_case(path: Path, editor_catalog: EngineCatalog) -> None:
    text = path.read_text(encoding="utf-8")
    tree = parse(text)
    found = []
    for d in diagnostics(path, tree, editor_catalog):
        position = tree.lines.position(d.span.start, Encoding.UTF32)
        found.append((position.line + 1, position.character + 1, d.code, d.message))
    expected = expectations(text)
    assert expected or "no-diagnostics" in path.stem, f"{path.name} has no //~ annotation"
    assert Counter((line, code) for line, _, code, _ in found) == Counter((e.line, e.code) for e in expected), (
        "diagnostics differ:\n" + "\n".join(f"  {line}:{col} {code} {msg}" for line, col, code, msg in found)
    )
    for e in expected:
        matches = [f for f in found if f[0] == e.line and f[2] == e.code]
        if e.column is not None:
            columns = [col for _, col, _, _ in matches]
            assert e.column in columns, f"{e.code} on line {e.line} at columns {columns}, not {e.column}"
        if e.fragment is not None:
            messages = [msg for *_, msg in matches]
            assert any(e.fragment in msg for msg in messages), f"{e.code}@{e.line}: {e.fragment!r} not in {messages}"
