"""End-to-end: the real `heddle-lsp` process driven by pytest-lsp."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import accept_registrations, current_diagnostics, pulls, remember_diagnostic_mode

NEGOTIATED: dict[int, str] = {}  # the position encoding each client session agreed on

INVALID = """import "std/io" io

step show = io.print { }

workflow W {
  [{ id: 1 }] > rows
  rows
    | show
}
"""


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "heddle_lsp"]),
    params=["neovim", "visual_studio_code"],
)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> AsyncIterator[None]:
    capabilities = pytest_lsp.client_capabilities(request.param)
    accept_registrations(lsp_client)
    remember_diagnostic_mode(lsp_client, capabilities)
    result = await lsp_client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    NEGOTIATED[id(lsp_client)] = str(result.capabilities.position_encoding or "utf-16")
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_diagnostics_are_published_on_open_and_change(client: LanguageClient) -> None:
    uri = "file:///tmp/bad.he"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=INVALID)))
    diagnostics = await current_diagnostics(client, uri)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in diagnostics] == [
        ("HE2001", 2, 21), ("HE2006", 5, 14)]
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=5, character=13), end=lsp.Position(line=5, character=14)),
            text="\n  ")]))
    assert [d.code for d in await current_diagnostics(client, uri)] == ["HE2001"]


@pytest.mark.asyncio
@pytest.mark.parametrize("brk", ["\r\n", "\r"], ids=repr)
async def test_a_carriage_return_ends_a_line_for_diagnostics_and_edits(client: LanguageClient, brk: str) -> None:
    uri = "file:///tmp/breaks.he"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=INVALID.replace("\n", brk))))
    diagnostics = await current_diagnostics(client, uri)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in diagnostics] == [
        ("HE2001", 2, 21), ("HE2006", 5, 14)]
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=5, character=13), end=lsp.Position(line=5, character=14)),
            text=brk + "  ")]))
    assert [d.code for d in await current_diagnostics(client, uri)] == ["HE2001"]


@pytest.mark.asyncio
async def test_positions_are_utf16_with_emoji_and_cjk(client: LanguageClient) -> None:
    uri = "file:///tmp/wide.he"
    text = 'import "std/io" io\n\nworkflow W {\n  [{ name: "日本🚀", city: ok }]\n    | io.print\n}\n'
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=text)))
    (unquoted,) = [d for d in await current_diagnostics(client, uri) if d.code == "HE1008"]
    # Columns in the negotiated encoding: `日`, `本` are 3 UTF-8 bytes and 1 UTF-16 unit each, `🚀` 4 and 2.
    column = {"utf-8": 31, "utf-16": 25, "utf-32": 24}[NEGOTIATED[id(client)]]
    assert unquoted.range.start == lsp.Position(line=3, character=column)
    # An edit after the emoji, in the same units: replace `ok` by `"ok"`.
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line=3, character=column),
                            end=lsp.Position(line=3, character=column + 2)),
            text='"ok"')]))
    assert [d.code for d in await current_diagnostics(client, uri)] == []


@pytest.mark.asyncio
async def test_pull_diagnostics_match_a_fresh_check(client: LanguageClient) -> None:
    uri = "file:///tmp/pull.he"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=INVALID)))
    report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
    assert [d.code for d in report.items] == ["HE2001", "HE2006"]
    description = report.items[0].code_description
    assert description is not None and description.href.endswith("docs/diagnostics.md#HE2001")


@pytest.mark.asyncio
async def test_a_client_that_pulls_gets_no_pushes_and_unchanged_reports(client: LanguageClient) -> None:
    uri = "file:///tmp/mode.he"
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=INVALID)))
    report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport) and report.result_id is not None
    again = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id))
    assert isinstance(again, lsp.RelatedUnchangedDocumentDiagnosticReport)
    if pulls(client):
        await asyncio.sleep(0.5)  # several debounce periods
        assert uri not in client.diagnostics  # nothing was pushed: the editor would show every problem twice
    else:  # the push may have come while we pulled
        for _ in range(200):
            if uri in client.diagnostics:
                break
            await asyncio.sleep(0.05)
        assert [d.code for d in client.diagnostics[uri]] == ["HE2001", "HE2006"]


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
