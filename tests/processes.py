"""Whether a process the tests started, or made start, still runs."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path


def alive(pid: int) -> bool:
    """Does process `pid` run? A zombie has ended (only its exit status is left to collect)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def still_alive(pids: Iterable[int], seconds: float) -> list[int]:
    """The processes of `pids` that still run after waiting up to `seconds` for all of them to end."""
    pids = list(pids)
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def written_pid(marker: Path, seconds: float) -> int:
    """The process id a step writes into file `marker` when it starts (waiting up to `seconds` for it)."""
    deadline = time.monotonic() + seconds
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.1)
    return int(marker.read_text())
