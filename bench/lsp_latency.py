"""Latency of the real language server over stdio, against a fresh check of the same text (same run).

    python bench/lsp_latency.py [--edits 30] [--requests 40] [--cold 5] [--cli-runs 5] [--sizes 1000,10000,50000]
    python bench/lsp_latency.py --cold-only [--cold 5]    # the cold starts alone
    python bench/lsp_latency.py --bursts-only [--bursts 20] [--sizes 10000]    # edits and held keys alone,
                                                          # against the edits each awaited
    python bench/lsp_latency.py --edits-only [--sizes ...] [--edits 30]    # didChange → diagnostics alone (vs 1,000)
    python bench/lsp_latency.py --memory-only [--sizes 10000,50000]    # the servers' edits, requests and memory

It spawns `python -m heddle_lsp` (this interpreter), speaks JSON-RPC with Content-Length framing over
its stdin/stdout, and prints n, p50 and p95 for:
- didChange → publishDiagnostics on generated 1,000- and 10,000-line documents: one-character edits at
  the end of the middle line (a space inserted, then deleted, ...), each awaited: the clock runs from
  writing the didChange to reading the publishDiagnostics of that version. The server analyses every change at
  once (the next change cancels it); a burst of edits 20 ms apart (a held key) is measured separately, from its
  last edit to that version's diagnostics, after a whole-text change (an editor's reload) of the document.
- the same texts through a fresh full check: in-process `analyze(parse(text), load_catalog(examples))`
  (the baseline of the ratio), in-process with one catalog kept (the server's work without the
  protocol), and `heddle check FILE` as a subprocess;
- textDocument/completion and textDocument/hover at a few positions of each document, after the
  edits (a snapshot of the current version exists); a method the server answers with MethodNotFound
  is printed as "not served yet";
- cold start: spawn → initialize → didOpen of examples/seeds/fraud_detection.he → its first
  publishDiagnostics, against `heddle check` of the same file; with a bytecode cache the start answers `initialize`
  and the unchanged document from what the last start kept (heddle_lsp/first_answer.py), and once more with the
  document's text changed at each start (its diagnostics from the analysis);
- the disk cache (`.heddle/cache/`): `heddle check` of each unchanged generated file, and a new server's first
  diagnostics of it (with a bytecode cache, as users have it), without the cache (`HEDDLE_CACHE=off`) and with
  the cache the previous process left (warm:
  `heddle check` answers from its stored answer, heddle/cli/check_cache.py; "blocks only": that answer removed
  before each run, as after an edit, the relational blocks read from the disk); in a scratch project, so
  nothing is written into examples/. The servers of the edit
  figures run with `HEDDLE_CACHE=off`; those of the cold start keep theirs where a user's would
  (examples/.heddle/cache/);
- resident memory (VmRSS, and the peak VmHWM, from /proc/<pid>/status) after opening each document, after the edits
  and requests, and once more after a pause of REST_SECONDS (what the server holds while the user reads);
- a library edit: a 1,000-line file importing a `.he` library, both open; a one-character edit of the library
  → the importer's publishDiagnostics (the importer is checked again against the edited library).
Documents get URIs under examples/ that do not exist on disk: the server takes the text from didOpen
and finds heddle.toml from the URI's folder. The generated files' databases do not exist: every check (in this
process, `heddle check`, the servers) runs with `HEDDLE_DESCRIBE=off` (it would wait for each to time out). Targets
are printed next to the figures; nothing asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
if str(ROOT) not in sys.path:  # run as `python bench/lsp_latency.py`
    sys.path.insert(0, str(ROOT))

from bench.generate import generate  # noqa: E402
from heddle.process import tune_gc  # noqa: E402
from heddle_engine.catalog import load_catalog  # noqa: E402
from heddle_lang.semantic import analyze  # noqa: E402
from heddle_lang.syntax import parse  # noqa: E402

Message = dict[str, Any]

SIZES = (1_000, 10_000, 50_000)
BURST_EDITS = 5  # changes per burst, BURST_GAP_SECONDS apart: a held key repeats about this fast
BURST_GAP_SECONDS = 0.02
# The goals: the cost of an edit does not depend on the file's size.
TARGET_DIAGNOSTICS_P95_MS = 30.0
TARGET_BURST_P95_MS = {10_000: 60.0}
TARGET_LIBRARY_EDIT_P95_MS = 50.0
TARGET_REQUEST_P95_MS = 15.0
TARGET_COMPLETION_P95_MS = {10_000: 10.0}
TARGET_COLD_START_MS = 800.0
TARGET_WARM_CHECK_MS = {10_000: 300.0}  # `heddle check` of an unchanged file, its blocks in the disk cache
QUIET = {"HEDDLE_DESCRIBE": "off"}  # no database of the generated files exists
NO_DISK_CACHE = {**QUIET, "HEDDLE_CACHE": "off"}
TARGET_RSS_MB = {10_000: 120.0, 50_000: 200.0}
REST_SECONDS = 2.0  # the pause before the last memory reading
METHOD_NOT_FOUND = -32601
TIMEOUT_SECONDS = 180.0  # a loaded machine (load 20 on 2 cores) takes over a minute to open 50,000 lines
OPEN_TIMEOUT_SECONDS = 600.0  # `--edits-only`: a large document's first analysis on a loaded machine
SMALL_EXAMPLE = EXAMPLES / "seeds" / "fraud_detection.he"
CLIENT_CAPABILITIES: Message = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": False},
        "publishDiagnostics": {"versionSupport": True, "relatedInformation": True},
        # As VS Code: an item's documentation is asked for (`completionItem/resolve`) when the item is shown; what
        # the items share comes once for the list (its language client 9's item defaults).
        "completion": {"completionItem": {"snippetSupport": True, "documentationFormat": ["markdown"],
                                          "resolveSupport": {"properties": ["documentation", "detail"]}},
                       "completionList": {"itemDefaults": ["commitCharacters", "editRange", "insertTextFormat",
                                                           "insertTextMode", "data"]}},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
    },
    "window": {"workDoneProgress": False},
}


# --- a minimal LSP client over stdio ---------------------------------------------------------------


class ServerDiedError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Received:
    at: float  # time.perf_counter() when the whole message had been read
    message: Message


class LspProcess:
    """`python -m heddle_lsp` as a child process, with a reader thread that time-stamps every message.

    Responses complete the future of their request; notifications go to a queue; requests from the
    server (registerCapability, configuration, ...) are answered at once with null results.
    """

    def __init__(self, cwd: Path, command: Sequence[str] = (sys.executable, "-m", "heddle_lsp"),
                 env: Mapping[str, str] | None = None) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.spawned_at = time.perf_counter()
        self.proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, cwd=cwd, env=env,
        )
        self.notifications: queue.Queue[Received | None] = queue.Queue()
        self.shown_errors: list[str] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[Received]] = {}
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_loop, name="lsp-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    # writing

    def _send(self, message: Message) -> None:
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        stdin = self.proc.stdin
        assert stdin is not None
        with self._write_lock:
            stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            stdin.flush()

    def notify(self, method: str, params: Message | None = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_async(self, method: str, params: Message | None = None) -> Future[Received]:
        request_id = next(self._ids)
        future: Future[Received] = Future()
        self._pending[request_id] = future
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return future

    def request(self, method: str, params: Message | None = None) -> tuple[float, Received]:
        """The response to a request, and the seconds from writing the request to reading the response."""
        start = time.perf_counter()
        received = self.request_async(method, params).result(TIMEOUT_SECONDS)
        return received.at - start, received

    # reading

    def _read_loop(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while True:
                length = None
                while True:
                    header = stdout.readline()
                    if not header:
                        return
                    if header in (b"\r\n", b"\n"):
                        break
                    name, _, value = header.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length is None:
                    continue
                body = stdout.read(length)
                at = time.perf_counter()
                self._dispatch(Received(at, json.loads(body)))
        finally:
            self.notifications.put(None)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ServerDiedError(self.stderr_tail()))

    def _dispatch(self, received: Received) -> None:
        message = received.message
        if "method" not in message:
            future = self._pending.pop(message.get("id", -1), None)
            if future is not None:
                future.set_result(received)
            return
        if "id" in message:  # a request from the server
            result: Any = None
            if message["method"] == "workspace/configuration":
                result = [None] * len(message.get("params", {}).get("items", []))
            self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            return
        if message["method"] == "window/showMessage" and message["params"].get("type") == 1:
            self.shown_errors.append(message["params"]["message"])
        self.notifications.put(received)

    def wait_for(self, predicate: Callable[[Message], bool], timeout: float = TIMEOUT_SECONDS) -> Received:
        """The first notification (from now on in the queue) that satisfies `predicate`."""
        deadline = time.perf_counter() + timeout
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no matching notification in {timeout:.0f} s")
            try:
                received = self.notifications.get(timeout=remaining)
            except queue.Empty:
                continue
            if received is None:
                raise ServerDiedError(self.stderr_tail())
            if predicate(received.message):
                return received

    def diagnostics_of(self, uri: str, version: int | None = None, timeout: float = TIMEOUT_SECONDS) -> Received:
        def matches(message: Message) -> bool:
            if message["method"] != "textDocument/publishDiagnostics" or message["params"]["uri"] != uri:
                return False
            return version is None or message["params"].get("version") == version

        return self.wait_for(matches, timeout)

    # lifecycle

    def initialize(self, root: Path) -> Message:
        _, received = self.request("initialize", {
            "processId": os.getpid(),
            "clientInfo": {"name": "heddle-bench"},
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": CLIENT_CAPABILITIES,
        })
        self.notify("initialized", {})
        result: Message = received.message["result"]
        return result

    def memory_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the server process, in MB (1 MB = 2**20 bytes)."""
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return fields["VmRSS"], fields["VmHWM"]

    def cpu_ms(self) -> tuple[float, float]:
        """CPU milliseconds (user + system) the server used so far, and those its running children used (the
        plugin process, the compiler's): on a machine other work loads, steadier than wall time."""
        def used(pid: int) -> float:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return 0.0
            return (int(fields[11]) + int(fields[12])) * 1e3 / os.sysconf("SC_CLK_TCK")

        children = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            with contextlib.suppress(OSError):
                children += [int(c) for c in (task / "children").read_text().split()]
        return used(self.pid), sum(used(c) for c in children)

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-2000:]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.request_async("shutdown").result(5)
            self.notify("exit")
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        self.stderr.close()


