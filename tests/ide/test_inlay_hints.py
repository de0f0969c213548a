"""Inlay hints: `: {schema}` after `> name`, `→ {schema}` at the end of a stage's line."""

from __future__ import annotations

from heddle_lang.ide.inlay import MAX_LABEL, inlay_hints
from heddle_lang.ide.results import InlayHint
from heddle_lang.semantic import Analysis
from tests.ide.assist_support import HEAD, analysis_of, at, example


def hints_by_line(analysis: Analysis) -> dict[str, str]:
    """The text of the line before each hint → the hint's label."""
    data = analysis.tree.data
    out = {}
    for hint in inlay_hints(analysis, 0, len(data)):
        line_start = data.rfind(b"\n", 0, hint.offset) + 1
        out[data[line_start : hint.offset].decode().strip()] = hint.label
    return out


def test_assignment_and_stage_hints_of_the_csv_report() -> None:
    analysis = example("csv_report.he")
    hints = hints_by_line(analysis)
    assert hints["> sales"] == ": {id: Int64, country: String, amount: Float64}"
    assert hints[")"] == "→ {country: String, total: Float64, orders: Int64}"
    assert hints['| io.write_csv { path: "out/sales_by_country.csv" }'].startswith("→ {country: String")
    # the reader is followed by `> sales`, which already shows its schema
    assert "}" not in hints


def test_hint_sits_right_after_the_assignment_name() -> None:
    analysis = example("csv_report.he")
    hint = next(h for h in inlay_hints(analysis, 0, len(analysis.tree.data)) if h.label.startswith(":"))
    assert hint.offset == at(analysis, "> sales", shift=len("> sales"))


def test_long_schemas_are_cut_and_the_tooltip_has_them_all() -> None:
    analysis = example("seeds/fraud_detection.he")
    hints = inlay_hints(analysis, 0, len(analysis.tree.data))
    long = [h for h in hints if "…" in h.label]
    assert long
    for hint in long:
        assert len(hint.label) <= MAX_LABEL + 2
        assert hint.label.endswith("…}")
    produce = hints[-1]
    assert "response: String" in produce.tooltip and "response" not in produce.label


def test_tables_a_block_reads_get_no_hint_of_their_own() -> None:
    analysis = example("seeds/fraud_detection.he")
    offsets = {h.offset for h in inlay_hints(analysis, 0, len(analysis.tree.data))}
    assert at(analysis, "join fetch_user_data", shift=len("join fetch_user_data")) not in offsets


def test_hint_goes_before_a_trailing_comment_and_after_a_trap() -> None:
    text = HEAD + "workflow W {\n  fetch\n    | io.print ? oops // shown\n}\n"
    analysis = analysis_of(text)
    hints = inlay_hints(analysis, 0, len(analysis.tree.data))
    print_hint = next(h for h in hints if h.offset == at(analysis, "? oops", shift=6))
    assert print_hint.label == "→ {id: ?, name: ?}"
    assert print_hint.tooltip == "id: ?\nname: ?"


def test_only_hints_in_the_range() -> None:
    analysis = example("csv_report.he")
    everything = inlay_hints(analysis, 0, len(analysis.tree.data))
    start = at(analysis, "  sales\n")
    inside = inlay_hints(analysis, start, len(analysis.tree.data))
    assert inside == [h for h in everything if h.offset >= start]
    assert inlay_hints(analysis, 0, start) == [h for h in everything if h.offset < start]
    assert inlay_hints(analysis, 5, 5) == []


def test_hints_follow_non_ascii_text_in_bytes() -> None:
    text = HEAD + "workflow W {\n  [{ nom: \"Zoë ☕\" }]\n  > gens\n}\n"
    analysis = analysis_of(text)
    hints = inlay_hints(analysis, at(analysis, "workflow W"), len(analysis.tree.data))
    assert hints == [InlayHint(at(analysis, "> gens", shift=6), ": {nom: String}", "nom: String")]


def test_broken_text_still_answers() -> None:
    analysis = analysis_of(HEAD + "workflow W {\n  fetch\n    > users\n  users\n    | (from input sel")
    hints = inlay_hints(analysis, 0, len(analysis.tree.data))
    assert all(isinstance(h, InlayHint) for h in hints)
    assert inlay_hints(analysis_of(""), 0, 0) == []
