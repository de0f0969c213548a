"""The workspace host: open documents, their incrementally edited trees, and analysis snapshots.

Document-sync notifications mutate the host, in order, on the event loop. Each change is applied to
the document's tree-sitter tree as an edit and reparsed incrementally; its range is read with LSP's lines
(`\n`, `\r\n` or a lone `\r` ends one), the same lines every position the server sends is counted in.
Relational blocks compile in a child process (`CompilerProcess`): a block that crashes prqlc costs its
diagnostic (HE6009), never the server. It starts with the first block the caches do not answer, not with the
first document: at a start on an unchanged project the disk cache answers every block, and a process booting for
nothing would take CPU from the server's first diagnostics. Analysis runs off the event
loop (one worker thread) on an immutable tree; a request awaits the snapshot of the version it was
asked about, and a result for an older version is never published. A change cancels the analysis of
the version it replaces (at its next checkpoint; one replaced before its analysis started is never started): what
awaited it gets `AnalysisCancelled`. A change of the whole text is an edit of the bytes that differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from heddle.cli.inputs import Recorder, recording
from heddle.process import QuietCollector, release_free_memory
from heddle_engine.block_store import block_store
from heddle_engine.compiler_process import CompilerProcess
from heddle_engine.library_files import file_folder, file_key, read_text
from heddle_engine.run_folder import running_in
from heddle_lang.catalog import Catalog
from heddle_lang.paths import PathPolicy
from heddle_lang.records import record
from heddle_lang.relational.compile import PrqlCompiler
from heddle_lang.relational.stored import stored_in
from heddle_lang.semantic import Analysis, AnalysisCancelled, analyze
from heddle_lang.semantic.libraries import reached
from heddle_lang.semantic.workspace import Workspace
from heddle_lang.syntax import SyntaxTree, parse
from heddle_lang.text import Encoding, Position

log = logging.getLogger(__name__)

IDLE_COLLECT_SECONDS = 3.0  # no change for this long: the user paused, the cyclic collector may run
# No change for this long: the C heap's pages the analyses freed go back to the system
# (`heddle.process.release_free_memory`: milliseconds, where the collection above takes hundreds). The versions an
# editing session lets go (texts, line indexes, large containers) otherwise stay resident: ~3 MB at 10,000 lines.
IDLE_RELEASE_SECONDS = 1.0


@record
class Change:
    """One content change: a range in the client's encoding (None: the whole text) and its new text."""

    text: str
    start: Position | None = None
    end: Position | None = None


@dataclass
class Rest:
    """Work for the analysis thread once the documents rest: after `seconds` without a change."""

    seconds: float
    action: Callable[[], object]
    timer: asyncio.TimerHandle | None = None  # waiting for the documents to rest


@record
class Snapshot:
    uri: str
    version: int
    analysis: Analysis
    inputs: Recorder | None = None  # what the analysis read, when it was recorded (`Host.record_first`)

    @property
    def tree(self) -> SyntaxTree:
        return self.analysis.tree


@dataclass
class Document:
    uri: str
    path: Path | None
    version: int
    tree: SyntaxTree
    opened: int = 0  # the version it was opened with
    pending: asyncio.Future[Snapshot] | None = None  # the analysis of `version`, once asked for
    stale: threading.Event = field(default_factory=threading.Event)  # set: `pending` is no longer wanted
    publish: asyncio.Task[None] | None = None  # the diagnostics of `version`, published once analysed
    reached: frozenset[str] = frozenset()  # the library files its last analysis read, directly or not
    changed_at: float = 0.0  # time.monotonic() of the last change


