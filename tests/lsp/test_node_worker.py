"""The language server gets a worker's module from its `describe`: a Node step's doc and schema in hover; a
worker that cannot be reached is one error at the import, and the server goes on answering."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import current_diagnostics
from tests.node_sdk import node_example

FLOW = Path(__file__).parent / "fixtures" / "node_worker" / "flow.he"
UNREACHABLE = Path(__file__).parent / "fixtures" / "unreachable_worker" / "flow.he"


@pytest.mark.asyncio
async def test_hover_shows_the_schema_of_a_node_step(client: LanguageClient) -> None:
    node_example()
    text = FLOW.read_text(encoding="utf-8")
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=FLOW.as_uri(), language_id="heddle", version=1, text=text)))
    assert await current_diagnostics(client, FLOW.as_uri()) == []
    offset = text.index("shop.score") + len("shop.sc")
    position = lsp.Position(line=text.count("\n", 0, offset), character=offset - (text.rfind("\n", 0, offset) + 1))
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=FLOW.as_uri()), position=position))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    value = hover.contents.value
    assert "Scores each order" in value
    assert "score" in value and "Float64" in value and "amount" in value


@pytest.mark.asyncio
async def test_an_unreachable_worker_is_one_error_at_the_import(client: LanguageClient) -> None:
    text = UNREACHABLE.read_text(encoding="utf-8")
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=UNREACHABLE.as_uri(), language_id="heddle", version=1, text=text)))
    found = await current_diagnostics(client, UNREACHABLE.as_uri())
    assert [(d.code, d.range.start.line) for d in found] == [("HE3001", 1)]
    assert "grpc://127.0.0.1:9" in found[0].message and "shop/score" in found[0].message
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        text_document=lsp.TextDocumentIdentifier(uri=UNREACHABLE.as_uri())))
    assert symbols  # still answering
