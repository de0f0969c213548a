"""Processes the tests start end with the test process, however it ends. A server started in its own session (so
that stopping it reaches its whole group) would otherwise outlive a pytest that was killed (`timeout`, a cancelled
CI job) and keep its port and memory. util-linux's `setpriv --pdeathsig KILL` asks Linux to kill it when the
process that started it dies, then a shell checks that this process is still its parent, and runs the command
(each one `exec`s the next: the pid the starter sees is the command's).

The check closes a race: Linux sends the signal only to a child whose parent dies *after* it asked, and setpriv
asks a few milliseconds after the fork. A starter killed in between leaves the child with another parent (init,
or a subreaper such as the test process once Ray has made it one); the shell then finds a parent that is not
the starter and kills itself, as the signal would have. (Seen: under load, 2 in 10 children of a starter
killed at once outlived it, without the check.)

The signal is SIGKILL: a child inherits its starter's blocked and ignored signals. An orphan needs no graceful
stop: its folder is temporary, and `ray start --block` has its own reaper, which ends the head's processes
when `ray start` dies. Linux ties the child to the *thread* that started it: start tied processes from a thread
that lives as long as they should (a fixture's, the main thread)."""

from __future__ import annotations

import os
import shutil

# $PPID is the shell's parent when the shell started, after setpriv asked for the signal
_CHECK = 'if [ "$PPID" != "$1" ]; then kill -KILL $$; fi; shift; exec "$@"'


def tied(command: list[str]) -> list[str]:
    """`command`, killed when the process calling this dies (unchanged where setpriv is missing)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return command
    return [setpriv, "--pdeathsig", "KILL", "sh", "-c", _CHECK, "tied", str(os.getpid()), *command]
