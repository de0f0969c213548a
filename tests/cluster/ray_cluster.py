"""A Ray cluster the tests start on this machine's loopback address, and stop by its own process.

`ray start --head --block` with every port free and chosen here, `--node-ip-address 127.0.0.1`, usage
statistics off and a short temporary folder of its own; stopped by SIGTERM to that process (never `ray
stop`, which would end every Ray process on the machine). The driver (the test process) is told to stay on
loopback too (`heddle_engine.cluster.session` does it for a loopback address). Without Ray the tests skip,
unless HEDDLE_REQUIRE_RAY is set (CI installs Ray: there a missing install fails).

`two_nodes()`: a cluster of two nodes on this machine (`ray.cluster_utils.Cluster`, both on 127.0.0.1), its
processes ended by `Cluster.shutdown` (those it started, by their process ids). Not a second `ray start
--address=127.0.0.1:PORT --node-ip-address=127.0.0.1`: with Ray 2.60 that node's raylet asks for the GCS at the
machine's other address ("Failed to connect to GCS at address <other address>:PORT", then "Failed to get
cluster ID from GCS server: TimedOut") and never joins.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tied import tied

START_SECONDS = 90.0


def need_ray() -> None:
    """Skip without Ray (not imported here: the driver's loopback setting is read when Ray is imported)."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("HEDDLE_REQUIRE_RAY"):
            raise RuntimeError("HEDDLE_REQUIRE_RAY is set but Ray is not installed")
        pytest.skip("Ray is not installed (pip install 'heddle-lang[ray]')")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(folder: Path) -> dict[str, str]:
    return {**os.environ, "RAY_TMPDIR": str(folder), "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@dataclass
class RayCluster:
    address: str  # the GCS address (HOST:PORT), what `--cluster` takes on this machine
    client: str  # the Ray Client address (ray://HOST:PORT)
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path

    def pids(self, name: str) -> list[int]:
        """Processes of this cluster whose command line holds `name` (its workers, by their title)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if name in command and str(self.folder).encode() in environ:
                found.append(int(entry.name))
        return found


def _ports() -> list[str]:
    names = ["--node-manager-port", "--object-manager-port", "--dashboard-agent-grpc-port",
             "--dashboard-agent-listen-port", "--metrics-export-port", "--runtime-env-agent-port"]
    options = [f"{name}={free_port()}" for name in names]
    low = free_port() // 100 * 100
    low = min(max(low, 20000), 55000)
    return [*options, f"--min-worker-port={low}", f"--max-worker-port={low + 99}"]


@contextlib.contextmanager
def ray_cluster(*, cpus: int = 2, store_bytes: int = 100 * 1024 * 1024) -> Iterator[RayCluster]:
    need_ray()
    for tries_left in reversed(range(3)):  # a port chosen free may be taken before Ray binds it: start again
        cluster = _start(cpus, store_bytes)
        try:
            _wait_ready(cluster)
            break
        except RuntimeError:
            _stop(cluster.process)
            shutil.rmtree(cluster.folder, ignore_errors=True)
            if not tries_left:
                raise
    try:
        yield cluster
    finally:
        from heddle_engine.cluster.session import disconnect

        disconnect()
        _stop(cluster.process)
        shutil.rmtree(cluster.folder, ignore_errors=True)


def _start(cpus: int, store_bytes: int) -> RayCluster:
    folder = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))  # Ray's socket paths must stay short
    port, client = free_port(), free_port()
    log = folder / "head.log"
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    command = [ray, "start", "--head", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
               f"--port={port}", f"--ray-client-server-port={client}", "--include-dashboard=false",
               "--dashboard-host=127.0.0.1", f"--num-cpus={cpus}", f"--object-store-memory={store_bytes}",
               f"--temp-dir={folder}", *_ports()]
    with log.open("wb") as out:
        process = subprocess.Popen(tied(command), stdout=out, stderr=subprocess.STDOUT, env=environment(folder),
                                   start_new_session=True)
    return RayCluster(f"127.0.0.1:{port}", f"ray://127.0.0.1:{client}", process, folder, log)


def _wait_ready(cluster: RayCluster) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if cluster.process.poll() is not None:
            raise RuntimeError(f"ray start ended: {cluster.log.read_text(errors='replace')[-3000:]}")
        if b"--block" in cluster.log.read_bytes():  # printed once the head's processes are up
            return
        time.sleep(0.2)
    raise RuntimeError(f"the Ray head did not start in {START_SECONDS:.0f} s: "
                       f"{cluster.log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to `ray start --block` (it stops the head's processes), then to what is left of its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def two_nodes(*, cpus: int = 1, store_bytes: int = 100 * 1024 * 1024) -> Iterator[str]:
    """Two Ray nodes on loopback, `cpus` processors and `store_bytes` of object store each: the GCS address."""
    need_ray()
    folder = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
    (folder / "ray").mkdir()  # where Ray writes the address of the cluster it started
    saved = {name: os.environ.get(name) for name in ("RAY_TMPDIR", "RAY_USAGE_STATS_ENABLED",
                                                     "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")}
    os.environ.update({"RAY_TMPDIR": str(folder), "RAY_USAGE_STATS_ENABLED": "0",
                       "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
    from ray.cluster_utils import Cluster

    node = {"num_cpus": cpus, "node_ip_address": "127.0.0.1", "object_store_memory": store_bytes}
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={**node, "temp_dir": str(folder),
                                                                "include_dashboard": False})
        cluster.add_node(**node)
        cluster.wait_for_nodes(timeout=START_SECONDS)
        yield cluster.address
    finally:
        from heddle_engine.cluster.session import disconnect

        disconnect()
        if cluster is not None:
            cluster.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)
