"""`.he` libraries in the language server: diagnostics follow edits of a library (open or on disk), and
definition, references, rename, hover, completion and workspace symbols cross files."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import accept_registrations

SETTLE = 60.0  # seconds for the server's diagnostics to reach what a test expects (a loaded machine)

PLATFORM = """import "std/io" io

// Where failures are written.
step report = io.stderr

handler alert_on_fail {
  *
    | report
}
"""

APP = """import "std/io" io
import "./shared/platform.he" platform

workflow Main ? platform.alert_on_fail {
  [
    { id: 1 },
  ]
    | platform.report
    | io.print
}
"""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "heddle_lsp"]))
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code")))
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "heddle.toml").write_text("")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "platform.he").write_text(PLATFORM)
    (tmp_path / "app.he").write_text(APP)
    (tmp_path / "other.he").write_text(APP.replace("workflow Main", "workflow Other"))
    return tmp_path


def open_document(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="heddle", version=1, text=path.read_text() if text is None else text)))
    return uri


async def codes(client: LanguageClient, uri: str, expected: list[str]) -> list[str]:
    """The codes of the diagnostics published for `uri`, once they are `expected` (or `SETTLE` seconds passed).
    Not "the next notification": pytest-lsp's wait resolves one future per notification, and a second
    notification read with the first (the importer's and the library's) has no waiter and would be lost."""
    deadline = time.monotonic() + SETTLE
    while True:
        published = client.diagnostics.get(uri)
        found = sorted(str(d.code) for d in published) if published is not None else None
        if found == expected or time.monotonic() > deadline:
            return found if found is not None else ["<nothing published>"]
        await asyncio.sleep(0.02)


def at(text: str, needle: str, shift: int = 0) -> lsp.Position:
    offset = text.index(needle) + shift
    line = text.count("\n", 0, offset)
    return lsp.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


@pytest.mark.asyncio
async def test_editing_a_library_rechecks_its_open_importer(client: LanguageClient, project: Path) -> None:
    app = open_document(client, project / "app.he")
    assert await codes(client, app, []) == []
    library = open_document(client, project / "shared" / "platform.he")
    assert await codes(client, library, []) == []
    broken = PLATFORM.replace("step report", "step reprt")
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=library, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=broken)]))
    expected = ["HE3004", "HE3020"]  # `platform.report` is gone; the library has an error
    assert await codes(client, app, expected) == expected


@pytest.mark.asyncio
async def test_a_library_changed_on_disk_rechecks_its_importer(client: LanguageClient, project: Path) -> None:
    app = open_document(client, project / "app.he")
    assert await codes(client, app, []) == []
    (project / "shared" / "platform.he").write_text(PLATFORM.replace("handler alert_on_fail", "handler on_fail"))
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[lsp.FileEvent(
        uri=(project / "shared" / "platform.he").as_uri(), type=lsp.FileChangeType.Changed)]))
    assert await codes(client, app, ["HE3004"]) == ["HE3004"]


@pytest.mark.asyncio
async def test_definition_references_and_rename_cross_files(client: LanguageClient, project: Path) -> None:
    app = open_document(client, project / "app.he")
    assert await codes(client, app, []) == []
    library_uri = (project / "shared" / "platform.he").as_uri()
    found = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=lsp.TextDocumentIdentifier(uri=app), position=at(APP, "platform.report", 10)))
    assert isinstance(found, list) and [(f.uri, f.range.start.line, f.range.start.character) for f in found] == [
        (library_uri, 3, 5)]
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=lsp.TextDocumentIdentifier(uri=app), position=at(APP, "platform.alert_on_fail", 10),
        context=lsp.ReferenceContext(include_declaration=True)))
    assert refs is not None
    assert sorted((Path(r.uri[7:]).name, r.range.start.line) for r in refs) == [
        ("app.he", 3), ("other.he", 3), ("platform.he", 5)]  # other.he is not open: read from the disk
    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=lsp.TextDocumentIdentifier(uri=app), position=at(APP, "platform.report", 10),
        new_name="write_failure"))
    assert edit is not None and edit.changes is not None
    assert {Path(uri[7:]).name: len(edits) for uri, edits in edit.changes.items()} == {
        "app.he": 1, "other.he": 1, "platform.he": 2}  # the declaration and the handler's use
    assert all(e.new_text == "write_failure" for edits in edit.changes.values() for e in edits)


@pytest.mark.asyncio
async def test_hover_completion_and_workspace_symbols(client: LanguageClient, project: Path) -> None:
    app = open_document(client, project / "app.he")
    assert await codes(client, app, []) == []
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=app), position=at(APP, "platform.report", 10)))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "step report = io.stderr" in hover.contents.value
    assert "Where failures are written." in hover.contents.value
    assert "from `shared/platform.he`" in hover.contents.value
    handler = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=app), position=at(APP, "platform.alert_on_fail", 10)))
    assert handler is not None and isinstance(handler.contents, lsp.MarkupContent)
    assert "receives `*`, the error context, from `Main`" in handler.contents.value
    typing = APP.replace("    | io.print\n", "    | io.print ? platform.\n")
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=app, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=typing)]))
    items = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri=app), position=at(typing, "? platform.", 11)))
    assert items is not None
    listed = items.items if isinstance(items, lsp.CompletionList) else items
    assert [i.label for i in listed] == ["alert_on_fail"]
    symbols = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="alert"))
    assert symbols is not None
    assert [(s.name, Path(s.location.uri[7:]).name) for s in symbols] == [  # type: ignore[union-attr]
        ("alert_on_fail", "platform.he")]
