"""The language server with a project that has resource profiles and an SQLite database: the `profile`
initialization option picks the profile, hover shows a key's effective value, and a stage fed by a query
shows the column types the database describes (asked in the background, then the document is checked
again)."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import accept_registrations

FOLDER = Path(tempfile.mkdtemp(prefix="heddle-lsp-profiles-"))
atexit.register(shutil.rmtree, FOLDER, True)
PROGRAM = '''import "fhub/sqlite" db
import "std/io" io

resource app = db.connection {
  path: "data/production.db"
}

step users = <connection=app> db.query {
  query: "SELECT id, name FROM users"
}

workflow W {
  users
    | io.print
}
'''
(FOLDER / "heddle.toml").write_text('[profiles.local.resources.app]\npath = "data/local.db"\n', encoding="utf-8")
(FOLDER / "main.he").write_text(PROGRAM, encoding="utf-8")
(FOLDER / "data").mkdir()
with sqlite3.connect(FOLDER / "data" / "local.db") as _db:
    _db.execute("CREATE TABLE users (id INTEGER, name TEXT)")
URI = (FOLDER / "main.he").as_uri()

CONFIG = ClientServerConfig(server_command=[sys.executable, "-m", "heddle_lsp"],
                            server_env={**os.environ, "HEDDLE_DESCRIBE": "on"})


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("neovim"), initialization_options={"profile": "local"},
        workspace_folders=[lsp.WorkspaceFolder(uri=FOLDER.as_uri(), name="project")]))
    yield
    await lsp_client.shutdown_session()


def position(needle: str, delta: int = 0) -> lsp.Position:
    offset = PROGRAM.index(needle) + delta
    return lsp.Position(line=PROGRAM.count("\n", 0, offset), character=offset - (PROGRAM.rfind("\n", 0, offset) + 1))


async def hover_text(client: LanguageClient, needle: str, delta: int = 0) -> str:
    result = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=URI), position=position(needle, delta)))
    assert result is not None and isinstance(result.contents, lsp.MarkupContent)
    return result.contents.value


@pytest.mark.asyncio
async def test_hover_shows_the_profiles_value_and_the_described_types(client: LanguageClient) -> None:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=URI, language_id="heddle", version=1, text=PROGRAM)))
    text = await hover_text(client, "path:")
    assert '**Effective**: `"data/local.db"`, set by profile `local`' in text
    for _ in range(100):  # the database is asked in the background; the document is checked again after
        stage = await hover_text(client, "users\n    | io.print")
        if "| `name` | String |" in stage:
            break
        await asyncio.sleep(0.1)
    assert "| `id` | Int64 |" in stage and "| `name` | String |" in stage
