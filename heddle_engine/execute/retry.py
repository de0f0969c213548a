"""Attempting a node again: its `RetryPolicy` (attempts, backoff, jitter, the error classes it retries).

Only the failing node is attempted again; its inputs are not recomputed. An error is retried when the
policy has attempts left and, if the policy names error classes (`on`), one of them is the error's class
or a base class of it (by name, `TimeoutError` or `builtins.TimeoutError`).

A unit whose process died on a cluster (`UnitLost`) is attempted again at once, up to `LOST_ATTEMPTS`
more times, whatever its policy: the failure was the placement's, not the step's. Those attempts are
numbered like any other (the run's record shows them) but do not use up the policy's.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TypeVar

from heddle_engine.execute.errors import UnitLost
from heddle_lang.plan import RetryPolicy

T = TypeVar("T")
LOST_ATTEMPTS = 3


def retried(policy: RetryPolicy | None, error: BaseException) -> bool:
    """Does `policy` retry errors like `error` (attempts aside)?"""
    if policy is None or policy.attempts <= 1:
        return False
    if not policy.on:
        return True
    names = {c.__name__ for c in type(error).__mro__} | {f"{c.__module__}.{c.__qualname__}"
                                                         for c in type(error).__mro__}
    names.update(getattr(error, "kinds", ()))  # an error raised in a worker: the class it had there
    return any(name in names for name in policy.on)


def delay(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """Seconds to wait before `attempt` (2, 3, ...), jitter included."""
    base = policy.delay_before(attempt)
    spread = base * policy.jitter
    return max(0.0, base + rng.uniform(-spread, spread)) if spread > 0 else base


def attempt(policy: RetryPolicy | None, run: Callable[[int], T], *,
            on_retry: Callable[[int, BaseException, float], None], stop: threading.Event,
            rng: random.Random | None = None) -> T:
    """`run(attempt)` until it returns; between failed attempts `on_retry(next attempt, error, seconds)`,
    then a wait (cut short when `stop` is set: the run is ending). The last error propagates."""
    number = 1
    lost = 0  # attempts lost with their process
    while True:
        try:
            return run(number)
        except Exception as error:
            if isinstance(error, UnitLost) and lost < LOST_ATTEMPTS and not stop.is_set():
                lost += 1
                on_retry(number + 1, error, 0.0)
                number += 1
                continue
            allowed = (policy.attempts if policy is not None else 1) + lost
            if number >= allowed or not retried(policy, error) or stop.is_set():
                raise
            assert policy is not None
            rng = rng if rng is not None else random.Random()
            wait = delay(policy, number + 1, rng)
            on_retry(number + 1, error, wait)
            if stop.wait(wait):
                raise
            number += 1
