"""`DiagnosticRuns`: a document's diagnostics as runs of earlier ones, each moved by as many bytes as its text moved.

An edit of a large document keeps most of its diagnostics: those before the edit as they were, those after it moved by
the edit's length. The analysis of the edit (`semantic.splice`) says so by structure instead of by copying each one: its
diagnostics are runs, each a slice of a tuple of diagnostics made earlier (`Run.source`) and a number of bytes every
diagnostic of the slice moved since (`Run.delta`). A run of the previous version's sequence is a slice of the same
source, so no run refers to another sequence (no chain grows from version to version), and the language server finds
which of its previous conversions still hold by comparing runs, not diagnostics (`heddle_lsp.convert.DiagnosticCache`).

The sequence reads as the tuple of its diagnostics in place: a run's diagnostics are moved (`shifted_all`) when one
of them is first read, once. Equality, hashing and pickling are a tuple's. After `MAX_RUNS` runs (edits in as many
places) the sequence is made of one tuple again, its diagnostics moved then.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from operator import attrgetter
from typing import NamedTuple, overload

from heddle_lang.diagnostics import Diagnostic, shifted_all

MAX_RUNS = 64

_START = attrgetter("span.start")
_END = attrgetter("span.end")
_RELATED = attrgetter("related")


class Run(NamedTuple):
    """`source[start:stop]`, each diagnostic moved by `delta` bytes."""

    source: tuple[Diagnostic, ...]
    start: int
    stop: int
    delta: int

    def lowest(self) -> int:
        """The first byte any of its diagnostics points at, where it stands (its span or a related place)."""
        items = self.source[self.start:self.stop]
        low = min(map(_START, items))
        if any(map(_RELATED, items)):
            low = min(low, *(r.span.start for d in items for r in d.related))
        return low + self.delta

    def highest(self) -> int:
        """The last byte any of its diagnostics points at (an end), where it stands."""
        items = self.source[self.start:self.stop]
        high = max(map(_END, items))
        if any(map(_RELATED, items)):
            high = max(high, *(r.span.end for d in items for r in d.related))
        return high + self.delta

    def moved(self) -> tuple[Diagnostic, ...]:
        """Its diagnostics where they stand."""
        items = self.source[self.start:self.stop]
        return tuple(shifted_all(items, self.delta)) if self.delta else items


class DiagnosticRuns(Sequence[Diagnostic]):
    """Diagnostics in place, as runs of earlier ones (see the module's description)."""

    __slots__ = ("_made", "_offsets", "runs")

    def __init__(self, runs: Iterable[Run]) -> None:
        merged: list[Run] = []
        for run in runs:
            if run.start == run.stop:
                continue
            last = merged[-1] if merged else None
            if last is not None and last.source is run.source and last.stop == run.start and last.delta == run.delta:
                merged[-1] = last._replace(stop=run.stop)
            else:
                merged.append(run)
        if len(merged) > MAX_RUNS:
            items = tuple(d for run in merged for d in run.moved())
            merged = [Run(items, 0, len(items), 0)]
        self.runs: tuple[Run, ...] = tuple(merged)
        self._offsets = list(accumulate((run.stop - run.start for run in merged), initial=0))
        self._made: list[tuple[Diagnostic, ...] | None] = [None] * len(merged)  # each run's, once read

    def between(self, start: int, stop: int, delta: int) -> list[Run]:
        """The runs of the diagnostics `start` to `stop` (indices), moved `delta` bytes further."""
        offsets, out = self._offsets, []
        at = max(0, bisect.bisect_right(offsets, start) - 1)
        while at < len(self.runs) and offsets[at] < stop:
            run, first = self.runs[at], offsets[at]
            low, high = max(start, first), min(stop, offsets[at + 1])
            if low < high:
                out.append(Run(run.source, run.start + low - first, run.start + high - first, run.delta + delta))
            at += 1
        return out

    def _run(self, at: int) -> tuple[Diagnostic, ...]:
        made = self._made[at]
        if made is None:
            made = self._made[at] = self.runs[at].moved()
        return made

    def __len__(self) -> int:
        return self._offsets[-1]

    @overload
    def __getitem__(self, index: int) -> Diagnostic: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Diagnostic, ...]: ...

    def __getitem__(self, index: int | slice) -> Diagnostic | tuple[Diagnostic, ...]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return tuple(self)[index]
            return tuple(d for at in range(*self._covering(start, stop)) for d in self._run(at)[
                max(0, start - self._offsets[at]):stop - self._offsets[at]])
        size = len(self)
        if not -size <= index < size:
            raise IndexError("diagnostic index out of range")
        index %= size
        at = bisect.bisect_right(self._offsets, index) - 1
        return self._run(at)[index - self._offsets[at]]

    def _covering(self, start: int, stop: int) -> tuple[int, int]:
        """The first run holding index `start` and the run after the one holding `stop - 1` (none: equal)."""
        if start >= stop:
            return 0, 0
        return bisect.bisect_right(self._offsets, start) - 1, bisect.bisect_left(self._offsets, stop)

    def __iter__(self) -> Iterator[Diagnostic]:
        for at in range(len(self.runs)):
            yield from self._run(at)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DiagnosticRuns | tuple):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"DiagnosticRuns({tuple(self)!r})"

    def __reduce__(self) -> tuple[type[tuple[Diagnostic, ...]], tuple[tuple[Diagnostic, ...]]]:
        return tuple, (tuple(self),)  # pickled as the tuple it reads as


def runs_of(diagnostics: Sequence[Diagnostic], start: int = 0, stop: int | None = None, delta: int = 0) -> list[Run]:
    """The runs of `diagnostics[start:stop]` (a `DiagnosticRuns`'s, or one of a tuple), moved `delta` bytes further."""
    stop = len(diagnostics) if stop is None else stop
    if isinstance(diagnostics, DiagnosticRuns):
        return diagnostics.between(start, stop, delta)
    source = diagnostics if isinstance(diagnostics, tuple) else tuple(diagnostics)
    return [Run(source, start, stop, delta)] if start < stop else []
