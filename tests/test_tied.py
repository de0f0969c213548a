"""A process started through `tests.tied` ends when the process that started it is killed, even at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.processes import alive, still_alive
from tests.tied import tied

pytestmark = pytest.mark.skipif(sys.platform != "linux" or tied(["x"]) == ["x"],
                                reason="needs Linux and util-linux's setpriv")

STARTER = """\
import subprocess, sys
from tests.processes import alive, still_alive
from tests.tied import tied
child = subprocess.Popen(tied(["sleep", "120"]), start_new_session=True)
print(child.pid, flush=True)
sys.stdin.read()
"""
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTERS = 5  # each killed as soon as its child exists: some before setpriv asks for the signal (seen under load)


def test_a_tied_child_ends_when_its_starter_is_killed() -> None:
    children: list[int] = []
    try:
        for _ in range(STARTERS):
            starter = subprocess.Popen([sys.executable, "-c", STARTER], cwd=ROOT, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
            assert starter.stdout is not None
            children.append(int(starter.stdout.readline()))
            starter.send_signal(signal.SIGKILL)
            starter.wait(10)
        assert not still_alive(children, 10), "a child outlived the process that started it"
    finally:
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_tied_command_runs_as_itself() -> None:
    done = subprocess.run(tied(["sh", "-c", "echo ran; exit 3"]), capture_output=True, text=True, timeout=30,
                          check=False)
    assert (done.returncode, done.stdout) == (3, "ran\n")


def test_a_tied_child_whose_starter_is_not_its_parent_does_not_run() -> None:
    # What a child finds when its starter died before setpriv asked for the signal: another parent. Here the
    # tie is made for this process, and a shell in between starts the command.
    done = subprocess.run(["sh", "-c", '"$@"; exit $?', "sh", *tied(["echo", "ran"])], capture_output=True,
                          text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout) == (128 + signal.SIGKILL, "")
