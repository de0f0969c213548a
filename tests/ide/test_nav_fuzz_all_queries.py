"""Mutation fuzzing of the navigation, symbol, range, token and action queries: none may raise.

The mutants are those of `tests/syntax/test_fuzz.py` (damaged example programs). Each goes through the
whole analysis, then every query at a few offsets, and the answers are checked for the shape the
protocol needs: edits that do not overlap, tokens on one line in order, nested selection ranges.
"""

from __future__ import annotations

import itertools
import os
import random
import traceback
from pathlib import Path

from heddle_lang.diagnostics import apply_edits
from heddle_lang.formatter import format_text
from heddle_lang.ide import actions, navigation, ranges, symbols, tokens
from heddle_lang.semantic import Analysis
from heddle_lang.text import Span
from tests.ide.queries_support import analysis_of
from tests.syntax.test_fuzz import mutants, shrink

COUNT = 1000
SEED = int(os.environ.get("HEDDLE_FUZZ_SEED", "1234"))


def _disjoint(spans: list[Span]) -> bool:
    ordered = sorted(spans)
    return all(a.end <= b.start for a, b in itertools.pairwise(ordered))


def _queries(analysis: Analysis, rng: random.Random) -> str | None:
    size = len(analysis.tree.data)
    offsets = [rng.randint(-1, size + 1) for _ in range(4)]
    for offset in offsets:
        navigation.definition(analysis, offset)
        navigation.references(analysis, offset, include_declaration=True)
        navigation.highlights(analysis, offset)
        if navigation.prepare_rename(analysis, offset) is not None:
            edits = navigation.rename(analysis, offset, "renamed_name")
            if isinstance(edits, list) and not _disjoint([e.span for e in edits]):
                return "rename edits overlap"
    symbols.document_symbols(analysis)
    symbols.workspace_symbols([("a.he", analysis)], "e")
    ranges.folding_ranges(analysis)
    for chain in ranges.selection_ranges(analysis, offsets):
        if any(not outer.covers(inner) for inner, outer in itertools.pairwise(chain)):
            return "selection ranges are not nested"
    found = tokens.semantic_tokens(analysis)
    if any(b.span.start < a.span.end for a, b in itertools.pairwise(found)):
        return "tokens overlap or are out of order"
    if any(b"\n" in analysis.tree.data[t.span.start : t.span.end] for t in found):
        return "a token spans lines"
    start, end = sorted(offsets[:2])
    for action in actions.code_actions(analysis, start, end):
        if not _disjoint([e.span for e in action.edits]):
            return f"{action.kind} edits overlap"
        apply_edits(analysis.tree.data, action.edits)
    whole = format_text(analysis.tree.text).text
    partial = apply_edits(analysis.tree.data, actions.format_range_edits(analysis, start, end)).decode()
    if whole is not None and format_text(partial).text != whole:
        return "range formatting changed what formatting gives"
    return None


def problem(text: str, seed: int = 0) -> str | None:
    try:
        return _queries(analysis_of(text), random.Random(seed))
    except Exception as error:  # the point of the test: nothing may raise
        frame = traceback.extract_tb(error.__traceback__)[-1]
        return f"{type(error).__name__} at {Path(frame.filename).name}:{frame.lineno}: {error}"


def test_mutated_examples_never_break_the_queries() -> None:
    rng = random.Random(SEED + 7)
    texts = mutants(rng, COUNT)
    failures = [(message, text, i) for i, text in enumerate(texts) if (message := problem(text, i)) is not None]
    if failures:
        message, text, seed = min(failures, key=lambda f: len(f[1]))
        small = shrink(text, lambda t: problem(t, seed) is not None)
        raise AssertionError(f"{len(failures)} of {COUNT} mutants failed, e.g. {message}\n"
                             f"    minimal input: {small!r}")
