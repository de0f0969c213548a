"""A seeded storm of edits — unbalanced braces, unterminated PRQL — through the real server.

The server must stay alive, and its final diagnostics must equal a fresh analysis of the final text.
"""

from __future__ import annotations

import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from heddle_engine.catalog import load_catalog
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from tests.lsp.conftest import accept_registrations

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EDITS = 5_000
FRAGMENTS = ["{", "}", "(", ")", "(from input", "[", "]", "|", "\n    | ", ">", "?", "<", "=", ":", ",", '"',
             "\n", " ", "x", "users", "io.print", "step s = io.print\n", "workflow W {\n", "# c", "//", "/*"]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "heddle_lsp"]))
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code")))
    yield
    await lsp_client.shutdown_session()


def _position(text: str, offset: int) -> lsp.Position:
    line = text.count("\n", 0, offset)
    return lsp.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


@pytest.mark.asyncio
async def test_random_edits_keep_the_server_alive_and_exact(client: LanguageClient) -> None:
    path = EXAMPLES / "seeds" / "fraud_detection.he"
    text = path.read_text(encoding="utf-8")
    assert text.isascii()  # columns are the same in every encoding
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=text)))
    rng = random.Random(517)
    for version in range(2, EDITS + 2):
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.choice((0, 0, 1, 2, 5, 20)))
        new = rng.choice(FRAGMENTS) if rng.random() < 0.7 else ""
        change = lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=_position(text, start), end=_position(text, end)), text=new)
        text = text[:start] + new + text[end:]
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]))
        if version % 1000 == 0:  # now and then, a request in the middle of the storm
            await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri)))
    report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
    tree = parse(text)
    expected = analyze(tree, load_catalog(EXAMPLES)).diagnostics
    got = [(d.code, d.range.start.line, d.range.start.character, d.message) for d in report.items]
    want = []
    for d in expected:
        start = tree.lines.position(d.span.start)
        want.append((d.code, start.line, start.character, d.message))
    assert got == want
