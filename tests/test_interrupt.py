"""The supervisor of `heddle run`: Ctrl-C presses are counted, never raised, so a press that lands while the
first one is being handled still quits at once, announced, with the run recorded as interrupted."""

from __future__ import annotations

import signal
import threading

import pytest

from heddle.cli import interrupt as supervisor


class _QuitError(Exception):
    pass


def _quit(status: int) -> None:
    raise _QuitError(status)


def test_a_second_press_during_the_first_ones_handling_quits_at_once(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(supervisor, "quit_now", _quit)
    presses = supervisor._Presses()
    presses(2, None)  # the first Ctrl-C
    abandoned: list[bool] = []

    def interrupt() -> None:
        presses(2, None)  # the second lands while the run is being told to stop

    with pytest.raises(_QuitError) as quit:
        supervisor._supervise(interrupt, threading.Event(), presses,  # type: ignore[arg-type]
                              abandon=lambda: abandoned.append(True), grace=60.0)
    assert quit.value.args == (supervisor.INTERRUPTED_EXIT,)
    assert abandoned == [True]
    assert "stages still running were abandoned" in capsys.readouterr().err


def test_a_run_that_ends_within_the_grace_period_is_not_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "quit_now", _quit)
    presses = supervisor._Presses()
    presses(2, None)
    done = threading.Event()
    supervisor._supervise(done.set, done, presses, abandon=lambda: pytest.fail("abandoned"),  # type: ignore[arg-type]
                          grace=60.0)
    assert done.is_set()


def test_presses_are_counted_only_while_the_run_goes() -> None:
    before = signal.getsignal(signal.SIGINT)
    with supervisor._presses_counted() as presses:
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        assert presses.count == 2
    assert signal.getsignal(signal.SIGINT) is before
