"""Same-host exchange (`heddle.flight.shared`): tables as Arrow IPC files in the engine's private folder,
offered once with the `share` probe; what a worker accepts; the fallback to plain Flight."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from heddle.core.table import RowErrors, Table
from heddle.flight.protocol import StepRequest
from heddle.flight.server import PluginHost, WorkerServer
from heddle.flight.shared import SHARED_MIN_BYTES, ExchangeFolder, SharedFileError, SharedFolders, write_table
from heddle.sdk.plugin import Plugin
from heddle_engine.workers.client import FILES_ENV, WorkerClient

plugin = Plugin(namespace="files")


class Ids(Table):
    id: int


class Doubled(Table):
    id: int
    twice: int


@plugin.step(name="double")
def double(config: dict, rows: Ids) -> Doubled:
    table = rows.to_arrow()
    return Doubled(table.append_column("twice", pa.compute.multiply(table["id"], 2)))


@plugin.step(name="odd_rows_fail")
def odd_rows_fail(config: dict, rows: Ids) -> Ids:
    table = rows.to_arrow()
    even = pa.compute.equal(pa.compute.bit_wise_and(table["id"], 1), 0)
    odd = table.filter(pa.compute.invert(even))
    raise RowErrors(Ids(table.filter(even)), Ids(odd), ["odd"] * odd.num_rows)


BIG = SHARED_MIN_BYTES // 8 + 1000  # rows of one Int64 column: a table past the threshold


@pytest.fixture
def server() -> Iterator[WorkerServer]:
    served = WorkerServer(PluginHost(plugin, "test/files"))
    yield served
    served.shutdown()


def _client(server: WorkerServer) -> WorkerClient:
    return WorkerClient(f"grpc://127.0.0.1:{server.port}", same_host=True)


def test_a_large_table_goes_both_ways_as_files_and_no_file_stays(server: WorkerServer) -> None:
    client = _client(server)
    given = pa.table({"id": pa.array(range(BIG), type=pa.int64())})
    answer = client.exchange(StepRequest("test/files", "double", run_id="r"), given)
    assert client.exchanges_files and client._files is not None
    assert answer.table is not None and answer.table.num_rows == BIG
    assert answer.table.column("twice").to_pylist()[-3:] == [2 * (BIG - 3), 2 * (BIG - 2), 2 * (BIG - 1)]
    # `id` came back unchanged: it is not sent back, the engine's own column is the answer's
    assert answer.table.column("id").chunks[0].buffers()[1].address == given.column("id").chunks[0].buffers()[1].address
    assert answer.table.schema.names == ["id", "twice"]
    folder = client._files.path
    assert list(folder.iterdir()) == []  # input removed after the call, output once mapped
    small = client.exchange(StepRequest("test/files", "double", run_id="r"), pa.table({"id": [1, 2]}))
    assert small.table is not None and small.table.column("twice").to_pylist() == [2, 4]
    client.close()
    assert not folder.exists()


def test_failed_rows_come_back_as_on_the_wire(server: WorkerServer) -> None:
    client = _client(server)
    given = pa.table({"id": pa.array(range(BIG), type=pa.int64())})
    answer = client.exchange(StepRequest("test/files", "odd_rows_fail", run_id="r"), given)
    assert client.exchanges_files
    assert answer.failure is not None and answer.failed_rows[:3] == [1, 3, 5] and len(answer.failed_rows) == BIG // 2
    assert answer.table is not None and answer.table.num_rows == BIG - BIG // 2
    client.close()


def test_switched_off_or_remote_means_plain_flight(server: WorkerServer, monkeypatch: pytest.MonkeyPatch) -> None:
    given = pa.table({"id": pa.array(range(BIG), type=pa.int64())})
    remote = WorkerClient(f"grpc://127.0.0.1:{server.port}")  # not on this machine, as far as it knows
    assert remote.exchange(StepRequest("test/files", "double"), given).table is not None
    assert not remote.exchanges_files
    monkeypatch.setenv(FILES_ENV, "0")
    off = _client(server)
    assert off.exchange(StepRequest("test/files", "double"), given).table is not None
    assert not off.exchanges_files


def test_a_worker_that_cannot_see_the_folder_keeps_plain_flight(server: WorkerServer,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # another machine's (or container's) worker: the probe file is not there for it
    monkeypatch.setattr(SharedFolders, "accept", lambda self, directory, probe: "something else")
    client = _client(server)
    answer = client.exchange(StepRequest("test/files", "double"), pa.table({"id": pa.array(range(BIG))}))
    assert answer.table is not None and answer.table.num_rows == BIG
    assert not client.exchanges_files


def test_the_worker_reads_and_writes_only_in_folders_it_accepted(tmp_path: Path) -> None:
    shared = SharedFolders()
    engine = ExchangeFolder()
    try:
        probe, content = engine.probe()
        assert shared.accept(str(engine.path), probe.name) == content
        named = engine.name("in")
        assert shared.path(str(named)) == named
        for bad in (str(engine.path / "../x.arrow"), str(engine.path / "passwd"), "/etc/passwd",
                    str(tmp_path / named.name)):
            with pytest.raises(SharedFileError):
                shared.path(bad)
        open_folder = tmp_path / "open"
        open_folder.mkdir(mode=0o755)
        open_folder.chmod(0o755)
        with pytest.raises(SharedFileError, match="other users"):
            shared.accept(str(open_folder), probe.name)
        link = tmp_path / "link"
        link.symlink_to(engine.path)
        with pytest.raises(SharedFileError):
            shared.accept(str(link), probe.name)
        with pytest.raises(SharedFileError):
            shared.accept("relative/folder", probe.name)
        # an output file is created, never overwritten, never written through a link
        write_table(named, pa.table({"a": [1]}))
        with pytest.raises(FileExistsError):
            write_table(named, pa.table({"a": [2]}))
        target = engine.name("out")
        os.symlink(tmp_path / "elsewhere", target)
        with pytest.raises(OSError):
            write_table(target, pa.table({"a": [3]}))
        assert not (tmp_path / "elsewhere").exists()
    finally:
        engine.close()


def test_a_request_naming_a_file_outside_the_accepted_folders_is_refused(server: WorkerServer) -> None:
    client = WorkerClient(f"grpc://127.0.0.1:{server.port}")
    from heddle_engine.workers.client import WorkerRefusedError

    for field in ("input_file", "output_file"):
        request = StepRequest("test/files", "double", **{field: "/etc/in-0123456789abcdef0123456789abcdef.arrow"})
        with pytest.raises(WorkerRefusedError, match="accepted"):
            client.exchange(request, pa.table({"id": pa.array(range(BIG))}))
    assert client.action("health")["status"] == "ok"  # it keeps serving


def test_a_worker_started_again_at_the_same_address_is_offered_the_folder_again(server: WorkerServer) -> None:
    client = _client(server)
    given = pa.table({"id": pa.array(range(BIG), type=pa.int64())})
    assert client.exchange(StepRequest("test/files", "double"), given).table is not None
    first = client._files
    assert first is not None
    server.shared = SharedFolders()  # what a new process at the same address knows
    answer = client.exchange(StepRequest("test/files", "double"), given)
    assert answer.table is not None and answer.table.num_rows == BIG
    assert client.exchanges_files and client._files is not first and not first.path.exists()
    client.close()


KILLER = """
import os
import sys

