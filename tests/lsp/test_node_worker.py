"""The language server gets a Node worker's module from its `describe`: no diagnostic, and hover shows the
Node step's doc and the schema it declares."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import current_diagnostics
from tests.node_sdk import node_example

FLOW = Path(__file__).parent / "fixtures" / "node_worker" / "flow.he"


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
