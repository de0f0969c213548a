"""A real PostgreSQL server for tests and benchmarks: Debian's PostgreSQL 15, started as the `postgres` user in a
temporary folder on a free port of 127.0.0.1, stopped on exit."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def postgres_available() -> bool:
    return (BIN / "initdb").exists() and os.geteuid() == 0 and shutil.which("su") is not None


def _as_postgres(command: str) -> None:
    subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True, capture_output=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[int]:
    """The port of a fresh server (user `postgres`, trust authentication, database `postgres`)."""
    folder = Path(tempfile.mkdtemp(prefix="heddle-pg-"))
    shutil.chown(folder, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"
    _as_postgres(f"{BIN}/initdb -D {data} -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8")
    _as_postgres(f"{BIN}/pg_ctl -D {data} -l {folder}/pg.log -w -o "
                 f"'-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off' start")
    _RUNNING[port] = folder
    try:
        yield port
    finally:
        _RUNNING.pop(port, None)
        with contextlib.suppress(subprocess.CalledProcessError):
            _as_postgres(f"{BIN}/pg_ctl -D {data} -m fast stop")
        shutil.rmtree(folder, ignore_errors=True)


def stop(port: int) -> None:
    """Stop the server on `port` at once (a fault test: the database goes away)."""
    _as_postgres(f"{BIN}/pg_ctl -D {_RUNNING[port]}/data -m immediate stop")


def start_again(port: int) -> None:
    """Start the stopped server on `port` again, with its data."""
    folder = _RUNNING[port]
    _as_postgres(f"{BIN}/pg_ctl -D {folder}/data -l {folder}/pg.log -w -o "
                 f"'-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off' start")


_RUNNING: dict[int, Path] = {}  # port -> folder of the servers started here


def log(port: int) -> str:
    """What the server on `port` has logged (every statement, after `log_statements(port)`)."""
    return (_RUNNING[port] / "pg.log").read_text(encoding="utf-8", errors="replace")


def log_statements(port: int) -> None:
    """Have the server on `port` log every statement it runs from now on."""
    import time

    import psycopg

    def connect() -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True)

    with connect() as db:
        db.execute("ALTER SYSTEM SET log_statement = 'all'")
        db.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the server reloads its configuration on its own time
        with connect() as db:
            row = db.execute("SHOW log_statement").fetchone()
        if row is not None and row[0] == "all":
            return
        time.sleep(0.05)
