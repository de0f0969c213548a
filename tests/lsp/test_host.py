"""The host in-process: a change cancels the analysis of the version it replaces."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from heddle_lang.catalog import ModuleSpec, StaticCatalog
from heddle_lang.semantic import AnalysisCancelled, analyze
from heddle_lang.syntax import parse
from heddle_lsp.host import Change, Host

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

    def module(self, path: str) -> ModuleSpec | None:
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
