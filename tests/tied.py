"""Servers the tests start end with the test process, however it ends. A server started in its own session (so
that stopping it reaches its whole group) would otherwise outlive a pytest that was killed (`timeout`, a cancelled
CI job) and keep its port and memory. util-linux's `setpriv --pdeathsig` asks Linux to send it SIGTERM when the
process that started it dies, and then runs it (the same process: its pid is the server's)."""

from __future__ import annotations

import shutil


def tied(command: list[str]) -> list[str]:
    """`command`, ended by SIGTERM when the test process dies (unchanged where setpriv is missing)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", *command] if setpriv else command
