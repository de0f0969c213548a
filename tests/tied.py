"""Servers the tests start end with the test process, however it ends. A server started in its own session (so
that stopping it reaches its whole group) would otherwise outlive a pytest that was killed (`timeout`, a cancelled
CI job) and keep its port and memory. util-linux's `setpriv --pdeathsig` asks Linux to signal it when the process
that started it dies, and then runs it (the same process: its pid is the server's).

The signal is SIGKILL: a child inherits its starter's blocked and ignored signals, and in a long test session
something may have left SIGTERM blocked or ignored (seen: a tied child outlived its starter only at the end of the
whole suite). An orphan needs no graceful stop: its folder is temporary, and `ray start --block` has its own
reaper, which ends the head's processes when `ray start` dies."""

from __future__ import annotations

import shutil


def tied(command: list[str]) -> list[str]:
    """`command`, killed when the test process dies (unchanged where setpriv is missing)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", *command] if setpriv else command
