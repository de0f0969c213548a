"""End-to-end: the real `heddle-lsp` process driven by pytest-lsp."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

INVALID = """import "fhub/postgresql" pg

resource pg_db = pg.connection { host: "localhost" }

workflow W {
  fetch_users > users
}
"""


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "heddle_lsp"]),
    params=["neovim", "visual_studio_code"],
)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> AsyncIterator[None]:
    capabilities = pytest_lsp.client_capabilities(request.param)
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_diagnostics_are_published_on_open_and_change(client: LanguageClient) -> None:
    uri = "file:///tmp/bad.he"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=INVALID)))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    diagnostics = client.diagnostics[uri]
    assert [(d.code, d.range.start.line, d.range.start.character) for d in diagnostics] == [
        ("HE2001", 2, 31), ("HE2006", 5, 14)]
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=5, character=13), end=lsp.Position(line=5, character=14)),
            text="\n  ")]))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.code for d in client.diagnostics[uri]] == ["HE2001"]


@pytest.mark.asyncio
async def test_formatting_returns_the_canonical_text(client: LanguageClient) -> None:
    uri = "file:///tmp/fmt.he"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text="workflow W { a | b }\n")))
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        options=lsp.FormattingOptions(tab_size=2, insert_spaces=True),
    ))
    assert edits is not None and edits[0].new_text == "workflow W {\n  a\n    | b\n}\n"