@contextlib.contextmanager
def server(cwd: Path = EXAMPLES, env: Mapping[str, str] | None = None) -> Iterator[LspProcess]:
    process = LspProcess(cwd, env=env)
    try:
        yield process
    finally:
        process.close()


# --- documents and positions -------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class Spot:
    """A position in a document to ask about, and what is there."""

    label: str
    line: int
    character: int  # UTF-16

    def params(self, uri: str) -> Message:
        return {"textDocument": {"uri": uri}, "position": {"line": self.line, "character": self.character}}


def find_spot(lines: Sequence[str], label: str, needle: str, after: str = "", start_at: int = 0) -> Spot:
    """The first line at or after the middle holding `needle`; the cursor goes after `after` in it
    (or at the start of `needle` when `after` is empty)."""
    middle = len(lines) // 2
    for number in itertools.chain(range(middle, len(lines)), range(middle)):
        line = lines[number]
        column = line.find(needle)
        if column < 0 or not line.isascii():
            continue
        if after:
            column = line.index(after, column) + len(after)
        return Spot(label, number, column + start_at)
    raise ValueError(f"no line with {needle!r}")


def completion_spots(lines: Sequence[str]) -> list[Spot]:
    return [
        find_spot(lines, "injection, after `<`", "    | <broker=", after="<"),
        find_spot(lines, "stage, after `| `", "    | io.print", after="| "),
        find_spot(lines, "member, after `io.`", "    | io.print", after="io."),
        find_spot(lines, "config key", '  host: "', start_at=2),
    ]