@dataclass
class Host:
    catalog_for: Callable[[Path | None], Catalog]
    # Where a document's file paths may point (`heddle_lang.paths`); None: not checked (an unsaved buffer).
    paths_for: Callable[[Path | None, Catalog], PathPolicy | None] = lambda path, catalog: None
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "heddle-analysis"))
    documents: dict[str, Document] = field(default_factory=dict)
    encoding: Encoding = Encoding.UTF16
    collector: QuietCollector = field(default_factory=QuietCollector)
    # Relational blocks compile in a process of their own: a block that crashes prqlc costs one diagnostic.
    compiler: PrqlCompiler = field(default_factory=CompilerProcess)
    # `.he` files as the disk has them (None: unreadable), for the libraries that are not open; dropped when the
    # client says a file changed.
    disk: dict[str, str | None] = field(default_factory=dict)
    workspaces: dict[int, tuple[Catalog, Workspace]] = field(default_factory=dict)  # by id of the catalog
    _collection: Rest = field(init=False)  # a full collection waiting for the documents to rest
    _release: Rest = field(init=False)  # the C heap's free pages given back, once the documents rest
    # The analysis of each document's version as opened records what it reads (on its own thread), so its
    # diagnostics can be kept for the next start (`first_answer.py`).
    record_first: bool = False

    def __post_init__(self) -> None:
        self._collection = Rest(IDLE_COLLECT_SECONDS, self.collector.collect)
        self._release = Rest(IDLE_RELEASE_SECONDS, release_free_memory)

    # --- document sync ----------------------------------------------------------------------------

    def open(self, uri: str, text: str, version: int) -> Document:
        document = Document(uri, path_of(uri), version, parse(text), opened=version)
        self.documents[uri] = document
        return document

    def change(self, uri: str, version: int, changes: Sequence[Change]) -> Document | None:
        document = self.documents.get(uri)
        if document is None:
            return None
        tree = document.tree
        for change in changes:
            if change.start is None or change.end is None:
                tree = replaced(tree, change.text)
                continue
            start = tree.lines.offset(change.start, self.encoding)
            end = tree.lines.offset(change.end, self.encoding)
            tree = tree.edit(start, max(start, end), change.text)
        document.tree, document.version = tree, version
        document.stale.set()  # the running analysis of the previous version stops at its next checkpoint
        document.changed_at = time.monotonic()
        document.pending = None  # the next request analyses the new version
        return document

    def close(self, uri: str) -> None:
        document = self.documents.pop(uri, None)
        if document is not None and document.publish is not None:
            document.publish.cancel()

    # --- libraries --------------------------------------------------------------------------------

    def read(self, file: str) -> str | None:
        """A `.he` file's text: the open document's, else the disk's (read once until it changes)."""
        for document in list(self.documents.values()):
            if document.path is not None and file_key(document.path) == file:
                return document.tree.text
        if file not in self.disk:
            self.disk[file] = read_text(file)
        return self.disk[file]

    def file_changed(self, file: str) -> None:
        """The client says `file` changed on disk (or was created or deleted)."""
        self.disk.pop(file, None)

    def importers(self, file: str) -> list[str]:
        """The open documents whose last analysis read the library `file`."""
        return [uri for uri, document in self.documents.items() if file in document.reached]

    def workspace(self, catalog: Catalog) -> Workspace:
        entry = self.workspaces.get(id(catalog))
        if entry is None or entry[0] is not catalog:

            def paths(file: str) -> PathPolicy:
                policy = self.paths_for(Path(file), catalog)
                assert policy is not None  # a saved file has one
                return policy

            entry = self.workspaces[id(catalog)] = (catalog, Workspace(
                catalog, self.read, paths, compiler=self.compiler, folder=file_folder))
        return entry[1]

    # --- snapshots --------------------------------------------------------------------------------

    def snapshot(self, uri: str) -> asyncio.Future[Snapshot] | None:
        """The analysis of the document's current version: started once, shared by every request."""
        document = self.documents.get(uri)
        if document is None:
            return None
        if document.pending is None:
            loop = asyncio.get_running_loop()
            tree, version, catalog = document.tree, document.version, self.catalog_for(document.path)
            paths = self.paths_for(document.path, catalog)
            folder = document.path.parent if document.path is not None else Path.cwd()
            stale = document.stale = threading.Event()

            workspace = self.workspace(catalog) if paths is not None and document.path is not None else None

            store = block_store(document.path) if document.path is not None else None
            record = self.record_first and version == document.opened and document.path is not None

            def run() -> Snapshot:
                if stale.is_set():  # changed while it waited for the thread: nothing to start
                    raise AnalysisCancelled
                # Relative paths start from the file's folder; blocks typed by an earlier process are read from
                # the project's cache, and those typed now are added to it.
                reading = recording(this_thread=True) if record else contextlib.nullcontext()
                with reading as inputs, self.collector.during(), running_in(folder), stored_in(store):
                    if workspace is not None and document.path is not None:
                        analysis = workspace.analyze(file_key(document.path), tree, stale.is_set)
                    else:
                        analysis = analyze(tree, catalog, stale.is_set, paths=paths, compiler=self.compiler)
                if store is not None:
                    store.flush()
                document.reached = frozenset(library.file for library in reached(analysis))
                return Snapshot(uri, version, analysis, inputs)

            document.pending = loop.run_in_executor(self.executor, run)
            document.pending.add_done_callback(_retrieve)
            if self.collector.collection_due():  # reclaim the cycles analyses left, once the user pauses
                self._when_idle(loop, self._collection)
            self._when_idle(loop, self._release)  # after this analysis (queued behind it), once the user pauses
        return document.pending

    def _when_idle(self, loop: asyncio.AbstractEventLoop, rest: Rest) -> None:
        """Run `rest.action` on the analysis thread once no document has changed for `rest.seconds`: not between two
        keystrokes, where the next analysis would wait for it."""
        if rest.timer is not None:
            return  # one is waiting already
        quiet = time.monotonic() - max((d.changed_at for d in self.documents.values()), default=0.0)
        if quiet >= rest.seconds:
            self.executor.submit(rest.action)
            return

        def again() -> None:
            rest.timer = None
            self._when_idle(loop, rest)

        rest.timer = loop.call_later(rest.seconds - quiet, again)

    def current(self, uri: str, version: int) -> bool:
        document = self.documents.get(uri)
        return document is not None and document.version == version


