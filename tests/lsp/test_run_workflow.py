"""`heddle.runWorkflow` end to end: the real server runs the editor's text in a child `heddle run`, with
work-done progress, a message, the log, and the run's report as the command's answer.

Every project is copied into a temporary folder first: runs record lineage next to their file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SERVER

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SLOW = Path(__file__).parent / "fixtures" / "slow"
GUARD = 120  # seconds: a run that never ends fails the test instead of hanging it
@pytest_lsp.fixture(config=SERVER)
async def plain_client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    """A client that announces no capabilities: no work-done progress."""
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


def quickstart(folder: Path) -> Path:
    for name in ("quickstart.he", "heddle.toml"):
        shutil.copy(EXAMPLES / name, folder / name)
    for name in ("plugins", "data"):
        shutil.copytree(EXAMPLES / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder / "quickstart.he"


def open_file(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="heddle", version=1, text=path.read_text(encoding="utf-8") if text is None else text)))
    return uri


async def run(client: LanguageClient, uri: str, workflow: str, token: str | None = None) -> object:
    return await asyncio.wait_for(client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="heddle.runWorkflow", arguments=[uri, workflow], work_done_token=token)), GUARD)


async def message(client: LanguageClient, count: int = 1) -> list[lsp.ShowMessageParams]:
    """The messages shown so far, once there are `count` (a notification may follow the command's answer)."""
    for _ in range(GUARD * 100):
        if len(client.messages) >= count:
            break
        await asyncio.sleep(0.01)
    return list(client.messages)


def reports(client: LanguageClient) -> list[object]:
    [values] = client.progress_reports.values()
    return list(values)


@pytest.mark.asyncio
async def test_the_quickstart_runs_with_progress(client: LanguageClient, tmp_path: Path) -> None:
    path = quickstart(tmp_path)
    text = path.read_text(encoding="utf-8").replace("filter amount > 10000", "filter amount > 100")  # unsaved
    uri = open_file(client, path, text)
    report = await run(client, uri, "Quickstart")
    assert isinstance(report, dict), report
    assert (report["workflow"], report["status"], report["error"]) == ("Quickstart", "succeeded", None)
    stages = {s["label"]: s for s in report["stages"] if s["graph"] == "Quickstart"}
    assert len(stages) == 7
    assert stages["io.print"]["rows"]["output"] == 2  # the editor's text ran: ada's order passed the filter too
    values = reports(client)
    begin, *middle, end = values
    assert isinstance(begin, lsp.WorkDoneProgressBegin) and begin.title == "Running Quickstart" and begin.cancellable
    assert middle and all(isinstance(v, lsp.WorkDoneProgressReport) for v in middle)
    assert any(v.message == "7/7 stages: io.print succeeded" and v.percentage == 100 for v in middle)
    assert any(v.message == "1/7 stages: [3 rows] succeeded" for v in middle)
    assert isinstance(end, lsp.WorkDoneProgressEnd) and end.message == "succeeded"
    [shown] = await message(client)
    assert shown.type == lsp.MessageType.Info
    assert shown.message.startswith("Heddle: `Quickstart` succeeded: 7 stages, 3 handler stages in ")
    log = "\n".join(m.message for m in client.log_messages)
    assert f"run {report['run_id']}" in log and "io.print (line 54): rows 2 in, 2 out" in log
    assert "│ 1   ┆ ada " in log  # what io.print printed
    assert (tmp_path / ".heddle" / "runs" / report["run_id"]).is_dir()  # the file's project keeps its lineage


@pytest.mark.asyncio
async def test_a_failing_run_shows_an_error_naming_the_stage(client: LanguageClient, tmp_path: Path) -> None:
    shutil.copy(ROOT / "tests" / "run_cases" / "unhandled_failure" / "main.he", tmp_path / "main.he")
    uri = open_file(client, tmp_path / "main.he")
    report = await run(client, uri, "Missing")
    assert isinstance(report, dict) and report["status"] == "failed"
    assert report["error"]["step"] == "io.read_csv"
    [shown] = await message(client)
    assert shown.type == lsp.MessageType.Error
    assert shown.message.startswith("Heddle: `Missing` failed at stage io.read_csv (line 5): ")
    assert "nowhere.csv" in shown.message
    assert isinstance(reports(client)[-1], lsp.WorkDoneProgressEnd)


@pytest.mark.asyncio
async def test_a_run_that_cannot_start_says_why(client: LanguageClient, tmp_path: Path) -> None:
    shutil.copy(ROOT / "tests" / "run_cases" / "missing_parameter" / "main.he", tmp_path / "main.he")
    uri = open_file(client, tmp_path / "main.he")
    assert await run(client, uri, "Recent") is None
    [shown] = await message(client)
    assert shown.type == lsp.MessageType.Error
    assert shown.message.startswith("Heddle: `Recent` did not run: ")
    assert "the workflow parameter `@since` (used by `recent`) has no value" in shown.message
    end = reports(client)[-1]
    assert isinstance(end, lsp.WorkDoneProgressEnd) and end.message == "not run"


@pytest.mark.asyncio
async def test_a_file_with_errors_is_not_run(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "broken.he"
    path.write_text("", encoding="utf-8")
    uri = open_file(client, path, 'import "std/io"\n\nworkflow W {\n  [{ id: 1 }]\n    | io.print\n}\n')
    assert await run(client, uri, "W") is None
    [shown] = await message(client)
    assert shown.type == lsp.MessageType.Warning and "fix the errors first" in shown.message
    assert not client.progress_reports
    assert not (tmp_path / ".heddle").exists()


@pytest.mark.asyncio
async def test_a_text_with_a_lone_surrogate_is_not_run(client: LanguageClient, tmp_path: Path) -> None:
    path = quickstart(tmp_path)
    text = "// a pasted half of a pair: \ud83d\n" + path.read_text(encoding="utf-8")  # no UTF-8 file can hold it
    uri = open_file(client, path, text)
    assert await run(client, uri, "Quickstart") is None
    [shown] = await message(client)
    assert shown.type == lsp.MessageType.Error
    assert shown.message == ("Heddle: `Quickstart` was not run: line 1, column 29 holds a lone surrogate (U+D83D), "
                             "which UTF-8 cannot encode.")
    assert not client.progress_reports


@pytest.mark.asyncio
async def test_cancelling_the_progress_kills_the_run(client: LanguageClient, tmp_path: Path) -> None:
    project = tmp_path / "slow"
    shutil.copytree(SLOW, project, ignore=shutil.ignore_patterns("__pycache__"))
    pid_file = tmp_path / "pid"
    path = project / "slow.he"
    uri = open_file(client, path, path.read_text(encoding="utf-8").replace("PID_FILE", str(pid_file)))
    client.progress_reports["run-1"] = []  # the client's own token, as editors send it with the request
    running = asyncio.ensure_future(run(client, uri, "Slow", token="run-1"))
    for _ in range(GUARD * 100):
        if (pid_file.is_file() and pid_file.read_text(encoding="utf-8")) or running.done():
            break
        await asyncio.sleep(0.01)
    assert not running.done(), running.result()
    pid = int(pid_file.read_text(encoding="utf-8"))
    assert await run(client, uri, "Slow") is None  # one run per workflow at a time
    [busy] = await message(client)
    assert busy.type == lsp.MessageType.Info and "`Slow` is already running" in busy.message
    client.window_work_done_progress_cancel(lsp.WorkDoneProgressCancelParams(token="run-1"))
    assert await running is None
    _, cancelled = await message(client, 2)
    assert "cancelled" in cancelled.message
    assert not alive(pid)
    values = client.progress_reports["run-1"]
    assert isinstance(values[0], lsp.WorkDoneProgressBegin)
    assert isinstance(values[-1], lsp.WorkDoneProgressEnd) and values[-1].message == "cancelled"


@pytest.mark.asyncio
async def test_a_client_without_progress_still_gets_the_report(plain_client: LanguageClient, tmp_path: Path) -> None:
    uri = open_file(plain_client, quickstart(tmp_path))
    report = await run(plain_client, uri, "Quickstart")
    assert isinstance(report, dict) and report["status"] == "succeeded"
    assert not plain_client.progress_reports
    [shown] = await message(plain_client)
    assert shown.type == lsp.MessageType.Info and "succeeded" in shown.message


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


STREAM_PLUGIN = '''
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from heddle.core.stream import Batch
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="ticks")
LOG = Path(__file__).parent / "commits.txt"


@plugin.step(name="forever", stream=True)
def forever(config: dict) -> Iterator[Table]:
    number = 0
    while True:
        number += 1
        time.sleep(0.05)
        yield Batch(Table.from_polars(pl.DataFrame({"n": [number]})),
                    commit=lambda n=number: LOG.open("a").write(f"{n}\\n"))
'''


@pytest.mark.asyncio
async def test_cancelling_a_stream_stops_it_after_its_batch_in_flight(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "heddle.toml").write_text('[modules]\n"local/ticks" = "ticks:plugin"\n', encoding="utf-8")
    (tmp_path / "ticks.py").write_text(STREAM_PLUGIN, encoding="utf-8")
    path = tmp_path / "live.he"
    uri = open_file(client, path, 'import "local/ticks" t\n\nworkflow Live {\n  t.forever\n}\n')
    client.progress_reports["run-2"] = []
    running = asyncio.ensure_future(run(client, uri, "Live", token="run-2"))
    commits = tmp_path / "commits.txt"
    for _ in range(GUARD * 100):
        if (commits.is_file() and len(commits.read_text().split()) >= 3) or running.done():
            break
        await asyncio.sleep(0.01)
    assert not running.done(), running.result()
    client.window_work_done_progress_cancel(lsp.WorkDoneProgressCancelParams(token="run-2"))
    report = await asyncio.wait_for(running, GUARD)
    assert isinstance(report, dict) and report["status"] == "succeeded"  # drained, not killed
    assert report["batches"] == len(commits.read_text().split())  # every batch it ran was committed
    shown = [m.message for m in await message(client)]
    assert any("stopped after its batch in flight" in m for m in shown), shown
    values = client.progress_reports["run-2"]
    assert isinstance(values[-1], lsp.WorkDoneProgressEnd) and values[-1].message == "stopped"
    assert any(isinstance(v, lsp.WorkDoneProgressReport) and "committed" in (v.message or "") for v in values)
