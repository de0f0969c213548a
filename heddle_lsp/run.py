"""`heddle.runWorkflow`: a workflow runs in a child `heddle run`, never inside the server.

The child reads the editor's text on stdin as if it were the document's file (`--stdin-filename`: the file's
folder, project and lineage apply, saved or not), writes one JSON line per node event on stderr
(`--progress jsonl`) and its report on stdout (`--format json`). The server turns the events into work-done
progress as they arrive (cancelling it kills the child; a stream's is stopped gracefully, its batch in flight
committed) and the report into a message and the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from heddle_lsp.host import Snapshot, path_of
from heddle_lsp.protocol import command_work_done_token

if TYPE_CHECKING:
    from heddle_lsp.server import HeddleServer

HEDDLE = (sys.executable, "-m", "heddle.cli.main")
_ENDED = {"succeeded", "failed", "skipped"}  # a stage of the workflow counts once, when it ends
_LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")  # an editor's text may hold one; no file can
_LINE_LIMIT = 1 << 24  # a workflow may print long lines (wide tables): read them whole
_MESSAGE_LINES = 3  # of a run that could not start, the lines its message quotes
STOP_SECONDS = 30.0  # a stream stopped from the editor has this long to finish its batch in flight
_LOG_LINES = 5000  # of what the workflow prints, the last lines the log shows
_ROW_WORDS = (("input", "in"), ("output", "out"), ("failed", "failed"))


def command(snapshot: Snapshot, workflow: str) -> list[str]:
    """The child's command line: the document's text comes on stdin."""
    args = [*HEDDLE, "run", "-", "--workflow", workflow, "--format", "json", "--progress", "jsonl"]
    path = path_of(snapshot.uri)
    return [*args, "--stdin-filename", str(path)] if path is not None else [*args, "--no-lineage"]


@dataclass
class WorkflowRuns:
    """The runs in progress: one per (document, workflow) at a time."""

    running: set[tuple[str, str]] = field(default_factory=set)

    async def run(self, ls: HeddleServer, snapshot: Snapshot, workflow: str) -> dict[str, Any] | None:
        """Run `workflow` of the snapshot's text; the run's report (also when it failed), or None when it did
        not run (already running, cancelled, refused)."""
        key = (snapshot.uri, workflow)
        if key in self.running:
            _show(ls, lsp.MessageType.Info, f"Heddle: `{workflow}` is already running.")
            return None
        text = _editor_text(snapshot)
        surrogate = _LONE_SURROGATE.search(text)
        if surrogate is not None:  # the child reads UTF-8, which has no encoding for it: refused, not replaced
            at = surrogate.start()
            line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
            _show(ls, lsp.MessageType.Error, f"Heddle: `{workflow}` was not run: line {line}, column {column} holds "
                                             f"a lone surrogate (U+{ord(surrogate.group()):04X}), which UTF-8 "
                                             "cannot encode.")
            return None
        self.running.add(key)
        try:
            return await _run(ls, snapshot, workflow)
        finally:
            self.running.discard(key)


@dataclass
class _Stages:
    """What the progress says: how many of the workflow's stages ended, out of its plan's, and the latest event."""

    total: int
    ended: set[str] = field(default_factory=set)

    def message(self, event: dict[str, Any]) -> tuple[str, int]:
        state, label = str(event.get("state")), str(event.get("label"))
        if not event.get("handler"):
            if state in _ENDED:
                self.ended.add(str(event.get("node")))
        else:
            label = f"{label} of handler {event.get('graph')}"
        if state == "retrying":
            state = f"retrying (attempt {event.get('attempt')} failed)"
        percentage = 100 * len(self.ended) // self.total if self.total else 0
        return f"{len(self.ended)}/{self.total} stages: {label} {state}", percentage


class _Progress:
    """Work-done progress under the client's token, or one the server asked the client to create; none when
    the client has no progress (the run goes on and still answers)."""

    def __init__(self, ls: HeddleServer, token: lsp.ProgressToken | None) -> None:
        self.ls = ls
        self.token = token

    @classmethod
    async def start(cls, ls: HeddleServer, title: str, on_cancel: Callable[[], None]) -> _Progress:
        token = command_work_done_token()
        window = ls.client_capabilities.window
        if token is None and window is not None and window.work_done_progress:
            token = f"heddle-run-{uuid.uuid4()}"
            try:
                await ls.work_done_progress.create_async(token)
            except Exception:  # the client refused: run without progress
                token = None
        progress = cls(ls, token)
        if token is not None:
            ls.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0))
            cancelled: Future[Any] = ls.work_done_progress.tokens[token]
            cancelled.add_done_callback(lambda future: on_cancel() if future.cancelled() else None)
        return progress

    def report(self, message: str, percentage: int | None) -> None:
        if self.token is not None:
            self.ls.work_done_progress.report(self.token, lsp.WorkDoneProgressReport(
                message=message, percentage=percentage))

    def end(self, message: str) -> None:
        """The first end counts; the token is forgotten (pygls keeps every token otherwise)."""
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, lsp.WorkDoneProgressEnd(message=message))
            self.ls.work_done_progress.tokens.pop(self.token, None)
            self.token = None


@dataclass
class _Child:
    """The child process of a run, once started, and whether the user cancelled the run."""

    process: asyncio.subprocess.Process | None = None
    cancelled: bool = False
    stream: bool = False  # it reported a batch: a stream, whose cancel is a graceful stop

    def cancel(self) -> None:
        self.cancelled = True
        if self.process is None:
            return
        if self.stream:
            _stop(self.process)
        else:
            _kill(self.process)


async def _run(ls: HeddleServer, snapshot: Snapshot, workflow: str) -> dict[str, Any] | None:
    child = _Child()
    progress = await _Progress.start(ls, f"Running {workflow}", child.cancel)
    try:
        return await _watch(ls, snapshot, workflow, progress, child)
    finally:
        progress.end("stopped")  # unless it ended with the run's outcome: the request was cancelled, or failed


async def _watch(ls: HeddleServer, snapshot: Snapshot, workflow: str, progress: _Progress,
                 child: _Child) -> dict[str, Any] | None:
    path = path_of(snapshot.uri)
    graph = snapshot.analysis.plan.graph(workflow)
    stages = _Stages(len(graph.nodes) if graph is not None else 0)
    process = child.process = await asyncio.create_subprocess_exec(
        *command(snapshot, workflow), cwd=path.parent if path is not None else None,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"}, limit=_LINE_LIMIT, start_new_session=sys.platform != "win32",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    if child.cancelled:
        _kill(process)
    output: deque[str] = deque(maxlen=_LOG_LINES)  # what the workflow printed, and the child's own messages

    async def feed() -> None:
        assert process.stdin is not None
        with contextlib.suppress(ConnectionError):  # a child that stopped early says why on stderr
            process.stdin.write(snapshot.tree.text.encode("utf-8"))
            await process.stdin.drain()
            process.stdin.close()

    async def events() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            event = _event(line)
            if event is None:
                output.append(line)
            elif event["event"] == "batch":
                child.stream = True
                if event.get("state") == "committed":
                    progress.report(f"batch {event.get('batch')} committed ({event.get('rows')} rows)", None)
            elif event["event"] == "node" and event.get("state") != "pending":
                progress.report(*stages.message(event))

    async def report() -> bytes:
        assert process.stdout is not None
        return await process.stdout.read()

    try:
        _, _, stdout = await asyncio.gather(feed(), events(), report())
        await process.wait()
    finally:
        _kill(process)  # the child never outlives the request
    result = _report(stdout)
    name = path.name if path is not None else snapshot.uri
    if result is None and child.cancelled:
        progress.end("cancelled")
        _show(ls, lsp.MessageType.Info, f"Heddle: the run of `{workflow}` was cancelled.")
        _log(ls, output, f"heddle: the run of `{workflow}` in {name} was cancelled")
        return None
    if result is None:
        progress.end("not run")
        reasons = [line for line in output if line.strip()][:_MESSAGE_LINES] or [f"exit status {process.returncode}"]
        _show(ls, lsp.MessageType.Error, f"Heddle: `{workflow}` did not run: {' '.join(reasons)}")
        _log(ls, output, f"heddle: `{workflow}` in {name} did not run (exit status {process.returncode})")
        return None
    if child.cancelled and child.stream:
        progress.end("stopped")
        _show(ls, lsp.MessageType.Info, f"Heddle: the stream `{workflow}` stopped after its batch in flight: "
                                        f"{_summary(workflow, result)}")
        _log(ls, output, _text(name, result))
        return result
    progress.end(str(result.get("status")))
    succeeded = result.get("status") == "succeeded"
    _show(ls, lsp.MessageType.Info if succeeded else lsp.MessageType.Error, f"Heddle: {_summary(workflow, result)}")
    _log(ls, output, _text(name, result))
    return result


def _editor_text(snapshot: Snapshot) -> str:
    """The document's text as the editor sent it: `tree.text` shows a lone surrogate as U+FFFD, which a run
    must not take for what the user wrote."""
    try:
        return snapshot.tree.data.decode("utf-8", errors="surrogatepass")
    except UnicodeDecodeError:
        return snapshot.tree.text


def _event(line: str) -> dict[str, Any] | None:
    """A progress event of the child, or None for any other line (what the workflow printed)."""
    if not line.startswith('{"event": '):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and event.get("event") in ("run", "node", "batch") else None


def _report(stdout: bytes) -> dict[str, Any] | None:
    try:
        report = json.loads(stdout.decode("utf-8", errors="replace"))
    except ValueError:
        return None
    return report if isinstance(report, dict) and "status" in report else None


def _stop(process: asyncio.subprocess.Process) -> None:
    """A stream stops gracefully: SIGTERM to `heddle run` (its batch in flight finishes and is committed), a kill
    when it has not ended `STOP_SECONDS` later."""
    if process.returncode is not None:
        return
    if sys.platform == "win32":
        _kill(process)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    asyncio.get_running_loop().call_later(STOP_SECONDS, _kill, process)


def _kill(process: asyncio.subprocess.Process) -> None:
    """The child and what it started (its own session) end now; a run has nothing to save that a kill loses
    (lineage reads a killed run as crashed)."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if sys.platform != "win32":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()


