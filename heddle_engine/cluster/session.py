"""Connecting to a Ray cluster: `heddle run --cluster ADDRESS` (or `[cluster] address` in `heddle.toml`).

ADDRESS is what Ray takes: `ray://HOST:PORT` (Ray Client), `HOST:PORT` (the cluster's GCS, from a machine
of the cluster), or `auto` (the cluster `RAY_ADDRESS` names, else the one running on this machine). Ray is
an optional extra (`pip install 'heddle-lang[ray]'`); without it, a run that asks for a cluster is refused with
that advice. A process connects once and keeps the connection for its next runs on the same address.
"""

from __future__ import annotations

import logging
import os
import threading
from types import ModuleType

from heddle_engine.execute.errors import SetupError

MISSING = "running on a Ray cluster needs Ray, which is not installed: pip install 'heddle-lang[ray]'"
_lock = threading.Lock()
_connected: list[str] = []  # the address this process is connected to


class ClusterUnavailable(Exception):  # noqa: N818 - a verdict on the cluster
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.error = SetupError("HR2007", message)


def ray_module() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable(MISSING) from None
    return ray


def connect(address: str) -> ModuleType:
    """Ray, connected to the cluster at `address` (raises `ClusterUnavailable`). A cluster on this machine's
    loopback address stays there: Ray would otherwise take the machine's other address for the driver."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if loopback(address):
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # read when Ray is imported
    ray = ray_module()
    with _lock:
        if ray.is_initialized():
            if _connected and _connected[0] == address:
                return ray
            ray.shutdown()
            _connected.clear()
        try:
            ray.init(address=address, namespace="heddle", logging_level=logging.ERROR, log_to_driver=False)
        except Exception as error:  # Ray says why (no cluster there, a version mismatch, ...)
            raise ClusterUnavailable(f"the Ray cluster at {address} cannot be used: {type(error).__name__}: "
                                     f"{error}") from None
        _connected.append(address)
    return ray


def loopback(address: str) -> bool:
    host = address.removeprefix("ray://").rpartition(":")[0] or address
    return host in ("127.0.0.1", "localhost", "::1", "[::1]")


def disconnect() -> None:
    """Leave the cluster (tests that stop the cluster they started)."""
    ray = ray_module()
    with _lock:
        if ray.is_initialized():
            ray.shutdown()
        _connected.clear()
