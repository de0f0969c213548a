"""Folding ranges and selection ranges."""

from __future__ import annotations

import itertools

import pytest

from heddle_lang.ide.ranges import folding_ranges, selection_ranges
from heddle_lang.ide.results import Folding
from heddle_lang.semantic import Analysis
from tests.ide.queries_support import EXAMPLE_FILES, analysis_of, at, example, text_of

FOLDS = '''/* A header
   on two lines */
import "std/io" io
// the second import
import "fhub/kafka" kafka

// one
// two
// three
step s = io.read_csv {
  path: "x.csv"
  schema: {
    id: "Int64"
  }
}

workflow W {
  s
    | (
        from input
        select {id}
      )
    | io.print { note: """first
second
third""" } // trailing
}
'''


def line_of(analysis: Analysis, needle: str) -> int:
    return analysis.tree.lines.line_of(at(analysis, needle))


def test_folding_ranges_of_a_document() -> None:
    analysis = analysis_of(FOLDS)
    folds = folding_ranges(analysis)
    assert Folding(0, 1, "comment") in folds  # the block comment
    assert Folding(2, 4, "imports") in folds  # the import section, comments between imports included
    assert Folding(6, 8, "comment") in folds  # a run of line comments
    assert Folding(9, 13) in folds  # the step's config: `}` stays visible
    assert Folding(11, 12) in folds  # a nested dict
    assert Folding(16, 24) in folds  # the workflow block
    assert Folding(17, 24) in folds  # the pipeline
    assert Folding(18, 20) in folds  # the relational block up to its `)` line
    assert Folding(22, 24) in folds  # the multi-line string
    assert all(f.end_line > f.start_line for f in folds)
    assert folds == sorted(folds, key=lambda f: (f.start_line, -f.end_line))
    assert len(set(folds)) == len(folds)


def test_folding_ranges_of_the_fraud_seed() -> None:
    analysis = example("seeds/fraud_detection.he")
    folds = folding_ranges(analysis)
    assert folds[:3] == [Folding(0, 4, "imports"), Folding(6, 7, "comment"), Folding(8, 9)]
    workflow = line_of(analysis, "workflow FraudDetection")
    closing = analysis.tree.lines.line_count - 2  # the `}` before the final line break
    assert Folding(workflow, closing - 1) in folds
    comments = [f for f in folds if f.kind == "comment"]
    assert Folding(line_of(analysis, "// 1. Filter"), line_of(analysis, "// 4. Audit"), "comment") in comments


def test_single_lines_and_separated_comments_do_not_fold() -> None:
    analysis = analysis_of('import "std/io" io\n\n// a\n\n// b\nworkflow W {\n  [{a: 1}]\n    | io.print // c\n}\n')
    assert folding_ranges(analysis) == [Folding(5, 7), Folding(6, 7)]


@pytest.mark.parametrize("text", [
    "", "workflow W {\n  (from x\n    select", "/* never closed\n\n", "step s = a.b {\n  k: [\n    1,\n",
    "\u00e9\n\U0001f600 {\n}\n",
])
def test_folding_broken_text(text: str) -> None:
    for fold in folding_ranges(analysis_of(text)):
        assert fold.end_line > fold.start_line >= 0


# --- selection ranges ------------------------------------------------------------------------------


def check_chain(analysis: Analysis, chain: list) -> None:  # type: ignore[type-arg]
    assert chain[-1].start == 0 and chain[-1].end == len(analysis.tree.data)
    for inner, outer in itertools.pairwise(chain):
        assert outer.covers(inner) and outer != inner


def test_selection_grows_from_a_name_to_the_file() -> None:
    analysis = example("seeds/fraud_detection.he")
    (chain,) = selection_ranges(analysis, [at(analysis, "generate_audit\n", shift=3)])
    texts = [text_of(analysis, s) for s in chain]
    assert texts[0] == "generate_audit"
    assert texts[1] == "| generate_audit"
    assert texts[2].startswith("tx_stream\n    | (")
    assert texts[3].startswith("{\n\n  <broker=kf_broker>")
    assert texts[4].startswith("workflow FraudDetection")
    check_chain(analysis, chain)


def test_selection_inside_prql_follows_its_tokens_and_brackets() -> None:
    analysis = example("seeds/fraud_detection.he")
    offsets = [at(analysis, "==user_id", shift=4), at(analysis, "join fetch_user_data", shift=8)]
    first, second = selection_ranges(analysis, offsets)
    assert [text_of(analysis, s) for s in first[:3]] == ["user_id", "==user_id", "(==user_id)"]
    assert text_of(analysis, first[3]).startswith("from input\n        join fetch_user_data")
    assert text_of(analysis, first[4]).startswith("(\n        from input")
    assert text_of(analysis, second[0]) == "fetch_user_data"
    check_chain(analysis, first)
    check_chain(analysis, second)


def test_selection_with_non_ascii_text() -> None:
    analysis = analysis_of('workflow W {\n  [{ n: "Zoë" }]\n    | (derive {t = "日本"} select {n, t})\n}\n')
    (chain,) = selection_ranges(analysis, [at(analysis, "select {n", shift=8)])
    assert [text_of(analysis, s) for s in chain[:3]] == ["n", "n, t", "{n, t}"]
    check_chain(analysis, chain)


@pytest.mark.parametrize("path", EXAMPLE_FILES[:3], ids=lambda p: p.name)
def test_selection_everywhere_in_examples(path) -> None:  # type: ignore[no-untyped-def]
    analysis = analysis_of(path.read_text(encoding="utf-8"))
    offsets = list(range(-2, len(analysis.tree.data) + 3))
    chains = selection_ranges(analysis, offsets)
    assert len(chains) == len(offsets)
    for chain in chains:
        check_chain(analysis, chain)


@pytest.mark.parametrize("text", ["", "workflow W {\n  (from x join", "\U0001f600(", "step s = \n  | ("])
def test_selection_broken_text(text: str) -> None:
    analysis = analysis_of(text)
    for chain in selection_ranges(analysis, range(-1, len(analysis.tree.data) + 2)):
        check_chain(analysis, chain)
