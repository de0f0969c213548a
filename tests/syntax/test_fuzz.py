"""Mutation fuzzing: 10,000 damaged versions of the example programs through the whole front end.

Each edit mutates an example program (or the previous mutant, so damage accumulates): delete a
range, duplicate a range, insert random tokens, swap two lines, truncate. Every result goes through
`parse`, `check_tree`, the AST and `format_tree`; none may raise. When formatting succeeds, the
formatted text must format to itself and parse to the same AST as the input.

Failures are collected, not stopped at: the assertion lists each kind once, with its shortest input
shrunk further, so the message is a ready-made regression case.
"""

from __future__ import annotations

import os
import random
import traceback
from collections.abc import Callable
from pathlib import Path

from heddle_engine.catalog import load_catalog
from heddle_lang.check import check_tree
from heddle_lang.formatter import format_text, format_tree
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from tests.meaning import same_meaning

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.he") if p.is_file())
SOURCES = [p.read_text(encoding="utf-8") for p in EXAMPLES]
CATALOG = load_catalog(ROOT / "examples")

EDITS = 10_000
CHECKER_EDITS = 10_000  # through the whole analysis too
SEED = int(os.environ.get("HEDDLE_FUZZ_SEED", "1234"))  # other seeds explore further

TOKENS = [
    *"{}()[]<>|?=:,*.\"'#/\\-+",
    "\n", "\n", "\n  ", "\n    | ", " ", "  ", "\t", "\r\n", "\r",
    "x", "id", "users", "pg_db", "io.print", "kafka.produce", "from input", "select id, email", "filter a > 1",
    "import", "resource", "step", "handler", "workflow", "true", "false", "null", "True", "nil",
    "0", "42", "-1.5e3", '""', '"""', '"a b"', '"\\n"', '"\\q"', "//", "/*", "*/", "# c", "\\u00e9",
    "é", "日本", "🚀", "👋🏽", "\u200b", "\x00", "\ufeff",
    "<connection=pg_db>", "<>", "{ topic: \"t\" }", "{ a: [1, 2] }", "(from input)", "[{ id: 1 }]", "> out",
    "? on_fail", "*\n    | io.stderr",
]


# --- mutations -----------------------------------------------------------------------------------


def _range(rng: random.Random, text: str) -> tuple[int, int]:
    start = rng.randint(0, len(text))
    return start, min(len(text), start + rng.choice([1, 2, 5, 20, 80]))


def delete_range(rng: random.Random, text: str) -> str:
    start, end = _range(rng, text)
    return text[:start] + text[end:]


def duplicate_range(rng: random.Random, text: str) -> str:
    start, end = _range(rng, text)
    at = rng.randint(0, len(text))
    return text[:at] + text[start:end] + text[at:]


def insert_tokens(rng: random.Random, text: str) -> str:
    at = rng.randint(0, len(text))
    tokens = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 4)))
    return text[:at] + tokens + text[at:]


def swap_lines(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randint(0, len(text))]


MUTATIONS: list[Callable[[random.Random, str], str]] = [
    delete_range, duplicate_range, insert_tokens, insert_tokens, swap_lines, truncate,
]


def mutants(rng: random.Random, count: int) -> list[str]:
    """`count` mutants; about half continue from the previous one (at most 6 edits deep)."""
    out: list[str] = []
    text, depth = rng.choice(SOURCES), 0
    for _ in range(count):
        if depth >= 6 or rng.random() < 0.5:
            text, depth = rng.choice(SOURCES), 0
        text = rng.choice(MUTATIONS)(rng, text)
        depth += 1
        out.append(text)
    return out


# --- the property --------------------------------------------------------------------------------


def problem(text: str) -> str | None:
    """What goes wrong with `text` in the front end, or None."""
    try:
        tree = parse(text)
        check_tree(tree)
        module = tree.ast
        result = format_tree(tree)
        if result.text is None:
            return None
        again = format_text(result.text)
        if again.text is None:
            return "formatted text does not format: " + "; ".join(f"{d.code} {d.message}" for d in again.errors)
        if again.text != result.text:
            return "not idempotent: fmt(fmt(x)) != fmt(x)"
        formatted = parse(result.text)
        if not same_meaning(module, formatted.ast):
            return "formatting changed the AST"
        layout = [d for d in check_tree(formatted) if d.code.startswith("HE2")]
        if layout:
            return f"formatted text breaks the layout rules: {layout[0].code} {layout[0].message}"
    except Exception as error:  # the whole point: nothing may raise
        frame = traceback.extract_tb(error.__traceback__)[-1]
        return f"{type(error).__name__} at {Path(frame.filename).name}:{frame.lineno}: {error}"
    return None


def _kind(message: str) -> str:
    """The failure without its details: the exception and where it was raised, or the broken property."""
    return message.split(": ", maxsplit=1)[0]


def shrink(text: str, still_fails: Callable[[str], bool]) -> str:
    """A greedy reduction of `text` (lines, then characters) that keeps `still_fails` true."""
    for unit in ("lines", "chars"):
        parts = text.splitlines(keepends=True) if unit == "lines" else list(text)
        chunk = max(1, len(parts) // 2)
        while chunk >= 1:
            i = 0
            while i < len(parts):
                candidate = parts[:i] + parts[i + chunk :]
                if candidate and still_fails("".join(candidate)):
                    parts = candidate
                else:
                    i += chunk
            chunk //= 2
        text = "".join(parts)
    return text


def checker_problem(text: str) -> str | None:
    """What goes wrong when the whole checker (names, resources, types, PRQL, plan) reads `text`."""
    try:
        analysis = analyze(parse(text), CATALOG)
        analysis.plan.explain()
        analysis.plan.to_json()
        internal = [d for d in analysis.diagnostics if d.code.startswith("HE9")]
        if internal:
            return f"internal error: {internal[0].message}"
    except Exception as error:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        return f"{type(error).__name__} at {Path(frame.filename).name}:{frame.lineno}: {error}"
    return None


def test_mutated_examples_never_break_the_checker() -> None:
    """The same kind of mutants through the whole analysis: nothing raises, no internal error."""
    rng = random.Random(SEED + 1)
    texts = mutants(rng, CHECKER_EDITS)
    failures = [(message, text) for text in texts if (message := checker_problem(text)) is not None]
    if failures:
        message, text = min(failures, key=lambda f: len(f[1]))
        small = shrink(text, lambda t: checker_problem(t) is not None)
        raise AssertionError(f"{len(failures)} of {CHECKER_EDITS} mutants failed, e.g. {message}\n"
                             f"    minimal input: {small!r}")


def test_mutated_examples_never_break_the_front_end() -> None:
    rng = random.Random(SEED)
    texts = mutants(rng, EDITS)
    assert len(texts) == EDITS
    failures: dict[str, list[str]] = {}
    for text in texts:
        message = problem(text)
        if message is not None:
            failures.setdefault(_kind(message), []).append(text)
    if not failures:
        return
    report = []
    for kind, inputs in sorted(failures.items()):
        shortest = min(inputs, key=len)
        small = shrink(shortest, lambda t, kind=kind: _kind(problem(t) or "") == kind)
        report.append(f"{len(inputs)} x {problem(small)}\n    minimal input: {small!r}")
    raise AssertionError(f"{sum(map(len, failures.values()))} of {EDITS} edits failed:\n" + "\n".join(report))
