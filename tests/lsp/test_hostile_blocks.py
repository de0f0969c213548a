"""Relational blocks that once killed or stalled the real server: it answers, reports, and keeps serving.

- 900 chained transforms overflowed prqlc's native stack and killed the server (SIGSEGV): now HE6008,
  before prqlc is asked;
- a chain of `**` no static limit knows still crashes prqlc: the block compiles in the server's compiler
  process, so it costs HE6009 and a new compiler process, never the server;
- 1,000 nested parentheses: HE6008 instead of an internal error, and selectionRange answers.
"""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import current_diagnostics

CHAIN = ('import "std/io" io\n\nworkflow W {\n  [{ a: 1 }]\n    | (\n        from input\n'
         + "        filter a > 0\n" * 900 + "      )\n    | io.print\n}\n")
POWERS = ('import "std/io" io\n\nworkflow W {\n  [{ a: 1 }]\n    | (from input derive {b = '
          + " ** ".join(["a"] * 40_000) + "})\n    | io.print\n}\n")
NESTED = ('import "std/io" io\n\nworkflow W {\n  [{ a: 1 }]\n    | (from input derive {b = '
          + "(" * 1000 + "a" + ")" * 1000 + "})\n    | io.print\n}\n")


def _open(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=text)))


async def _still_serving(client: LanguageClient, uri: str) -> None:
    hover = await asyncio.wait_for(client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=4, character=8))), 30)
    assert hover is None or hover.contents is not None


@pytest.mark.asyncio
async def test_a_chain_of_900_transforms_is_refused_before_prqlc(client: LanguageClient) -> None:
    uri = "file:///tmp/chain.he"
    _open(client, uri, CHAIN)
    codes = [d.code for d in await current_diagnostics(client, uri)]
    assert codes == ["HE6008"]
    await _still_serving(client, uri)


@pytest.mark.asyncio
async def test_a_block_that_crashes_prqlc_costs_one_diagnostic(client: LanguageClient) -> None:
    uri = "file:///tmp/powers.he"
    _open(client, uri, POWERS)
    (crashed,) = [d for d in await current_diagnostics(client, uri) if d.code == "HE6009"]
    assert "crashed" in crashed.message
    await _still_serving(client, uri)
    # The next block compiles in a fresh compiler process.
    uri2 = "file:///tmp/after.he"
    _open(client, uri2, 'import "std/io" io\n\nworkflow W {\n  [{ a: 1 }]\n    | (from input select {b})\n'
                        "    | io.print\n}\n")
    assert [d.code for d in await current_diagnostics(client, uri2)] == ["HE6003"]


@pytest.mark.asyncio
async def test_selection_ranges_answer_inside_1000_nested_parentheses(client: LanguageClient) -> None:
    uri = "file:///tmp/nested.he"
    _open(client, uri, NESTED)
    assert [d.code for d in await current_diagnostics(client, uri)] == ["HE6008"]
    inside = len("    | (from input derive {b = ") + 1000
    answer = await asyncio.wait_for(client.text_document_selection_range_async(lsp.SelectionRangeParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), positions=[lsp.Position(line=4, character=inside)])), 30)
    assert answer is not None and len(answer) == 1
    depth, current = 0, answer[0]
    while current is not None:
        depth, current = depth + 1, current.parent
    assert 2 <= depth <= 64