sys.path.insert(0, {root!r})
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="killer")


@plugin.step(name="die", passthrough=True)
def die(config: dict, rows: Table) -> Table:
    os._exit(9)


if __name__ == "__main__":
    plugin.serve()
"""


def test_a_worker_killed_mid_call_leaves_no_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    from heddle.flight.protocol import listening_address
    from heddle_engine.workers.client import WorkerUnavailableError

    script = tmp_path / "killer.py"
    script.write_text(KILLER.format(root=str(Path(__file__).resolve().parents[2])), encoding="utf-8")
    worker = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        address = None
        while address is None:
            line = worker.stdout.readline()
            assert line, "the worker exited before listening"
            address = listening_address(line)
        client = WorkerClient(address, same_host=True)
        with pytest.raises(WorkerUnavailableError):
            client.exchange(StepRequest("killer", "die"), pa.table({"id": pa.array(range(BIG), type=pa.int64())}))
        assert client._files is not None and list(client._files.path.iterdir()) == []
        client.close()
    finally:
        worker.kill()
        worker.wait()


def test_an_answer_whose_parts_do_not_fit_is_refused() -> None:
    from heddle.flight.shared import assemble, unchanged_columns

    given = pa.table({"a": [1, 2], "b": ["x", "y"]})
    written = pa.table({"c": [0.5, 1.5]})
    schema = pa.schema([("b", pa.string()), ("c", pa.float64())])
    assert assemble(schema, written, given, {0: 1}, 2).to_pydict() == {"b": ["x", "y"], "c": [0.5, 1.5]}
    for unchanged, rows in (({0: 0}, 2), ({0: 5}, 2), ({}, 2), ({0: 1, 1: 1}, 2), ({0: 1}, 3)):
        with pytest.raises(SharedFileError):
            assemble(schema, written, given, unchanged, rows)
    with pytest.raises(SharedFileError):
        assemble(schema, written, None, {0: 1}, 2)
    # the same values in other buffers are not the input's column: only the very buffers count
    assert unchanged_columns(pa.table({"b": given.column("b"), "a": pa.array([1, 2])}), given) == {0: 1}