def hover_spots(lines: Sequence[str]) -> list[Spot]:
    return [
        find_spot(lines, "step declaration name", "step fetch_", after="step ", start_at=2),
        find_spot(lines, "module function", "= <connection=", after="> pg.", start_at=1),
        find_spot(lines, "resource in injection", "<connection=pg_db_", after="<connection=", start_at=1),
        find_spot(lines, "handler use", "    | fraud.process ? on_fail_", after="? ", start_at=1),
    ]


@dataclass(frozen=True, slots=True)
class EditPlan:
    """Alternately insert a space at the end of the middle line and delete it again."""

    line: int
    character: int
    texts: tuple[str, str]  # the document with the space, and without it

    @classmethod
    def middle_of(cls, text: str) -> EditPlan:
        end = text.index("\n", len(text) // 2)
        line = text.count("\n", 0, end)
        character = utf16_length(text[text.rfind("\n", 0, end) + 1:end])
        return cls(line, character, (text[:end] + " " + text[end:], text))

    def change(self, index: int) -> Message:
        """The content change of edit number `index` (0-based), applied to the text before it."""
        start = {"line": self.line, "character": self.character}
        if index % 2 == 0:
            return {"range": {"start": start, "end": start}, "text": " "}
        end = {"line": self.line, "character": self.character + 1}
        return {"range": {"start": start, "end": end}, "text": ""}

    def text_after(self, index: int) -> str:
        return self.texts[index % 2]


# --- statistics and printing -------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    samples_ms: list[float] = field(default_factory=list)
    target_ms: float | None = None
    note: str = ""  # printed instead of figures when there are no samples

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        if len(self.samples_ms) == 1:
            return self.samples_ms[0]
        return statistics.quantiles(self.samples_ms, n=100, method="inclusive")[94]


def print_rows(title: str, rows: Sequence[Row], baseline: Row | None = None) -> None:
    ratio_head = f"p50 / {baseline.label}" if baseline is not None else ""
    print(f"\n{title}")
    print(f"  {'':44}{'n':>4}{'p50':>11}{'p95':>11}   {'target':24}{ratio_head}")
    for row in rows:
        if not row.samples_ms:
            print(f"  {row.label:44}{'':4}{row.note}")
            continue
        target = ""
        if row.target_ms is not None:
            met = "met" if row.p95 <= row.target_ms else "NOT met"
            target = f"p95 ≤ {row.target_ms:g} ms: {met}"
        ratio = ""
        if baseline is not None and baseline.samples_ms:
            ratio = f"{row.p50 / baseline.p50:.2f}"
        print(f"  {row.label:44}{len(row.samples_ms):4}{row.p50:8.1f} ms{row.p95:8.1f} ms   {target:24}{ratio}")


# --- measurements -------------------------------------------------------------------------------------


def diagnostics_latency(lsp: LspProcess, uri: str, plan: EditPlan, *, edits: int, first_version: int,
                        between: Callable[[int], None]) -> list[float]:
    """Each edit awaited until its diagnostics arrive; `between(index)` runs after each, off the clock
    (the server is idle then), so that a slow spell of the machine falls on both alike."""
    samples = []
    for index in range(edits):
        version = first_version + index
        start = time.perf_counter()
        lsp.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [plan.change(index)],
        })
        received = lsp.diagnostics_of(uri, version)
        samples.append((received.at - start) * 1e3)
        between(index)
    return samples


