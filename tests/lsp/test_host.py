"""The host in-process: a change cancels the analysis of the version it replaces; a whole-text change is an edit."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heddle_engine import block_store
from heddle_engine.compiler_process import CompilerProcess
from heddle_lang.catalog import ModuleSpec, StaticCatalog
from heddle_lang.paths import PathPolicy
from heddle_lang.relational import cache_clear
from heddle_lang.relational.compile import Compiled, compile_prql
from heddle_lang.semantic import AnalysisCancelled, analyze
from heddle_lang.syntax import parse
from heddle_lang.text import Position
from heddle_lsp.host import Change, Host, differing, replaced

TEXT = """import "std/io" io

workflow W {
  [{ id: 1 }] | io.print
}
"""


class GatedCatalog:
    """A catalog whose first answer waits for `release`: the analysis is held in the middle."""

    def __init__(self) -> None:
        self.inner = StaticCatalog({})
        self.entered = threading.Event()
        self.release = threading.Event()
        self.asked = 0  # analyses that read the catalog

    def module(self, path: str) -> ModuleSpec | None:
        self.asked += 1
        self.entered.set()
        self.release.wait(10)
        return self.inner.module(path)

    def paths(self) -> Sequence[str]:
        return self.inner.paths()

    def load_error(self, path: str) -> str | None:
        return self.inner.load_error(path)


def test_analyze_stops_when_cancelled() -> None:
    with pytest.raises(AnalysisCancelled):
        analyze(parse(TEXT), StaticCatalog({}), lambda: True)
    assert analyze(parse(TEXT), StaticCatalog({}), lambda: False).tree.text == TEXT


@pytest.mark.asyncio
async def test_a_change_cancels_the_running_analysis_and_the_new_version_is_analysed() -> None:
    catalog = GatedCatalog()
    host = Host(lambda _path: catalog)
    host.open("file:///tmp/gated.he", TEXT, 1)
    first = host.snapshot("file:///tmp/gated.he")
    assert first is not None
    await asyncio.get_running_loop().run_in_executor(None, catalog.entered.wait, 10)
    host.change("file:///tmp/gated.he", 2, [Change("// edited\n", None, None)])
    catalog.release.set()
    with pytest.raises(AnalysisCancelled):
        await first
    second = host.snapshot("file:///tmp/gated.he")
    assert second is not None
    snapshot = await second
    assert (snapshot.version, snapshot.tree.text) == (2, "// edited\n")


@pytest.mark.asyncio
async def test_a_version_replaced_before_its_analysis_started_is_never_analysed() -> None:
    """A held key: versions 2 and 3 are asked for while version 1's analysis holds the thread; 2 is replaced by 3
    before it starts, and is skipped (not even its declarations lowered) rather than analysed to be thrown away. A
    saved document's analysis (through the project's `Workspace`) lowers the text before the analysis proper."""
    catalog = GatedCatalog()
    host = Host(lambda _path: catalog, lambda path, _catalog: PathPolicy("/tmp", "/tmp"))
    uri = "file:///tmp/held.he"
    host.open(uri, TEXT, 1)
    first = host.snapshot(uri)
    await asyncio.get_running_loop().run_in_executor(None, catalog.entered.wait, 10)
    replaced = host.change(uri, 2, [Change("// 2\n", Position(0, 0), Position(0, 0))])
    assert replaced is not None
    skipped = replaced.tree
    second = host.snapshot(uri)
    host.change(uri, 3, [Change("// 3\n", Position(0, 0), Position(0, 0))])
    third = host.snapshot(uri)
    assert first is not None and second is not None and third is not None
    catalog.release.set()
    for future in (first, second):
        with pytest.raises(AnalysisCancelled):
            await future
    snapshot = await third
    assert (snapshot.version, snapshot.tree.text) == (3, "// 3\n// 2\n" + TEXT)
    assert "outline" not in skipped.__dict__  # version 2 was never lowered
    assert catalog.asked == 2  # version 1 (held, then cancelled) and version 3


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab\n\ré€😀\ud800 ", max_size=12), st.text(alphabet="ab\n\ré€😀\ud800 ", max_size=12))
def test_a_whole_text_change_edits_the_bytes_that_differ(before: str, after: str) -> None:
    old, new = (text.encode("utf-8", errors="surrogatepass") for text in (before, after))
    start, end, new_end = differing(old, new)
    assert 0 <= start <= end <= len(old) and start <= new_end <= len(new)
    assert old[:start] == new[:start] and old[end:] == new[new_end:]
    assert new[start:new_end].decode("utf-8", errors="surrogatepass")  == after[len(old[:start].decode(
        "utf-8", errors="surrogatepass")):][:len(new[start:new_end].decode("utf-8", errors="surrogatepass"))]
    tree = replaced(parse(before), after)
    fresh = parse(after)
    assert tree.data == fresh.data and str(tree.root) == str(fresh.root)
    assert tree.diagnostics == fresh.diagnostics and tree.layout == fresh.layout


def test_a_whole_text_change_differs_from_a_large_text_in_few_bytes() -> None:
    """An editor that sends whole documents: one word changed in the middle is one small edit."""
    text = "".join(f"step s{n} = io.print\n\n" for n in range(2000))
    middle = text.index("step s1000 ")
    edited = text[:middle] + "step t1000 " + text[middle + len("step s1000 "):]
    assert differing(text.encode(), edited.encode()) == (middle + 5, middle + 6, middle + 6)


@pytest.mark.asyncio
@pytest.mark.parametrize("brk", ["\n", "\r\n", "\r"], ids=repr)
async def test_incremental_edits_count_lines_as_lsp_does(brk: str) -> None:
    """A lone `\\r` ends a line for the client, so it does for the host: an edit on line 4 lands on line 4."""
    host = Host(lambda _path: StaticCatalog({}))
    uri = "file:///tmp/breaks.he"
    host.open(uri, TEXT.replace("\n", brk), 1)
    # Replace ` | ` after `[{ id: 1 }]` (line 3, columns 13..16) by a line break and a stage indentation.
    host.change(uri, 2, [Change(brk + "    | ", Position(3, 13), Position(3, 16))])
    expected = TEXT.replace("[{ id: 1 }] | io.print", "[{ id: 1 }]\n    | io.print").replace("\n", brk)
    future = host.snapshot(uri)
    assert future is not None
    snapshot = await future
    assert snapshot.tree.text == expected
    lines = snapshot.tree.lines
    assert [(d.code, lines.position(d.span.start)) for d in snapshot.analysis.diagnostics] == [
        ("HE3001", Position(0, 7))]


BLOCKS = """import "std/io" io

