"""The formatter never produces text the checker rejects: comments in every position of real programs.

The example programs are cut at every token boundary (after a token, or before one past its blanks);
hypothesis puts comments of each kind — `/* c */`, a block comment over several lines, `/**/`, a line
comment — at some of those places, with or without blanks around them, and line breaks of each kind
(`\\n`, `\\r\\n`, a lone `\\r`). Whenever the result parses, `heddle fmt` must give text that
- has no syntax (HE1) or layout (HE2) diagnostic,
- formats to itself,
- has the same plan as the input (comments change nothing a run does), and the same AST save for the
  aliases it adds.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heddle_engine.catalog import load_catalog
from heddle_lang.catalog import Catalog
from heddle_lang.check import check_tree
from heddle_lang.formatter import format_text
from heddle_lang.plan import Plan
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from tests.meaning import same_meaning

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.he") if p.is_file())
COMMENTS = ["/* c */", "/**/", "/* a\n   b */", "/* a\r\n b */", "// c\n", "// c\r\n", "// c\r"]
BLANKS = ["", " ", "\n", "  ", "\n  ", "\r\n    "]


@cache
def catalog(folder: Path) -> Catalog:
    return load_catalog(folder)


@cache
def boundaries(index: int) -> tuple[int, ...]:
    """Character offsets where a comment can go in example `index`: around every leaf token."""
    text = EXAMPLES[index].read_text(encoding="utf-8")
    tree = parse(text)
    data = tree.data
    places: set[int] = set()
    stack = [tree.root]
    while stack:
        node = stack.pop()
        if node.child_count == 0 or node.type in ("string", "relational_block", "multiline_string"):
            places.update((node.start_byte, node.end_byte))
            if node.type == "relational_block" and node.child_count:
                places.update((node.children[0].end_byte, node.children[-1].start_byte))
            continue
        stack.extend(node.children)
    return tuple(sorted(len(data[:p].decode()) for p in places))


@st.composite
def commented_programs(draw: st.DrawFn) -> tuple[int, str]:
    index = draw(st.integers(0, len(EXAMPLES) - 1))
    text = EXAMPLES[index].read_text(encoding="utf-8")
    places = boundaries(index)
    chosen = draw(st.lists(st.sampled_from(places), min_size=1, max_size=8, unique=True))
    for place in sorted(chosen, reverse=True):
        comment = draw(st.sampled_from(COMMENTS))
        before, after = draw(st.sampled_from(BLANKS)), draw(st.sampled_from(BLANKS))
        text = text[:place] + before + comment + after + text[place:]
    return index, text


def without_lines(plan: Plan) -> Plan:
    """The plan without the source line of each node (formatting may remove blank lines)."""
    return Plan(tuple(
        dataclasses.replace(graph, nodes=tuple(dataclasses.replace(node, line=0) for node in graph.nodes))
        for graph in plan.graphs
    ))


def front_end_problems(text: str) -> list[str]:
    return [f"{d.code} {d.message}" for d in check_tree(parse(text)) if d.code[:3] in ("HE1", "HE2")]


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(commented_programs())
def test_formatting_commented_programs_gives_text_the_checker_accepts(case: tuple[int, str]) -> None:
    index, text = case
    tree = parse(text)
    if tree.has_errors:  # a comment that breaks the syntax (inside a dotted name, ...): not a formatter case
        return
    formatted = format_text(text).text
    assert formatted is not None
    assert front_end_problems(formatted) == [], formatted
    assert format_text(formatted).text == formatted
    assert same_meaning(tree.ast, parse(formatted).ast)
    folder = catalog(EXAMPLES[index].parent)
    assert without_lines(analyze(parse(formatted), folder).plan) == without_lines(analyze(tree, folder).plan)


def test_the_generator_mostly_makes_programs_that_parse() -> None:
    """The property above is not vacuous: most generated programs parse and get formatted."""
    parsed = []

    @settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(commented_programs())
    def sample(case: tuple[int, str]) -> None:
        parsed.append(not parse(case[1]).has_errors)

    sample()
    assert sum(parsed) >= len(parsed) // 2, f"only {sum(parsed)} of {len(parsed)} generated programs parse"


def test_the_issue_cases() -> None:
    """The block-comment cases a fuzzing campaign found (each broke a layout rule after formatting)."""
    cases = [
        'import "std/io" io /* x\n  y */ // z\n\nworkflow W {\n  io.print\n}\n',
        'import "std/io" io\n\nworkflow W {\n  [{ a: 1 }]\n    | /* c */ io.print\n}\n',
        'import /**/ "std/io" io\nimport "std/io" io2\n',
        'import "fhub/sqlite" db\n\nresource r = db.connection {\n  path: /* c */ "x.db"\n}\n',
        '/* legacy */ import "std/io" io\n',
        'workflow W {\n  /* a */ io.print\n  /* b */ io.print /* c */ }\n',
    ]
    for text in cases:
        formatted = format_text(text).text
        assert formatted is not None
        assert front_end_problems(formatted) == [], formatted
        assert format_text(formatted).text == formatted
        assert same_meaning(parse(text).ast, parse(formatted).ast)