def burst_latency(lsp: LspProcess, uri: str, plan: EditPlan, *, bursts: int,
                  first_version: int) -> tuple[list[float], list[int]]:
    """Bursts of BURST_EDITS changes BURST_GAP_SECONDS apart (a held key): from the last change of each
    burst to the diagnostics of its version; also the versions inside bursts that were published."""
    samples: list[float] = []
    skipped_published: list[int] = []
    version = first_version
    for burst in range(bursts):
        for index in range(BURST_EDITS):
            if index:
                time.sleep(BURST_GAP_SECONDS)
            start = time.perf_counter()
            lsp.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [plan.change(burst * BURST_EDITS + index)],
            })
            version += 1
        last = version - 1

        def settles(message: Message, last: int = last) -> bool:
            if message["method"] != "textDocument/publishDiagnostics" or message["params"]["uri"] != uri:
                return False
            published = message["params"].get("version")
            if published != last:
                skipped_published.append(published)
            return published == last

        received = lsp.wait_for(settles)
        samples.append((received.at - start) * 1e3)
    return samples, skipped_published


def request_rows(lsp: LspProcess, method: str, *, capability: str, capabilities: Message, uri: str,
                 spots: Sequence[Spot], requests: int) -> list[Row]:
    """One row per spot, `requests` requests spread over the spots in turn; or "not served yet"."""
    rows = {spot.label: Row(f"{method.split('/')[1]}: {spot.label}", target_ms=TARGET_REQUEST_P95_MS)
            for spot in spots}
    advertised = capabilities.get(capability) not in (None, False)
    for index in range(requests):
        spot = spots[index % len(spots)]
        seconds, received = lsp.request(method, spot.params(uri))
        error = received.message.get("error")
        if error is not None:
            if error.get("code") == METHOD_NOT_FOUND:
                state = "advertised" if advertised else "not advertised"
                note = f"not served yet (MethodNotFound; {capability} {state})"
            else:
                note = f"error {error.get('code')}: {error.get('message')}"
            for row in rows.values():
                row.note = note
            return list(rows.values())
        rows[spot.label].samples_ms.append(seconds * 1e3)
    return list(rows.values())


def completion_after_edits(lsp: LspProcess, uri: str, plan: EditPlan, spot: Spot, *, edits: int, first_version: int,
                           first_index: int) -> Row:
    """Completion at `spot` right after each of `edits` edits (once its diagnostics are published): the first request
    on each version, where `request_rows` asks many on one."""
    row = Row(f"completion: {spot.label}, right after an edit")
    for index in range(edits):
        version = first_version + index
        lsp.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                              "contentChanges": [plan.change(first_index + index)]})
        lsp.diagnostics_of(uri, version)
        seconds, _ = lsp.request("textDocument/completion", spot.params(uri))
        row.samples_ms.append(seconds * 1e3)
    return row


def open_document(lsp: LspProcess, uri: str, text: str, timeout: float = TIMEOUT_SECONDS) -> float:
    """didOpen, and the milliseconds until its first diagnostics."""
    start = time.perf_counter()
    lsp.notify("textDocument/didOpen", {
        "textDocument": {"uri": uri, "languageId": "heddle", "version": 1, "text": text}})
    received = lsp.diagnostics_of(uri, timeout=timeout)
    return (received.at - start) * 1e3


@dataclass
class SizeResult:
    lines: int
    open_ms: float
    diagnostics_count: int
    rss_idle: tuple[float, float]
    rss_open: tuple[float, float]
    rss_after: tuple[float, float]
    rss_rested: tuple[float, float]
    server_row: Row
    burst_row: Row
    published_in_bursts: list[int]
    completion: list[Row]
    hover: list[Row]
    capabilities: Message
    shown_errors: list[str]