def replaced(tree: SyntaxTree, text: str) -> SyntaxTree:
    """`tree` with its whole text replaced by `text` (a client that syncs whole documents, or an editor's reload): an
    edit of the bytes that differ, so the new version reuses what the old one analysed as an incremental edit does."""
    old, new = tree.data, text.encode("utf-8", errors="surrogatepass")  # as `parse` encodes
    start, end, new_end = differing(old, new)
    return tree.edit(start, end, new[start:new_end].decode("utf-8", errors="surrogatepass"))


def differing(old: bytes, new: bytes) -> tuple[int, int, int]:
    """The bytes `old[start:end]` that `new[start:new_end]` replaces: the rest is a common prefix and suffix, cut at
    character boundaries. Binary searches over slices (compared at C speed), not a loop over the bytes."""
    shortest = min(len(old), len(new))
    low, high = 0, shortest  # the longest common prefix is in low..high
    while low < high:
        middle = (low + high + 1) // 2
        if old[low:middle] == new[low:middle]:
            low = middle
        else:
            high = middle - 1
    start = low
    low, high = 0, shortest - start  # the longest common suffix not overlapping the prefix
    while low < high:
        middle = (low + high + 1) // 2
        if old[len(old) - middle:len(old) - low] == new[len(new) - middle:len(new) - low]:
            low = middle
        else:
            high = middle - 1
    end, new_end = len(old) - low, len(new) - low
    while 0 < start < len(old) and _continues(old, start):  # a character's bytes stay together
        start -= 1
    while end < len(old) and _continues(old, end):
        end, new_end = end + 1, new_end + 1
    return start, end, new_end


def _continues(data: bytes, at: int) -> bool:
    """The byte at `at` continues a UTF-8 sequence begun before it."""
    return (data[at] & 0xC0) == 0x80


def _retrieve(future: asyncio.Future[Snapshot]) -> None:
    """A cancelled analysis nobody awaited is not an error worth asyncio's "never retrieved" warning."""
    if not future.cancelled():
        future.exception()


def path_of(uri: str) -> Path | None:
    if not uri.startswith("file://"):
        return None
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(uri).path))
