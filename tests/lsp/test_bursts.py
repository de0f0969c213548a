"""A held key, end to end over stdio: changes 20 ms apart, each analysed at once and cancelled by the next. The
diagnostics published during and after the burst are each of the latest version at the time (never older than one
published before), and the last is of the burst's last version, the same as a fresh check of its text."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.lsp.raw import RawClient

TEXT = """import "std/io" io

step show = io.print

workflow W {
  [{ id: 1 }]
    | io.print
}
"""
NAME_END = {"line": 2, "character": len("step show")}  # where the key is held: each x goes in before the last
GAP_SECONDS = 0.02
PUBLISH = "textDocument/publishDiagnostics"


@pytest.fixture
def raw() -> Iterator[RawClient]:
    client = RawClient()
    client.initialize()
    yield client
    client.close()


def open_document(raw: RawClient, uri: str, text: str) -> None:
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "heddle", "version": 1,
                                                         "text": text}})


def published(raw: RawClient, uri: str, version: int) -> list[dict[str, Any]]:
    """Every publish of `uri` up to the one of `version`, and those that come in the half second after it."""
    found = raw.wait(lambda m: m.get("method") == PUBLISH and m["params"]["uri"] == uri
                     and m["params"].get("version") == version, 60, f"the diagnostics of version {version}")
    earlier, raw.seen = raw.seen, []
    later = raw.drain(0.5)
    return [m for m in (*earlier, found, *later) if m.get("method") == PUBLISH and m["params"]["uri"] == uri]


def shown(diagnostics: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    return [(d["code"], d["range"]["start"]["line"], d["range"]["start"]["character"], d["message"])
            for d in diagnostics]


@pytest.mark.parametrize("whole", [False, True], ids=["ranges", "whole texts"])
def test_a_burst_of_changes_ends_with_the_diagnostics_of_its_last_version(raw: RawClient, whole: bool) -> None:
    uri = "file:///tmp/held_key.he"
    open_document(raw, uri, TEXT)
    published(raw, uri, 1)
    raw.seen.clear()
    text = TEXT
    presses = 12
    for press in range(presses):
        time.sleep(GAP_SECONDS)
        text = text.replace("step show", "step showx", 1)
        change: dict[str, Any] = {"text": text} if whole else {"range": {"start": NAME_END, "end": NAME_END},
                                                                   "text": "x"}
        raw.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": press + 2},
                                              "contentChanges": [change]})
    last = presses + 1
    publishes = published(raw, uri, last)
    versions = [m["params"]["version"] for m in publishes]
    assert versions == sorted(set(versions)) and versions[-1] == last, versions
    final = shown(publishes[-1]["params"]["diagnostics"])
    assert any("show" + "x" * presses in message for *_, message in final), final

    fresh = "file:///tmp/held_key_fresh.he"
    open_document(raw, fresh, text)
    assert shown(published(raw, fresh, 1)[-1]["params"]["diagnostics"]) == final