def bench_server(lines: int, text: str, plan: EditPlan, *, edits: int, requests: int, bursts: int,
                 in_process: InProcess | None) -> SizeResult:
    uri = (EXAMPLES / f"_lsp_latency_{lines}.he").as_uri()  # never written: the server reads didOpen
    text_lines = text.splitlines()
    with server(env={**os.environ, **NO_DISK_CACHE}) as lsp:
        capabilities = lsp.initialize(EXAMPLES).get("capabilities", {})
        rss_idle = lsp.memory_mb()
        open_ms = open_document(lsp, uri, text)
        rss_open = lsp.memory_mb()
        samples = diagnostics_latency(lsp, uri, plan, edits=edits, first_version=2,
                                      between=in_process.measure if in_process is not None else lambda index: None)
        # The count of the text the edits left (which is the generated text when `edits` is even).
        lsp.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": edits + 2}, "contentChanges": [{"text": text}]})
        count = len(lsp.diagnostics_of(uri, edits + 2).message["params"]["diagnostics"])
        burst_samples, published_in_bursts = burst_latency(lsp, uri, plan, bursts=bursts, first_version=edits + 3)
        completion = request_rows(lsp, "textDocument/completion", capability="completionProvider",
                                  capabilities=capabilities, uri=uri, spots=completion_spots(text_lines),
                                  requests=requests) if requests else []
        hover = request_rows(lsp, "textDocument/hover", capability="hoverProvider", capabilities=capabilities,
                             uri=uri, spots=hover_spots(text_lines), requests=requests) if requests else []
        rss_after = lsp.memory_mb()
        time.sleep(REST_SECONDS)
        rss_rested = lsp.memory_mb()
        if requests:  # as a user meets it: the first request on each new version (after the memory readings)
            completion.append(completion_after_edits(
                lsp, uri, plan, completion_spots(text_lines)[1], edits=requests // 4,
                first_version=edits + 3 + bursts * BURST_EDITS, first_index=bursts * BURST_EDITS))
        shown = list(lsp.shown_errors)
    row = Row("server: didChange → publishDiagnostics", samples, TARGET_DIAGNOSTICS_P95_MS)
    burst_row = Row(f"server: burst of {BURST_EDITS} changes {BURST_GAP_SECONDS * 1e3:g} ms apart, last → "
                    "diagnostics", burst_samples, TARGET_BURST_P95_MS.get(lines))
    for each in completion:
        each.target_ms = TARGET_COMPLETION_P95_MS.get(lines, each.target_ms)
    return SizeResult(lines, open_ms, count, rss_idle, rss_open, rss_after, rss_rested, row, burst_row,
                      published_in_bursts,
                      completion, hover, capabilities, shown)


class InProcess:
    """The same edited texts through `analyze(parse(text), catalog)`: a fresh catalog (the baseline),
    and one catalog kept as the server keeps it."""

    def __init__(self, plan: EditPlan) -> None:
        self.plan = plan
        self.kept = load_catalog(EXAMPLES)
        analyze(parse(plan.text_after(0)), self.kept)  # warm-up: relational blocks, inference hooks cached
        self.fresh = Row("in-process, fresh catalog (baseline)")
        self.warm = Row("in-process, catalog kept (server's work)")

    def measure(self, index: int) -> None:
        text = self.plan.text_after(index)
        start = time.perf_counter()
        analyze(parse(text), load_catalog(EXAMPLES))
        self.fresh.samples_ms.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        analyze(parse(text), self.kept)
        self.warm.samples_ms.append((time.perf_counter() - start) * 1e3)


