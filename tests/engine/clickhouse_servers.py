"""ClickHouse for tests: chdb's folder for this process, and a real server started in a temporary folder.

chdb (ClickHouse's engine in the process) serves one folder per process, so every embedded test shares
`embedded_folder()` and keeps to a database of its own. The server is Debian's `clickhouse-server` (18.16,
the only one Debian, PyPI or npm offer): `clickhouse-connect` cannot talk to a server that old, so tests of
the server path speak the native protocol to it (`protocol: "native"`, through `clickhouse-driver`). The
server logs every query in `system.query_log` (`received` reads it back).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.tied import tied

_FOLDER: Path | None = None


def embedded_folder() -> Path:
    """The one chdb folder of this test process (made on first use, removed when the process ends)."""
    global _FOLDER  # noqa: PLW0603 - chdb's own rule: one folder per process
    if _FOLDER is None:
        _FOLDER = Path(tempfile.mkdtemp(prefix="heddle-chdb-"))
        import atexit

        atexit.register(shutil.rmtree, _FOLDER, True)
    return _FOLDER


@dataclass(frozen=True)
class Server:
    http_port: int
    native_port: int
    folder: Path
    version: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{folder}/server.log</log><errorlog>{folder}/server.err.log</errorlog></logger>
  <http_port>{http}</http_port>
  <tcp_port>{native}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{folder}/data/</path>
  <tmp_path>{folder}/tmp/</tmp_path>
  <user_files_path>{folder}/user_files/</user_files_path>
  <format_schema_path>{folder}/format_schemas/</format_schema_path>
  <users_config>{folder}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>500</flush_interval_milliseconds></query_log>
</yandex>
"""

_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage><log_queries>1</log_queries></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <heddle><password>{password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></heddle>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""

SERVER_PASSWORD = "s3cret-ch-pass"


def server_available() -> bool:
    return shutil.which("clickhouse-server") is not None


@contextlib.contextmanager
def clickhouse_server() -> Iterator[Server]:
    """Debian's clickhouse-server on free ports of 127.0.0.1, in a temporary folder; stopped on exit."""
    folder = Path(tempfile.mkdtemp(prefix="heddle-ch-"))
    http, native = free_port(), free_port()
    (folder / "config.xml").write_text(_CONFIG.format(folder=folder, http=http, native=native), encoding="utf-8")
    (folder / "users.xml").write_text(_USERS.format(password=SERVER_PASSWORD), encoding="utf-8")
    log = (folder / "stdout.log").open("wb")
    process = subprocess.Popen(tied(["clickhouse-server", f"--config-file={folder}/config.xml"]), cwd=folder,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        version = _wait_ready(http, process, folder)
        yield Server(http, native, folder, version)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(port: int, process: subprocess.Popen[bytes], folder: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"clickhouse-server exited: {(folder / 'stdout.log').read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/?query=SELECT%20version()", timeout=1) as answer:
                return answer.read().decode().strip()
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("clickhouse-server did not answer within 30 s")


def received(server: Server, containing: str) -> list[str]:
    """The queries the server received whose text contains `containing`, oldest first (its query log)."""
    from clickhouse_driver import Client

    client = Client(host="127.0.0.1", port=server.native_port)
    try:
        client.execute("SYSTEM FLUSH LOGS")
        rows = client.execute("SELECT query FROM system.query_log WHERE type = 1 AND position(query, %(text)s) > 0 "
                              "AND position(query, 'system.query_log') = 0 ORDER BY event_time", {"text": containing})
    finally:
        client.disconnect()
    return [str(row[0]) for row in rows]