def _summary(workflow: str, report: dict[str, Any]) -> str:
    stages = [s for s in report.get("stages", []) if s.get("graph") == workflow]
    seconds = report.get("seconds") or 0.0
    if report.get("status") == "succeeded":
        handled = sum(1 for s in report.get("stages", []) if s.get("state") == "handled")
        note = f", {handled} failure{'s' if handled != 1 else ''} handled" if handled else ""
        others = len(report.get("stages", [])) - len(stages)  # the handlers' stages, counted apart
        handlers = f", {others} handler stage{'s' if others != 1 else ''}" if others else ""
        return (f"`{workflow}` succeeded: {len(stages)} stage{'s' if len(stages) != 1 else ''}{handlers} in "
                f"{seconds:.2f} s{note} (run {report.get('run_id')}).")
    error = report.get("error") or {}
    where = f" at stage {error.get('step')} (line {error.get('line')})" if error.get("step") else ""
    message = f"{error.get('type')}: {error.get('message')}" if error else str(report.get("message"))
    return f"`{workflow}` failed{where}: {message} (run {report.get('run_id')})."


def _text(name: str, report: dict[str, Any]) -> str:
    """The run as the log shows it: the summary, then each stage with its state and rows."""
    lines = [f"heddle: {name}: {_summary(str(report.get('workflow')), report)}"]
    for stage in report.get("stages", []):
        rows = stage.get("rows") or {}
        counts = ", ".join(f"{rows[k]} {word}" for k, word in _ROW_WORDS if rows.get(k))
        handler = f" of handler {stage['graph']}" if stage.get("graph") != report.get("workflow") else ""
        lines.append(f"  {stage.get('state'):<9} {stage.get('label')}{handler} (line {stage.get('line')})"
                     + (f": rows {counts}" if counts else ""))
    for key, count in (report.get("kept_rows") or {}).items():
        lines.append(f"  kept: {key} ({count} rows)")
    lines.extend(f"  warning: {warning}" for warning in report.get("warnings", []))
    return "\n".join(lines)


def _show(ls: HeddleServer, kind: lsp.MessageType, message: str) -> None:
    ls.window_show_message(lsp.ShowMessageParams(type=kind, message=message))


def _log(ls: HeddleServer, output: deque[str], text: str) -> None:
    """What the workflow printed (its last lines), then the run's text."""
    printed = "\n".join(output).strip("\n")
    ls.window_log_message(lsp.LogMessageParams(
        type=lsp.MessageType.Info, message=f"{printed}\n{text}" if printed else text))
