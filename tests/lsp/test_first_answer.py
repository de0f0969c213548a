"""A start's first answers given before the server imports itself (`heddle_lsp/first_answer.py`): the same as the
analysis gives, and never given once an input they follow from changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heddle.cli.inputs import module_stamp, stamp
from heddle_lsp import first_answer
from heddle_lsp.first_answer import Front
from tests.lsp.raw import RawClient

PLATFORM = """import "std/io" io

// Where failures are written.
step report = io.stderr

handler alert_on_fail {
  *
    | report
}
"""

APP = """import "std/io" io
import "acme/tools" tools
import "./shared/platform.he" platform

workflow Main ? platform.alert_on_fail {
  [
    { id: 1 },
  ]
    | tools.tag { label: "x" }
    | platform.reprot
    | io.print
}
"""

TOOLS = '''from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="tools")


class Tag(StepConfig[None]):
    label: str


@plugin.step(name="tag", passthrough=True)
def tag(config: Tag, input: Table) -> Table:
    """Tags rows."""
    return input
'''

PUSH: dict[str, Any] = {"textDocument": {"publishDiagnostics": {"relatedInformation": True, "versionSupport": True}}}
PULL: dict[str, Any] = {"textDocument": {"publishDiagnostics": {"relatedInformation": True},
                                         "diagnostic": {"dynamicRegistration": False}}}
ANSWERED = "answered before the server was imported:"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    (root / "shared").mkdir(parents=True)
    (root / "heddle.toml").write_text('[modules]\n"acme/tools" = "tools:plugin"\n')
    (root / "tools.py").write_text(TOOLS)
    (root / "shared" / "platform.he").write_text(PLATFORM)
    (root / "app.he").write_text(APP)
    yield root


def start(root: Path, capabilities: dict[str, Any], text: str = APP) -> tuple[RawClient, list[dict[str, Any]]]:
    """A server started in `root` (with a bytecode cache, as users have it), initialized, with app.he opened."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "HEDDLE_CACHE")}
    env.update(PYTHONPYCACHEPREFIX=str(root.parent / "pycache"), HEDDLE_DESCRIBE="off")
    client = RawClient("--log-level", "INFO", cwd=root, env=env)
    client.request(0, "initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": capabilities})
    answer = client.response(0)
    client.notify("initialized", {})
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": (root / "app.he").as_uri(), "languageId": "heddle", "version": 1, "text": text}})
    return client, [answer]


def stop(client: RawClient) -> str:
    """Shut down (what the server keeps is written by then); its log."""
    client.request(99, "shutdown")
    client.response(99)
    client.notify("exit")
    assert client.exit_status() == 0
    return client.stderr()


def published(client: RawClient, count: int) -> list[dict[str, Any]]:
    return [client.notification("textDocument/publishDiagnostics", timeout=60)["params"] for _ in range(count)]


def answered_documents(log: str) -> int:
    """How many documents the front answered, from the server's log."""
    lines = [line for line in log.splitlines() if ANSWERED in line]
    assert len(lines) == 1, log
    return int(lines[0].split(ANSWERED)[1].split()[0])


def test_a_restart_publishes_the_analysis_diagnostics_before_the_server_is_there(project: Path) -> None:
    first, [initialized] = start(project, PUSH)
    [analysed] = published(first, 1)
    assert {d["code"] for d in analysed["diagnostics"]} >= {"HE3004"}  # `platform.reprot`: no such name in the library
    assert answered_documents(stop(first)) == 0

    again, [initialized_again] = start(project, PUSH)
    given, analysed_again = published(again, 2)  # the front's, then the analysis's
    log = stop(again)
    assert answered_documents(log) == 1
    assert initialized_again == initialized
    assert given == analysed_again == analysed
    assert "differ" not in log


def test_a_client_that_pulls_gets_the_analysis_report(project: Path) -> None:
    uri = (project / "app.he").as_uri()
    reports = []
    for _ in range(2):
        client, _ = start(project, PULL)
        client.request(1, "textDocument/diagnostic", {"textDocument": {"uri": uri}})
        reports.append(client.response(1, timeout=60)["result"])
        client.request(2, "textDocument/diagnostic", {"textDocument": {"uri": uri}, "previousResultId": "1:0"})
        assert client.response(2, timeout=60)["result"] == {"kind": "unchanged", "resultId": "1:0"}
        log = stop(client)
        assert "differ" not in log
    assert answered_documents(log) == 1
    assert reports[0] == reports[1]
    assert reports[0]["resultId"] == "1:0" and any(d["code"] == "HE3004" for d in reports[0]["items"])


