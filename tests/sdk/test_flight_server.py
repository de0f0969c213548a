"""The Python worker at the protocol level: actions, malformed requests, token authentication, TLS."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import flight

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.flight.protocol import ACTIONS, Failure, StepRequest, parse_address
from heddle.flight.server import PluginHost, WorkerServer
from heddle.sdk.plugin import Plugin
from heddle_engine.workers.client import RemoteStepError, WorkerClient, WorkerRefusedError

plugin = Plugin(namespace="echo")


class Ids(Table):
    id: int


@plugin.step(name="same")
def same(config: dict, rows: Ids) -> Ids:
    return Ids(rows.to_arrow())


class Limit(StepConfig[None]):
    n: int = 1


@plugin.step(name="limited")
def limited(config: Limit, rows: Ids) -> Ids:
    return Ids(rows.to_arrow().slice(0, config.n))


@pytest.fixture
def server() -> Iterator[WorkerServer]:
    served = WorkerServer(PluginHost(plugin, "test/echo"))
    yield served
    served.shutdown()


def client_of(server: WorkerServer, **options: object) -> WorkerClient:
    return WorkerClient(f"grpc://127.0.0.1:{server.port}", **options)  # type: ignore[arg-type]


def test_health_describe_and_the_list_of_actions(server: WorkerServer) -> None:
    client = client_of(server)
    health = client.action("health")
    assert health["status"] == "ok" and health["language"] == "python" and health["modules"] == ["test/echo"]
    described = client.action("describe", {"path": "other/name"})["modules"]
    assert [m["path"] for m in described] == ["other/name"]
    assert [f["name"] for f in described[0]["module"]["functions"]] == ["same", "limited"]
    listed = flight.connect(f"grpc://127.0.0.1:{server.port}").list_actions()
    assert {a.type for a in listed} == set(ACTIONS)


def test_a_malformed_descriptor_is_an_error_answer_and_the_worker_keeps_serving(server: WorkerServer) -> None:
    raw = flight.connect(f"grpc://127.0.0.1:{server.port}")
    for command in (b"not json", b"[1, 2]", b'{"module": "x"}', b'{"module": "x", "step": "same", "attempt": 0}',
                    b'{"module": "x", "step": "nope"}', b'{"module": "x", "step": "same", "config": [1]}'):
        writer, reader = raw.do_exchange(flight.FlightDescriptor.for_command(command))
        try:
            writer.begin(pa.schema([("id", pa.int64())]))
            writer.done_writing()
        except flight.FlightError:
            pass
        with pytest.raises(flight.FlightError) as caught:
            reader.read_all()
        failure = Failure.from_bytes(caught.value.extra_info)
        assert failure is not None and failure.kind in ("request", "step"), command
    with pytest.raises(flight.FlightError):
        list(raw.do_action(flight.Action("describe", b"{not json")))
    with pytest.raises(flight.FlightError):
        list(raw.do_action(flight.Action("no-such-action", b"")))
    answer = client_of(server).exchange(StepRequest("x", "same"), pa.table({"id": [1, 2]}))
    assert answer.table is not None and answer.table.column("id").to_pylist() == [1, 2]


def test_an_unknown_config_key_is_refused_as_a_request(server: WorkerServer) -> None:
    client = client_of(server)
    with pytest.raises(WorkerRefusedError, match="the config of `limited`"):
        client.exchange(StepRequest("x", "limited", {"unknown": 1}), pa.table({"id": [1]}))
    answer = client.exchange(StepRequest("x", "limited", {"n": 2}), pa.table({"id": [1, 2, 3]}))
    assert answer.table is not None and answer.table.num_rows == 2


def test_a_worker_with_a_token_refuses_calls_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    served = WorkerServer(PluginHost(plugin), token="t0ken")
    try:
        for token in (None, "wrong"):
            with pytest.raises(WorkerRefusedError, match="token"):
                client_of(served, token=token).action("health")
        assert client_of(served, token="t0ken").action("health")["status"] == "ok"
    finally:
        served.shutdown()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_tls_with_a_certificate_the_client_trusts(tmp_path: Path) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    cert, key = (tmp_path / "cert.pem").read_bytes(), (tmp_path / "key.pem").read_bytes()
    served = WorkerServer(PluginHost(plugin), "grpc+tls://127.0.0.1:0", tls=(cert, key))
    try:
        client = WorkerClient(f"grpc+tls://127.0.0.1:{served.port}", ca=cert)
        answer = client.exchange(StepRequest("x", "same"), pa.table({"id": [7]}))
        assert answer.table is not None and answer.table.num_rows == 1
        with pytest.raises(Exception):  # noqa: B017 - plain text against TLS fails, however gRPC words it
            WorkerClient(f"grpc://127.0.0.1:{served.port}").action("health", timeout=3)
    finally:
        served.shutdown()


def test_a_step_error_carries_the_type_and_the_trace() -> None:
    failing = Plugin(namespace="failing")

    @failing.step(name="fail")
    def fail(config: dict, rows: Ids) -> Ids:
        raise KeyError("missing column")

    served = WorkerServer(PluginHost(failing))
    try:
        with pytest.raises(RemoteStepError) as caught:
            client_of(served).exchange(StepRequest("x", "fail"), pa.table({"id": [1]}))
        assert caught.value.type_name == "KeyError"
        assert "raise KeyError" in caught.value.stack_trace and "heddle/flight" not in caught.value.stack_trace
    finally:
        served.shutdown()


def test_shutdown_stops_the_worker() -> None:
    served = WorkerServer(PluginHost(plugin))
    assert client_of(served).action("shutdown") == {"status": "stopping"}
    served.wait()


def test_addresses() -> None:
    assert str(parse_address("127.0.0.1:8815")) == "grpc://127.0.0.1:8815"
    assert parse_address("grpc+tls://[::1]:1").tls
    for bad in ("http://x:1", "grpc://x", "grpc://x:99999", "grpc://a b:1"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_failures_stay_below_the_trailer_limit() -> None:
    raw = Failure("step", "ValueError", "m" * 50_000, "t" * 50_000).to_bytes()
    assert len(raw) < 16_000
    assert json.loads(raw)["message"].endswith("…")


def test_a_run_whose_engine_went_away_is_released_after_its_idle_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from heddle.flight import server as server_module
    from heddle.flight.jit import JitHost, digest_of

    source = "from heddle.sdk.plugin import Plugin\nplugin = Plugin(namespace='gone')\n"
    module = {"path": "t/gone", "digest": digest_of(source), "module": "gone", "attribute": "plugin",
              "filename": "gone.py", "source": source}
    served = WorkerServer(JitHost())
    try:
        client = client_of(served)
        assert client.action("load", {"run_id": "crashed-engine", "modules": [module]})["versions"] != []
        monkeypatch.setattr(server_module, "IDLE_RUN_SECONDS", 0.0)
        assert client.action("load", {"run_id": "next", "modules": []})["versions"] == []
    finally:
        served.shutdown()


def test_a_plugin_worker_makes_only_its_own_plugins_resources() -> None:
    from heddle.flight.protocol import ResourceRequest

    served = WorkerServer(PluginHost(plugin))
    try:
        other = ResourceRequest("connection", "db", "fhub/sqlite", "connection", {"path": "x.db"})
        with pytest.raises(WorkerRefusedError, match="cannot make the resource `connection` of `fhub/sqlite`"):
            client_of(served).exchange(StepRequest("test/echo", "same", resources=(other,)), pa.table({"id": [1]}))
    finally:
        served.shutdown()
