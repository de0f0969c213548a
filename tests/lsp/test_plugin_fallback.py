"""A plugin the editor's environment cannot import: the server reads it from its source instead, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import current_diagnostics

PROJECT = Path(__file__).parent / "fixtures" / "unimportable"
FLOW = PROJECT / "flow.he"
PLUGIN = PROJECT / "plugins" / "ml.py"
URI = FLOW.as_uri()


def open_flow(client: LanguageClient, text: str) -> None:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=URI, language_id="heddle", version=1, text=text)))


def at(text: str, needle: str, delta: int = 0) -> lsp.Position:
    offset = text.index(needle) + delta
    return lsp.Position(line=text.count("\n", 0, offset), character=offset - (text.rfind("\n", 0, offset) + 1))


def document() -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=URI)


@pytest.mark.asyncio
async def test_the_import_is_a_warning_and_nothing_else_is_reported(client: LanguageClient) -> None:
    open_flow(client, FLOW.read_text(encoding="utf-8"))
    found = await current_diagnostics(client, URI)
    assert [(d.code, d.severity) for d in found] == [("HE3017", lsp.DiagnosticSeverity.Warning)]
    assert "No module named 'heddle_test_missing_dependency'" in found[0].message
    assert "read from its source" in found[0].message


@pytest.mark.asyncio
async def test_completion_hover_and_definition_still_work(client: LanguageClient) -> None:
    text = FLOW.read_text(encoding="utf-8")
    open_flow(client, text)
    completion = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=document(), position=at(text, "ml.predict", len("ml."))))
    items = completion.items if isinstance(completion, lsp.CompletionList) else completion or []
    assert "predict" in [item.label for item in items]

    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=document(), position=at(text, "ml.predict", len("ml.pre"))))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "Predict a value per reading with the model." in hover.contents.value
    assert "model" in hover.contents.value and "limit" in hover.contents.value

    found = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=document(), position=at(text, "ml.predict", len("ml.pre"))))
    assert isinstance(found, list) and len(found) == 1
    lines = PLUGIN.read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(lines) if t.startswith("def predict_rows("))
    assert found[0].uri == PLUGIN.resolve().as_uri()
    assert found[0].range == lsp.Range(start=lsp.Position(line=line, character=4),
                                       end=lsp.Position(line=line, character=4 + len("predict_rows")))