workflow W {
  [
    { id: 1, amount: 2.5 },
  ]
    | (from input filter amount > 1 select {id})
    | io.print
}
"""


@pytest.mark.asyncio
async def test_a_new_server_types_the_blocks_of_an_unchanged_file_from_the_disk_cache(tmp_path: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                                     ) -> None:
    (tmp_path / "heddle.toml").write_text("[modules]\n", encoding="utf-8")
    uri = (tmp_path / "main.he").as_uri()
    compiled: list[str] = []

    def compiler(text: str) -> Compiled:
        compiled.append(text)
        return compile_prql(text)

    cache_clear()
    first = Host(lambda _path: StaticCatalog({}), compiler=compiler)
    first.open(uri, BLOCKS, 1)
    before = await first.snapshot(uri)  # type: ignore[misc]
    assert compiled and list((tmp_path / ".heddle" / "cache").glob("relational-*.jsonl"))

    def refuse(text: str) -> Compiled:
        raise AssertionError("compiled although the disk cache holds the block")

    # A new process: nothing in memory, the records read from the disk.
    cache_clear()
    monkeypatch.setattr(block_store, "_STORES", {})
    second = Host(lambda _path: StaticCatalog({}), compiler=refuse)
    second.open(uri, BLOCKS, 1)
    after = await second.snapshot(uri)  # type: ignore[misc]
    assert after.analysis.diagnostics == before.analysis.diagnostics
    assert after.analysis.plan.explain() == before.analysis.plan.explain()

    # With the server's own compiler (a child process): not even started, every block came from the disk.
    cache_clear()
    monkeypatch.setattr(block_store, "_STORES", {})
    third = Host(lambda _path: StaticCatalog({}))
    third.open(uri, BLOCKS, 1)
    again = await third.snapshot(uri)  # type: ignore[misc]
    assert again.analysis.diagnostics == before.analysis.diagnostics
    assert isinstance(third.compiler, CompilerProcess) and third.compiler.starts == 0


@pytest.mark.asyncio
async def test_the_free_memory_is_released_once_the_documents_rest_after_an_analysis() -> None:
    """Off the path of an edit: on the analysis thread, queued behind the analysis, and only once no document has
    changed for the rest's length (a document just opened has not changed: at once)."""
    host = Host(lambda _path: StaticCatalog({}))
    released = threading.Event()
    host._release.seconds = 1.0
    host._release.action = released.set
    uri = "file:///tmp/rests.he"
    host.open(uri, TEXT, 1)
    first = host.snapshot(uri)
    assert first is not None
    await first
    await asyncio.get_running_loop().run_in_executor(None, released.wait, 5)
    assert released.is_set()
    released.clear()
    host.change(uri, 2, [Change("// 2\n", Position(0, 0), Position(0, 0))])
    changed = time.monotonic()
    second = host.snapshot(uri)
    assert second is not None
    await second
    await asyncio.sleep(0.05)
    if time.monotonic() - changed < host._release.seconds - 0.1:  # (an analysis slower than the rest: no telling)
        assert not released.is_set()  # the user may still be typing
    await asyncio.get_running_loop().run_in_executor(None, released.wait, 5)
    assert released.is_set()