@pytest.mark.parametrize("change", ["text", "library", "project file", "plugin"])
def test_a_changed_input_is_not_answered_from_the_store(project: Path, change: str) -> None:
    client, _ = start(project, PUSH)
    published(client, 1)
    stop(client)
    text = APP
    if change == "text":
        text = APP.replace("platform.reprot", "platform.report")
    elif change == "library":
        (project / "shared" / "platform.he").write_text(PLATFORM.replace("step report", "step reprot"))
    elif change == "project file":
        (project / "heddle.toml").write_text('[modules]\n"acme/tools" = "tools:plugin"\n# a comment\n')
    else:
        (project / "tools.py").write_text(TOOLS.replace('"""Tags rows."""', '"""Tags rows, and more."""'))
    client, _ = start(project, PUSH, text)
    [analysed] = published(client, 1)
    assert answered_documents(stop(client)) == 0
    if change in ("text", "library"):  # the name is now known: the stored answer would have been wrong
        assert "HE3004" not in {d["code"] for d in analysed["diagnostics"]}
    client, _ = start(project, PUSH, text)  # the new inputs' answer was kept
    given, analysed_again = published(client, 2)
    assert answered_documents(stop(client)) == 1
    assert given == analysed_again == analysed


@pytest.mark.parametrize("capabilities", [PUSH, PULL], ids=["push", "pull"])
def test_requests_the_front_cannot_answer_are_the_servers(project: Path, capabilities: dict[str, Any]) -> None:
    """An editor asks for symbols as it opens a document (before pulling its diagnostics): the front answers what it
    holds answers for, the server the rest, after reading every message the front read."""
    uri = (project / "app.he").as_uri()
    for _ in range(2):
        client, _ = start(project, capabilities)
        client.request(5, "textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        if capabilities is PULL:
            client.request(6, "textDocument/diagnostic", {"textDocument": {"uri": uri}})
            assert any(d["code"] == "HE3004" for d in client.response(6, timeout=60)["result"]["items"])
        else:
            assert any(d["code"] == "HE3004" for d in published(client, 1)[0]["diagnostics"])
        assert "Main" in [s["name"] for s in client.response(5, timeout=60)["result"]]
        log = stop(client)
    assert answered_documents(log) == 1


def test_the_front_is_light() -> None:
    code = ("import sys, heddle_lsp.first_answer; "
            "print(sorted(m for m in sys.modules if m.startswith(('polars', 'pygls', 'lsprotocol', 'heddle_lang'))))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


# --- the front alone, in this process -------------------------------------------------------------------------

PARAMS: dict[str, Any] = {"processId": 1, "rootUri": None, "capabilities": PUSH}


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def front_answers(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a front writes when the client sends `messages` (then nothing: the stream ends)."""
    incoming, client = os.pipe()
    answers, written = os.pipe()
    os.write(client, b"".join(frame(m) for m in messages))
    os.close(client)
    Front(incoming, written).run()
    os.close(incoming)
    os.close(written)
    with os.fdopen(answers, "rb") as stream:
        data = stream.read()
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.split(b":")[1])
        out.append(json.loads(rest[:length]))
        data = rest[length:]
    return out


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A project whose document's first answer and the server's `initialize` answer are kept (with a module and a
    library standing for the server's code and the document's inputs)."""
    monkeypatch.setattr(first_answer, "initialize_store", lambda: tmp_path / "initialize")
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    (tmp_path / "heddle.toml").write_text("")
    module, library, document = tmp_path / "code.py", tmp_path / "lib.he", tmp_path / "app.he"
    module.write_text("x = 1\n")
    library.write_text(PLATFORM)
    modules = [(str(module), module_stamp(str(module)))]
    first_answer.keep_initialize(PARAMS, {"capabilities": {}}, modules)
    first_answer.keep_diagnostics(PARAMS, document.as_uri(), APP, [{"message": "kept"}],
                                  files=[(str(library), stamp(str(library)))], modules=modules)
    return {"module": module, "library": library, "document": document}


def opening(document: Path, text: str = APP) -> list[dict[str, Any]]:
    return [{"id": 0, "method": "initialize", "params": PARAMS}, {"method": "initialized", "params": {}},
            {"method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": document.as_uri(), "languageId": "heddle", "version": 3, "text": text}}}]


def test_the_front_answers_what_was_kept(kept: dict[str, Path]) -> None:
    initialized, diagnostics = front_answers(opening(kept["document"]))
    assert initialized == {"jsonrpc": "2.0", "id": 0, "result": {"capabilities": {}}}
    assert diagnostics["params"] == {"uri": kept["document"].as_uri(), "version": 3,
                                     "diagnostics": [{"message": "kept"}]}


def test_the_front_answers_nothing_once_an_input_changed(kept: dict[str, Path]) -> None:
    assert len(front_answers(opening(kept["document"], APP + "\n"))) == 1  # another text: initialize only
    kept["library"].write_text(PLATFORM + "\n")
    assert len(front_answers(opening(kept["document"]))) == 1
    kept["module"].write_text("x = 22\n")  # the server's code: not even initialize
    assert front_answers(opening(kept["document"])) == []


def test_the_front_stops_at_a_change_and_at_an_unreadable_record(kept: dict[str, Path]) -> None:
    changed = {"method": "textDocument/didChange", "params": {}}
    assert len(front_answers([*opening(kept["document"])[:2], changed, opening(kept["document"])[2]])) == 1
    for record in (kept["document"].parent / ".heddle" / "cache" / "lsp").glob("*.json"):
        record.write_text('{"format": 1, "files": 3')
    assert len(front_answers(opening(kept["document"]))) == 1
