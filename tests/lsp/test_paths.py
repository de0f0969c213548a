"""The editor reports file paths that leave the project (HE4011), by the policy of the document's heddle.toml."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import current_diagnostics

PROGRAM = '''import "std/io" io

workflow W {
  io.read_csv { path: "../shared/in.csv" }
    | io.write_csv { path: "../../secrets/out.csv" }
}
'''


@pytest.mark.asyncio
async def test_a_path_outside_the_project_is_an_error_in_the_editor(client: LanguageClient, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "flows").mkdir(parents=True)
    (project / "heddle.toml").write_text('[paths]\nallow = ["../shared"]\n', encoding="utf-8")
    path = project / "flows" / "main.he"
    path.write_text(PROGRAM, encoding="utf-8")
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(
        uri=path.as_uri(), language_id="heddle", version=1, text=PROGRAM)))
    found = [d for d in await current_diagnostics(client, path.as_uri()) if d.code == "HE4011"]
    assert [(d.range.start.line, d.range.start.character) for d in found] == [(4, 27)]
    assert "\"../../secrets/out.csv\" resolves to" in found[0].message
