"""What a command read while it ran: the files, folders and Python modules its answer follows from.

Recorded through Python's audit hooks (`sys.addaudithook`), so that nothing in the checker has to report
what it reads: a file opened (a `.he` file, a library, `heddle.toml`, an embedded database's script, a
package's metadata), a folder listed (the files of a folder, the modules a folder holds), an SQLite
database opened; and at the end every module imported (the tool itself, Polars, prqlc, the project's
plugins and what they import). `stamps()` then says what each of those is, `changed()` whether any is
different now: a stored answer (`check_cache.py`) is given again only while none changed.

An answer that depends on what no file shows cannot be kept: a server asked what a query returns or what a
module declares (the engine's own audit event, `heddle_engine/asked.py`: a native client's connection raises
none), a network connection, or a process started (other than the PRQL compiler's worker, which reads nothing
the key does not hold) makes `refusal` say why.

A module's stamp is its file's size and modification time (as Python's own bytecode cache checks it); every
other file's is a digest of its bytes (its size and time past `DIGEST_LIMIT`), a folder's is its modification
time (which every entry added, removed or renamed changes), a path with nothing at it is `None`, so a file
that appears is seen too.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

DIGEST_LIMIT = 16 * 2**20  # bytes: a larger file is stamped by its size and modification time
# What a command writes and reads back, and what is no file: never inputs.
SKIPPED_PARTS = (f"{os.sep}.heddle{os.sep}cache{os.sep}",)
SKIPPED_PREFIXES = (f"{os.sep}proc{os.sep}", f"{os.sep}sys{os.sep}", f"{os.sep}dev{os.sep}")
# Python's own files: modules are stamped from `sys.modules` at the end, bytecode follows its source.
SKIPPED_SUFFIXES = (".py", ".pyc", ".so", ".pyd")
REFUSING_EVENTS = {
    "socket.connect": "it connected to a server",
    "socket.getaddrinfo": "it looked up a host",
    "socket.gethostbyname": "it looked up a host",
    "socket.sendto": "it sent to a server",
    "os.system": "it ran a command",
    "os.exec": "it ran a command",
    "os.posix_spawn": "it ran a command",
    "os.spawn": "it ran a command",
    "os.fork": "it started a process",
    "os.forkpty": "it started a process",
    "heddle.server.asked": "it asked a server (a database, a worker)",  # heddle_engine.asked.SERVER_ASKED
    "heddle.answer.overran": "an answer it waited for came too late",  # heddle_engine.asked.OVERRAN
}
ALLOWED_CHILD = "heddle_engine.compiler_worker"  # the contained PRQL compiler

Stamp = str | None
_STDLIB = os.path.dirname(os.__file__) + os.sep  # covered by the interpreter's version, which keys the answer
_SITE_PARTS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


def stamp(path: str) -> Stamp:
    """What is at `path` now (see the module's docstring)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    if stat.S_ISDIR(status.st_mode):
        return f"d{status.st_mtime_ns}"
    if status.st_size > DIGEST_LIMIT or not stat.S_ISREG(status.st_mode):
        return f"s{status.st_size}:{status.st_mtime_ns}"
    try:
        with open(path, "rb") as file:
            return "h" + hashlib.blake2b(file.read(), digest_size=16).hexdigest()
    except OSError:
        return None


def module_stamp(path: str) -> Stamp:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return f"m{status.st_size}:{status.st_mtime_ns}"


def _quick(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _kept(path: str) -> bool:
    return not (path.endswith(SKIPPED_SUFFIXES) or ".pyc." in path  # bytecode Python writes, then renames
                or path.startswith(SKIPPED_PREFIXES) or any(part in path + os.sep for part in SKIPPED_PARTS)
                or _standard(path))


def _standard(path: str) -> bool:
    """A file or folder of the standard library (not of the packages installed beside it)."""
    return path.startswith(_STDLIB) and not any(part in path for part in _SITE_PARTS)


class Recorder:
    """The inputs of one command, recorded between `start()` and `stop()`."""

    def __init__(self, thread: int | None = None) -> None:
        self.refusal: str | None = None  # why the answer cannot be kept, if it cannot
        self.thread = thread  # only what this thread (`threading.get_ident()`) does, when given
        self._seen: dict[str, tuple[int, int] | None] = {}  # path -> (size, time) when first read
        self._lock = threading.Lock()

    def note(self, raw: object) -> None:
        """A file or folder read: its path as the opening call was given it (relative to the current folder)."""
        if raw is None:
            raw = "."  # os.listdir() / os.scandir(): the current folder
        if not isinstance(raw, str | bytes | os.PathLike):
            return  # a file descriptor: its file was opened by name before
        try:
            path = os.path.abspath(os.fsdecode(raw))
        except (TypeError, ValueError):
            return
        if _kept(path) and path not in self._seen:
            quick = _quick(path)
            with self._lock:
                self._seen.setdefault(path, quick)

    def refuse(self, reason: str) -> None:
        if self.refusal is None:
            self.refusal = reason

    def on_event(self, event: str, args: tuple[object, ...]) -> None:
        if event in {"open", "os.listdir", "os.scandir"}:
            self.note(args[0] if args else None)
        elif event == "sqlite3.connect":
            database = args[0] if args else None
            if isinstance(database, str) and database.startswith("file:"):
                self.refuse("it opened an SQLite database by URI")
            elif database not in (":memory:", "", b":memory:"):
                self.note(database)
        elif event == "subprocess.Popen":
            arguments = args[1] if len(args) > 1 else None
            if not (isinstance(arguments, Sequence) and ALLOWED_CHILD in [str(a) for a in arguments]):
                self.refuse("it ran a command")
        elif event in REFUSING_EVENTS:
            self.refuse(REFUSING_EVENTS[event])

    def stamps(self) -> tuple[list[tuple[str, Stamp]], list[tuple[str, Stamp]]]:
        """(the files and folders read, the modules imported), each with its stamp now. A file that changed
        while the command ran makes `refusal` say so: the answer may be of either version."""
        with self._lock:
            seen = dict(self._seen)
        files = []
        for path, first in sorted(seen.items()):
            if _quick(path) != first:
                self.refuse(f"{path} changed while it was read")
            files.append((path, stamp(path)))
        modules = [(path, module_stamp(path)) for path in sorted(set(module_files()))]
        return files, modules


def module_files() -> Iterator[str]:
    """The files of the modules imported, the standard library's aside."""
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and not _standard(path):
            yield path


def changed(files: Iterable[tuple[str, Stamp]], modules: Iterable[tuple[str, Stamp]]) -> bool:
    """Whether any input is not what its stamp says."""
    return (any(module_stamp(path) != was for path, was in modules)
            or any(stamp(path) != was for path, was in files))


class _Hook:
    """The process's one audit hook (a hook cannot be removed): it hands events to the recording on, if any."""

    def __init__(self) -> None:
        self.current: Recorder | None = None
        self.installed = False
        self.lock = threading.Lock()

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        recorder = self.current
        if recorder is not None and (recorder.thread is None or recorder.thread == threading.get_ident()):
            recorder.on_event(event, args)


_HOOK = _Hook()


@contextmanager
def recording(*, this_thread: bool = False) -> Iterator[Recorder]:
    """Records what the block reads (`this_thread`: only what the calling thread does, as the language server
    records one analysis while its event loop goes on). One recording at a time in a process: a nested one refuses
    (its reads would be mixed with the outer one's)."""
    recorder = Recorder(threading.get_ident() if this_thread else None)
    with _HOOK.lock:
        if not _HOOK.installed:
            sys.addaudithook(_HOOK)
            _HOOK.installed = True
        outer = _HOOK.current
        if outer is not None:
            recorder.refuse("another command was being recorded")
        else:
            _HOOK.current = recorder
    try:
        yield recorder
    finally:
        if outer is None:
            _HOOK.current = None
