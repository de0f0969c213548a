"""Sink plans run together: the writers of one joint plan hand their sinks to the engine, which runs them in one
pass over their sources.

A writer given a table not read yet makes a *sink plan* of its pending query (`query.sink_parquet(path,
lazy=True)`, ...) and runs it with `Table.sink(plan)`. Alone, that runs the plan. When the engine calls several
writers whose queries read the same lazy source (a joint unit: two blocks that read one file), each writer's
call runs with a `SinkMember` of one `SinkGroup`: its plan is handed to the engine, which waits until every
writer has handed its plan or returned, runs all of them (and its own frames) with one `pl.collect_all` — Polars
then scans the file they share once —, and gives each writer the outcome.
"""

from __future__ import annotations

import contextvars
import threading

import polars as pl

_MEMBER: contextvars.ContextVar[SinkMember | None] = contextvars.ContextVar("heddle_sink_member", default=None)


def run_sink(plan: pl.LazyFrame) -> None:
    """Run a sink plan: alone, or with the others of the engine's group when the caller is one of its members."""
    member = _MEMBER.get()
    if member is None or not member.hand(plan):
        pl.collect_all([plan])


class SinkGroup:
    """The sink plans of `members` writer calls, run by the engine once each has handed its plan or returned."""

    def __init__(self, members: int) -> None:
        self._lock = threading.Condition()
        self._left = members  # members that have neither handed a plan nor returned
        self._plans: list[pl.LazyFrame] = []
        self._ran = False
        self._error: BaseException | None = None

    def member(self) -> SinkMember:
        return SinkMember(self)

    def plans(self) -> list[pl.LazyFrame]:
        """The plans handed, once every member has handed its plan or returned (the engine's side)."""
        with self._lock:
            self._lock.wait_for(lambda: self._left == 0)
            return list(self._plans)

    def ran(self, error: BaseException | None) -> None:
        """The plans ran (or failed with `error`): the members waiting go on (the engine's side)."""
        with self._lock:
            self._ran, self._error = True, error
            self._lock.notify_all()

    def hand_plan(self, plan: pl.LazyFrame) -> bool:
        """A member's plan, run with the others (False: the group ran already, the member runs it alone)."""
        with self._lock:
            if self._ran:
                return False
            self._plans.append(plan)
            self._left -= 1
            self._lock.notify_all()
            self._lock.wait_for(lambda: self._ran)
            error = self._error
        if error is not None:
            raise error
        return True

    def leave(self) -> None:
        """A member returned without handing a plan."""
        with self._lock:
            self._left -= 1
            self._lock.notify_all()


class SinkMember:
    """One writer call's place in a group: its first sink plan goes to the group, any later one runs alone."""

    def __init__(self, group: SinkGroup) -> None:
        self._group = group
        self._counted = False  # handed a plan or returned: the group no longer waits for it
        self._token: contextvars.Token[SinkMember | None] | None = None

    def hand(self, plan: pl.LazyFrame) -> bool:
        """Run `plan` with the group's; False when it is for the caller to run alone."""
        if self._counted:
            return False
        self._counted = True
        return self._group.hand_plan(plan)

    def done(self) -> None:
        """The writer call returned: the group stops waiting for it (whether it handed a plan or not)."""
        if not self._counted:
            self._counted = True
            self._group.leave()

    def __enter__(self) -> SinkMember:
        self._token = _MEMBER.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _MEMBER.reset(self._token)
        self.done()