@contextlib.contextmanager
def scratch_project() -> Iterator[Path]:
    """A temporary project: every entry of examples/ linked into it, so `heddle check FILE` resolves."""
    with tempfile.TemporaryDirectory(prefix="heddle-lsp-bench-") as name:
        folder = Path(name)
        for entry in EXAMPLES.iterdir():
            if entry.name != "__pycache__":
                (folder / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        yield folder


def heddle_command() -> list[str]:
    script = Path(sys.executable).parent / "heddle"
    return [str(script)] if script.exists() else [sys.executable, "-m", "heddle.cli.main"]


def time_cli(path: Path, runs: int, env: Mapping[str, str] | None = None, cpu: list[float] | None = None,
             prepare: Callable[[], None] | None = None) -> list[float]:
    """Wall milliseconds of each `heddle check`; `cpu` gets the CPU milliseconds each used (its children's
    included), which a loaded machine inflates less; `prepare()` runs before each, off the clock."""
    samples = []
    for _ in range(runs):
        if prepare is not None:
            prepare()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([*heddle_command(), "check", str(path)], cwd=path.parent, check=False, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append((time.perf_counter() - start) * 1e3)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1e3)
    return samples


def bench_cli(folder: Path, lines: int, plan: EditPlan, runs: int) -> Row:
    path = folder / f"bench_{lines}.he"
    path.write_text(plan.text_after(0), encoding="utf-8")
    return Row("`heddle check FILE` subprocess", time_cli(path, runs, {**os.environ, **NO_DISK_CACHE}))


@dataclass
class DiskCacheResult:
    rows: list[Row]  # `heddle check` without and with the disk cache, then the server's first diagnostics
    baseline: Row
    memory: dict[str, list[tuple[float, float]]]  # the server's (VmRSS, VmHWM) after its first diagnostics


def bench_disk_cache(lines: int, text: str, runs: int) -> DiskCacheResult:
    """`heddle check` of an unchanged file and a new server's first diagnostics of it: with the disk cache off,
    and with the cache the previous process left, in a scratch project of their own; with a bytecode cache as
    users have it (outside the repository: PYTHONPYCACHEPREFIX)."""
    with scratch_project() as folder, tempfile.TemporaryDirectory(prefix="heddle-lsp-bench-pycache-") as prefix:
        path = folder / f"cached_{lines}.he"
        path.write_text(text, encoding="utf-8")
        python = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        python["PYTHONPYCACHEPREFIX"] = prefix
        off, on = {**python, **NO_DISK_CACHE}, {**python, **QUIET}
        time_cli(path, 1, off)  # compiles the bytecode, off the clock
        cold_cpu: list[float] = []
        warm_cpu: list[float] = []
        cold = Row("`heddle check FILE`, HEDDLE_CACHE=off (baseline)", time_cli(path, runs, off, cold_cpu))
        time_cli(path, 1, on)  # fills the cache
        warm = Row("`heddle check FILE`, disk cache warm", time_cli(path, runs, on, warm_cpu),
                   TARGET_WARM_CHECK_MS.get(lines))
        blocks_cpu: list[float] = []
        blocks = Row("`heddle check FILE`, blocks only (no stored answer)",
                     time_cli(path, runs, on, blocks_cpu, prepare=lambda: shutil.rmtree(
                         folder / ".heddle" / "cache" / "check", ignore_errors=True)))
        cpu = [Row("  CPU time of the check, HEDDLE_CACHE=off", cold_cpu),
               Row("  CPU time of the check, disk cache warm", warm_cpu),
               Row("  CPU time of the check, blocks only", blocks_cpu)]
        first = {"off": Row("server: didOpen → first diagnostics, HEDDLE_CACHE=off"),
                 "on": Row("server: didOpen → first diagnostics, disk cache warm")}
        memory: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for _ in range(runs):
            for mode, env in (("off", off), ("on", on)):
                with server(cwd=folder, env=env) as lsp:
                    lsp.initialize(folder)
                    first[mode].samples_ms.append(open_document(lsp, path.as_uri(), text))
                    memory[mode].append(lsp.memory_mb())
    return DiskCacheResult([cold, warm, blocks, *cpu, first["off"], first["on"]], cold, memory)


def bench_cold_start(runs: int, env: Mapping[str, str] | None = None, *,
                     edited: bool = False) -> tuple[Row, Row, Row, Row]:
    """Spawn → first publishDiagnostics of the small example, spawn → initialize answered, and the CPU time the
    server and its children had used at the first diagnostics. `edited`: the document's text differs at each start
    (a comment added), so no stored first answer holds for it (heddle_lsp/first_answer.py): the analysis answers."""
    text = SMALL_EXAMPLE.read_text(encoding="utf-8")
    uri = SMALL_EXAMPLE.as_uri()
    total = Row("server: spawn → first publishDiagnostics", target_ms=None if edited else TARGET_COLD_START_MS)
    initialized = Row("  of which spawn → initialize answered")
    own = Row("  CPU of the server until then")
    children = Row("  CPU of its child processes until then")
    for _ in range(runs):
        with server(env=env) as lsp:
            lsp.initialize(EXAMPLES)
            initialized.samples_ms.append((time.perf_counter() - lsp.spawned_at) * 1e3)
            opened = f"{text}\n// edited {time.time_ns()}\n" if edited else text
            lsp.notify("textDocument/didOpen", {
                "textDocument": {"uri": uri, "languageId": "heddle", "version": 1, "text": opened}})
            received = lsp.diagnostics_of(uri)
            total.samples_ms.append((received.at - lsp.spawned_at) * 1e3)
            cpu = lsp.cpu_ms()
            own.samples_ms.append(cpu[0])
            children.samples_ms.append(cpu[1])
    return total, initialized, own, children


def bench_cold_starts(runs: int, folder: Path) -> list[tuple[str, list[Row], Row]]:
    """Cold starts and `heddle check` of the small example: as this environment runs Python, and with a
    bytecode cache outside the repository (PYTHONPYCACHEPREFIX, filled by one start off the clock)."""
    small = folder / SMALL_EXAMPLE.name
    small.write_text(SMALL_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    label = f"`heddle check {SMALL_EXAMPLE.name}` subprocess"
    as_is = "as this environment runs Python"
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not (ROOT / "heddle_lang" / "__pycache__").exists():
        as_is += " (PYTHONDONTWRITEBYTECODE is set: the project's modules are compiled at every start)"
    out = [(as_is, [*bench_cold_start(runs)], Row(label, time_cli(small, runs)))]
    with tempfile.TemporaryDirectory(prefix="heddle-lsp-bench-pycache-") as prefix:
        env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = prefix
        bench_cold_start(1, env)
        time_cli(small, 1, env)
        out.append(("with a bytecode cache (PYTHONPYCACHEPREFIX)", [*bench_cold_start(runs, env)],
                    Row(label, time_cli(small, runs, env))))
        out.append(("with a bytecode cache, the document edited since the last start (no stored first answer)",
                    [*bench_cold_start(runs, env, edited=True)], Row(label, time_cli(small, runs, env))))
    return out


LIBRARY = """import "std/io" io

// What the platform's workflows share.
step report = io.stderr

handler alert_on_fail {
  *
    | report
}
"""

USES_LIBRARY = """workflow UsesPlatform ? platform.alert_on_fail {
  [
    { id: 1 },
  ]
    | platform.report
}
"""


def bench_library_edit(folder: Path, edits: int) -> Row:
    """A library and a 1,000-line file importing it, both open: a one-character edit of the library → the
    importer's diagnostics."""
    library = folder / "platform.he"
    library.write_text(LIBRARY, encoding="utf-8")
    importer = folder / "importer.he"
    # The library imported after the generated imports, a workflow using it before the generated declarations.
    text = generate(1_000).replace("\n\n", f'\nimport "./platform.he" platform\n\n{USES_LIBRARY}\n', 1)
    importer.write_text(text, encoding="utf-8")
    plan = EditPlan.middle_of(LIBRARY)
    row = Row("server: library edit → importer's diagnostics", target_ms=TARGET_LIBRARY_EDIT_P95_MS)
    with server(cwd=folder) as lsp:
        lsp.initialize(folder)
        uri = importer.as_uri()
        open_document(lsp, uri, text)
        library_uri = library.as_uri()
        open_document(lsp, library_uri, LIBRARY)
        for index in range(edits):
            start = time.perf_counter()
            lsp.notify("textDocument/didChange", {"textDocument": {"uri": library_uri, "version": index + 2},
                                                  "contentChanges": [plan.change(index)]})
            received = lsp.wait_for(lambda m: m["method"] == "textDocument/publishDiagnostics"
                                    and m["params"]["uri"] == uri)
            row.samples_ms.append((received.at - start) * 1e3)
    return row


def format_memory(label: str, memory: tuple[float, float], target: float | None = None) -> str:
    rss, peak = memory
    line = f"  {label:44}VmRSS {rss:7.1f} MB   VmHWM {peak:7.1f} MB"
    if target is not None:
        line += f"   RSS ≤ {target:g} MB: {'met' if rss <= target else 'NOT met'}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=30, help="didChange edits per document (default 30)")
    parser.add_argument("--requests", type=int, default=40, help="completion and hover requests each (default 40)")
    parser.add_argument("--cold", type=int, default=5, help="cold starts (default 5)")
    parser.add_argument("--cli-runs", type=int, default=5, help="`heddle check` runs per document (default 5)")
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES),
                        help="document sizes in lines, comma-separated (default 1000,10000,50000)")
    parser.add_argument("--cold-only", action="store_true", help="only the cold starts (and their `heddle check`)")
    parser.add_argument("--bursts", type=int, default=None,
                        help=f"bursts of {BURST_EDITS} changes per document (default: edits / {BURST_EDITS})")
    parser.add_argument("--memory-only", action="store_true",
                        help="only the servers of the edit figures (their edits, bursts and requests, without the "
                             "fresh checks between edits) and their memory")
    parser.add_argument("--bursts-only", action="store_true",
                        help="only the server's edits and bursts of changes (no fresh checks, requests, cold starts)")
    parser.add_argument("--edits-only", action="store_true",
                        help="only didChange → publishDiagnostics at each size, against 1,000 lines")
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))
    tune_gc()  # as the server and the `heddle` command run
    os.environ.update(QUIET)  # the in-process checks too: they would wait for each database to time out

    print(f"heddle-lsp over stdio: {sys.executable} -m heddle_lsp (Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs)")

    if args.cold_only:
        with scratch_project() as folder:
            print_cold_starts(bench_cold_starts(args.cold, folder))
        return

    if args.edits_only:
        print_edits(sizes, args.edits)
        return

    texts = {lines: generate(lines) for lines in sizes}
    plans = {lines: EditPlan.middle_of(text) for lines, text in texts.items()}
    bursts = args.bursts if args.bursts is not None else max(1, args.edits // BURST_EDITS)

    if args.bursts_only:
        for lines in sizes:
            result = bench_server(lines, texts[lines], plans[lines], edits=args.edits, requests=0, bursts=bursts,
                                  in_process=None)
            print(f"\n== {lines:,} lines: edits each awaited, then bursts of changes (a held key)")
            print_bursts(result, baseline=result.server_row)
        return

    if args.memory_only:  # the edits follow each other without the fresh checks between them
        for lines in sizes:
            result = bench_server(lines, texts[lines], plans[lines], edits=args.edits, requests=args.requests,
                                  bursts=bursts, in_process=None)
            print(f"\n== {lines:,} lines")
            print_memory(result)
        return

    with scratch_project() as folder:
        cold = bench_cold_starts(args.cold, folder)
        cli = {lines: bench_cli(folder, lines, plans[lines], args.cli_runs) for lines in sizes}
    cached = {lines: bench_disk_cache(lines, texts[lines], args.cli_runs) for lines in sizes}
    in_process = {lines: InProcess(plans[lines]) for lines in sizes}
    results = {lines: bench_server(lines, texts[lines], plans[lines], edits=args.edits, requests=args.requests,
                                   bursts=bursts, in_process=in_process[lines])
               for lines in sizes}

    capabilities = results[sizes[0]].capabilities
    served = [name for name in ("completionProvider", "hoverProvider") if capabilities.get(name)]
    print(f"capabilities advertised: {', '.join(sorted(capabilities))}")
    print(f"  completion/hover advertised: {', '.join(served) or 'neither'}")

    for lines in sizes:
        result, plan = results[lines], plans[lines]
        text = texts[lines]
        print(f"\n== {lines:,} lines ({len(text.encode()):,} bytes); edit: a space inserted at, then deleted from, "
              f"line {plan.line + 1} column {plan.character + 1}; {result.diagnostics_count} diagnostics "
              f"published; first diagnostics after didOpen {result.open_ms:.0f} ms")
        fresh, kept = in_process[lines].fresh, in_process[lines].warm
        print_rows("didChange → publishDiagnostics, and the same edited texts through a fresh check",
                   [result.server_row, fresh, kept, cli[lines]], baseline=fresh)
        print_rows("an unchanged file checked again by a new process: the disk cache of relational blocks",
                   cached[lines].rows, baseline=cached[lines].baseline)
        for mode, label in (("off", "HEDDLE_CACHE=off"), ("on", "disk cache warm")):
            if cached[lines].memory[mode]:
                median = (statistics.median(m[0] for m in cached[lines].memory[mode]),
                          statistics.median(m[1] for m in cached[lines].memory[mode]))
                print(format_memory(f"after the first diagnostics, {label}", median,
                                    TARGET_RSS_MB.get(lines)))
        print_bursts(result, baseline=fresh)
        print_rows("requests on the current snapshot (after the edits)", [*result.completion, *result.hover])
        print_memory(result)

    with scratch_project() as folder:
        library = bench_library_edit(folder, args.edits)
    print("\n== a library edit: a space inserted into (then deleted from) a `.he` library two open files import")
    print_rows("library didChange → the importer's publishDiagnostics", [library])

    print_cold_starts(cold)


def print_memory(result: SizeResult) -> None:
    target = TARGET_RSS_MB.get(result.lines)
    print("\n  memory of the server process")
    print(format_memory("after initialize", result.rss_idle))
    print(format_memory(f"after opening the {result.lines:,}-line document", result.rss_open, target))
    print(format_memory("after the edits and requests", result.rss_after, target))
    print(format_memory(f"after a pause of {REST_SECONDS:g} s", result.rss_rested, target))
    for message in result.shown_errors:
        print(f"  server showed an error: {message}")


def print_bursts(result: SizeResult, baseline: Row) -> None:
    if baseline is result.server_row:
        print_rows("edits each awaited (the baseline), and bursts of changes", [result.server_row, result.burst_row],
                   baseline=baseline)
    else:
        print_rows("a held key: bursts of changes", [result.burst_row], baseline=baseline)
    print(f"  versions inside bursts that were analysed and published anyway: {len(result.published_in_bursts)} "
          f"of {len(result.burst_row.samples_ms) * (BURST_EDITS - 1)}")


def edits_row(lines: int, edits: int) -> Row:
    """didChange → publishDiagnostics alone on the generated document of `lines` lines (no bursts, requests, memory
    or in-process checks: a fresh check of 50,000 lines after each edit would take most of an hour on a loaded
    machine)."""
    text = generate(lines)
    plan = EditPlan.middle_of(text)
    uri = (EXAMPLES / f"_lsp_latency_{lines}.he").as_uri()
    with server(env={**os.environ, **NO_DISK_CACHE}) as lsp:
        lsp.initialize(EXAMPLES)
        open_document(lsp, uri, text, OPEN_TIMEOUT_SECONDS)
        samples = diagnostics_latency(lsp, uri, plan, edits=edits, first_version=2, between=lambda index: None)
    return Row(f"{lines:,} lines: didChange → publishDiagnostics", samples, TARGET_DIAGNOSTICS_P95_MS)


def print_edits(sizes: Sequence[int], edits: int) -> None:
    """`--edits-only`: each size against the 1,000-line document (the goal: an edit costs the same at any size)."""
    baseline = edits_row(1_000, edits)
    rows = [edits_row(lines, edits) for lines in sizes if lines != 1_000]
    print_rows("didChange → publishDiagnostics, one-character edits of the middle line", [baseline, *rows],
               baseline=baseline)


def print_cold_starts(cold: list[tuple[str, list[Row], Row]]) -> None:
    print(f"\n== cold start: spawn, initialize, didOpen of {SMALL_EXAMPLE.relative_to(ROOT)}, "
          "its first publishDiagnostics")
    for title, rows, baseline in cold:
        print_rows(title, [*rows, baseline], baseline=baseline)


if __name__ == "__main__":
    try:
        main()
    except (ServerDiedError, TimeoutError) as error:
        print(f"\nthe server failed: {error}", file=sys.stderr)
        sys.exit(1)
