"""`DiagnosticRuns` reads as the tuple of its runs' diagnostics moved into place, and a run of it is a run of the tuples
it was made of (no sequence refers to another)."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heddle_lang.diagnostic_runs import MAX_RUNS, DiagnosticRuns, Run, runs_of
from heddle_lang.diagnostics import Diagnostic, Fix, Related, TextEdit, shifted
from heddle_lang.text import Span

SOURCES = tuple(
    tuple(Diagnostic("HE3012", Span(10 * i + k, 10 * i + k + 3), f"d{k}{i}",
                     related=(Related(Span(10 * i + k + 1, 10 * i + k + 2), "here"),) if i % 2 else (),
                     fixes=(Fix("drop", (TextEdit(Span(10 * i + k, 10 * i + k + 4), ""),)),))
          for i in range(6))
    for k in range(3))


def expected(runs: list[Run]) -> tuple[Diagnostic, ...]:
    return tuple(shifted(d, run.delta) for run in runs for d in run.source[run.start:run.stop])


@st.composite
def some_runs(draw: st.DrawFn) -> list[Run]:
    runs = []
    for _ in range(draw(st.integers(0, 5))):
        source = draw(st.sampled_from(SOURCES))
        start = draw(st.integers(0, len(source)))
        runs.append(Run(source, start, draw(st.integers(start, len(source))), draw(st.integers(0, 30))))
    return runs


@settings(max_examples=200, deadline=None)
@given(some_runs(), st.data())
def test_runs_read_as_the_tuple_of_their_diagnostics_moved(runs: list[Run], data: st.DataObject) -> None:
    made = DiagnosticRuns(runs)
    items = expected(runs)
    assert len(made) == len(items)
    assert made == items and items == made and hash(made) == hash(items)
    assert tuple(made) == items and list(made) == list(items)
    start = data.draw(st.integers(-len(items) - 2, len(items) + 2))
    stop = data.draw(st.integers(-len(items) - 2, len(items) + 2))
    assert made[start:stop] == items[start:stop] and made[::2] == items[::2]
    if items:
        at = data.draw(st.integers(-len(items), len(items) - 1))
        assert made[at] == items[at]
        assert made[at] is made[at]  # moved once
    with pytest.raises(IndexError):
        made[len(items)]
    assert pickle.loads(pickle.dumps(made)) == items and type(pickle.loads(pickle.dumps(made))) is tuple
    # the same runs, merged where one continues another: none empty, no two adjacent that could be one
    assert all(run.start < run.stop for run in made.runs)
    assert not any(a.source is b.source and a.stop == b.start and a.delta == b.delta
                   for a, b in zip(made.runs, made.runs[1:], strict=False))


@settings(max_examples=200, deadline=None)
@given(some_runs(), st.data())
def test_a_stretch_of_runs_is_made_of_the_same_sources(runs: list[Run], data: st.DataObject) -> None:
    made = DiagnosticRuns(runs)
    items = expected(runs)
    start = data.draw(st.integers(0, len(items)))
    stop = data.draw(st.integers(start, len(items)))
    delta = data.draw(st.integers(0, 9))
    taken = runs_of(made, start, stop, delta)
    assert expected(taken) == tuple(shifted(d, delta) for d in items[start:stop])
    assert all(any(run.source is source for source in SOURCES) for run in taken)  # never a sequence of runs
    again = DiagnosticRuns([*runs_of(made, 0, start), *taken, *runs_of(made, stop, len(items))])
    assert len(again.runs) <= len(made.runs) + 2


def test_the_lowest_and_highest_places_of_a_run_count_its_related_places_where_it_stands() -> None:
    source = (Diagnostic("HE3012", Span(20, 30), "a", related=(Related(Span(5, 40), "r"),)),
              Diagnostic("HE3012", Span(25, 26), "b"))
    assert (Run(source, 0, 2, 3).lowest(), Run(source, 0, 2, 3).highest()) == (8, 43)
    assert (Run(source, 1, 2, 3).lowest(), Run(source, 1, 2, 3).highest()) == (28, 29)


def test_a_sequence_of_more_than_max_runs_is_one_tuple_again() -> None:
    source = SOURCES[0]
    runs = [Run(source, i % len(source), i % len(source) + 1, i) for i in range(MAX_RUNS + 1)]
    made = DiagnosticRuns(runs)
    assert len(made.runs) == 1 and made.runs[0].delta == 0 and made == expected(runs)
    assert len(DiagnosticRuns(runs[:MAX_RUNS]).runs) == MAX_RUNS


def test_a_tuple_is_one_run_of_itself() -> None:
    source = SOURCES[1]
    assert runs_of(source) == [Run(source, 0, len(source), 0)]
    assert runs_of(source, 2, 4, 5) == [Run(source, 2, 4, 5)]
    assert runs_of(source, 3, 3) == [] and runs_of(()) == []
