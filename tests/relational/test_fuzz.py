"""Random and damaged relational blocks: the analysis never raises and its positions stay in range."""

from __future__ import annotations

import os
import random

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from heddle_lang.relational import analyze_block, apply_edits, referenced_tables
from heddle_lang.types import Schema
from tests.relational.test_seeds import SEED_BLOCKS

SCHEMAS = {
    "input": Schema.of({"user_id": pl.Int64(), "amount": pl.Float64(), "country": pl.String()}),
    "users": Schema.of({"id": pl.Int64(), "name": pl.String(), "email": pl.String()}),
    "events": Schema.of({"id": pl.Int64()}, open=True),
    "odd": Schema.of({"from": pl.Int64(), "a b": pl.String(), "é": pl.Boolean(), "x`y": pl.Int8(), "": None}),
}
TOKENS = [
    "from", "input", "users", "events", "odd", "select", "filter", "derive", "join", "group", "aggregate", "sort",
    "take", "window", "append", "loop", "where", "on", "and", "or", "not", "is", "null", "concat", "count", "sum",
    "this", "that", "side:left", "id", "amount", "name", "email", "user_id", "x", "=", "==", "!=", "<>", ">", "-",
    "+", "*", "/", "//", "~=", "&&", "||", "??", "..", "!", "(", ")", "{", "}", "[", "]", ",", ".", "|", "\n",
    "\n  ", " ", "\t", '"', "'", '"""', 'f"{id}"', 's"x"', 'r"\\"', '"a b"', "#", "# c\n", "`", "`a b`", "1", "0.5",
    "@2024-01-01", "3days", "é", "日本", "🚀", "\\", "\x00", "\ufeff", "\u200b", ";", "$", "^", "let", "prql", "case",
]
BLOCKS = 2000
SEED = int(os.environ.get("HEDDLE_FUZZ_SEED", "7"))


def check(query: str, is_source: bool) -> None:
    refs = referenced_tables(query)
    for ref in refs:
        assert 0 <= ref.offset <= ref.end <= len(query)
    analysis = analyze_block(query, SCHEMAS, is_source=is_source)
    for d in analysis.diagnostics:
        assert 0 <= d.start <= d.end <= len(query), (query, d)
        assert "internal error" not in d.message, (query, d)
        d.to_diagnostic(7, query)
        for fix in d.fixes:
            for start, end, _ in fix.edits:
                assert 0 <= start <= end <= len(query), (query, fix)
            apply_edits(query, fix.edits)
    if analysis.schema is None:
        assert any(d.is_error for d in analysis.diagnostics), (query, analysis)


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(text))
        choice = rng.random()
        if choice < 0.4:
            text = text[:at] + rng.choice(TOKENS) + text[at:]
        elif choice < 0.7:
            text = text[:at] + text[at + rng.randint(1, 6) :]
        else:
            end = min(len(text), at + rng.randint(1, 12))
            text = text[:at] + text[at:end] * 2 + text[end:]
    return text


def test_random_blocks_never_raise() -> None:
    rng = random.Random(SEED)
    seeds = [query for query, *_ in SEED_BLOCKS]
    for _ in range(BLOCKS):
        if rng.random() < 0.5:
            query = "".join(rng.choice(TOKENS) + rng.choice(("", " ")) for _ in range(rng.randint(0, 30)))
        else:
            query = mutate(rng, rng.choice(seeds))
        check(query, rng.random() < 0.2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=20), st.booleans())
def test_hypothesis_blocks_never_raise(parts: list[str], is_source: bool) -> None:
    check(" ".join(parts), is_source)
