"""A plugin edited on disk: the server reloads the project's catalog and checks open documents again."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import accept_registrations

PLUGIN = '''from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="tools")


@plugin.step(name="{name}", passthrough=True)
def step(config: dict, input: Table) -> Table:
    return input
'''
PROGRAM = 'import "my/tools" tools\n\nworkflow W {\n  [{ id: 1 }]\n    | tools.tidy\n}\n'


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "heddle_lsp"]))
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code")))
    yield
    await lsp_client.shutdown_session()


async def diagnostics_after(client: LanguageClient, uri: str) -> list[str]:
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return [str(d.code) for d in client.diagnostics[uri]]


@pytest.mark.asyncio
async def test_plugin_change_is_picked_up(client: LanguageClient, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "toolbox").mkdir(parents=True)
    (project / "heddle.toml").write_text('[modules]\n"my/tools" = "toolbox.tools:plugin"\n')
    (project / "toolbox" / "__init__.py").write_text("")
    plugin = project / "toolbox" / "tools.py"
    plugin.write_text(PLUGIN.format(name="clean"))
    uri = (project / "flow.he").as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=PROGRAM)))
    assert await diagnostics_after(client, uri) == ["HE3004"]  # `tidy` does not exist yet
    plugin.write_text(PLUGIN.format(name="tidy"))
    shutil.rmtree(project / "toolbox" / "__pycache__", ignore_errors=True)
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
        lsp.FileEvent(uri=plugin.as_uri(), type=lsp.FileChangeType.Changed)]))
    assert await asyncio.wait_for(diagnostics_after(client, uri), 20) == []


NOISY_PLUGIN = '''import json
import os
import sys

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

print("a plugin that talks on stdout at import time")  # inside the server, this would corrupt the protocol
with open(os.path.join(os.path.dirname(__file__), "imported_by.json"), "w") as out:
    json.dump({"argv0": sys.argv[0], "pid": os.getpid()}, out)

plugin = Plugin(namespace="tools")


@plugin.step(name="tidy", passthrough=True)
def step(config: dict, input: Table) -> Table:
    return input
'''


@pytest.mark.asyncio
async def test_plugins_are_imported_in_a_process_of_their_own(client: LanguageClient, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "toolbox").mkdir(parents=True)
    (project / "heddle.toml").write_text('[modules]\n"my/tools" = "toolbox.tools:plugin"\n')
    (project / "toolbox" / "__init__.py").write_text("")
    (project / "toolbox" / "tools.py").write_text(NOISY_PLUGIN)
    uri = (project / "flow.he").as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=PROGRAM)))
    assert await asyncio.wait_for(diagnostics_after(client, uri), 20) == []
    imported_by = json.loads((project / "toolbox" / "imported_by.json").read_text())
    assert imported_by["argv0"].endswith("plugin_worker.py")
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=4, character=13)))
    assert hover is not None and "tools.tidy" in str(hover.contents)
