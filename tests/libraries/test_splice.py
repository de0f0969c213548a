"""An edit analysed from the analysis of the version before it (`semantic.splice`) is analysed as a fresh analysis
does: random sequences of edits that keep the text mostly valid — a step used elsewhere changed (its callers checked
again), a use added or removed (a name becoming unused or used), a declaration renamed, duplicate names appearing and
disappearing, lines moved — each compared after every step with a fresh analysis of the same text."""

from __future__ import annotations

import gc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heddle_engine.catalog import load_catalog
from heddle_engine.project import path_policy
from heddle_lang import layout
from heddle_lang.diagnostic_runs import DiagnosticRuns, Run
from heddle_lang.semantic import analyze
from heddle_lang.semantic.model import Analysis, Definition
from heddle_lang.syntax import SyntaxTree, ast, parse, structure
from tests.libraries.test_incremental import summary

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
CATALOG = load_catalog(EXAMPLES)
FILE = (EXAMPLES / "splice" / "app.he").resolve().as_posix()  # never written: the text lives in memory
PATHS = path_policy(Path(FILE), CATALOG.project)

DOC = """import "std/io" io
import "fhub/kafka" kafka

resource broker = kafka.connection {
  broker: "localhost:9092"
}

resource spare = kafka.connection {
  broker: "localhost:9093"
}

step show = io.print

step warn = io.stderr

step publish = <broker=broker> kafka.produce {
  topic: "out"
}

handler alert {
  *
    | warn
}

workflow Main ? alert {
  [
    { id: 1, amount: 10.5 },
  ]
    > rows
  rows
    | (from input filter amount > 15)
    | show
  rows
    | publish
}

workflow Second {
  [
    { id: 3 },
  ]
    | show
}
"""

# (what, what replaces it) at one of its occurrences
SUBSTITUTIONS = [
    ("    | show\n", "    | warn\n"), ("    | warn\n", "    | show\n"), ("    | show\n", ""), ("    | publish\n", ""),
    ("  rows\n", "  rows\n    | publish\n"), ("| publish", "| show"), ("<broker=broker>", "<broker=spare>"),
    ("<broker=spare>", "<broker=broker>"), ("io.print", "io.stderr"), ("io.stderr", "io.print"),
    ("step warn", "step show"), ("step show", "step warn"), ("step publish", "step shown"), ("shown", "publish"),
    ("resource spare", "resource broker"), ("resource broker", "resource spare"),
    ("workflow Second", "workflow Main"), ("workflow Main", "workflow Third"), ("? alert", ""),
    ("workflow Second {", "workflow Second ? alert {"), ("\n", " \n"), (" \n", "\n"), ("\n\n", "\n\n\n"),
    ("\n\n\n", "\n\n"), ("amount > 15", "amount > 16"), ("localhost:9092", "localhost:1"), ("> rows\n", "> rows2\n"),
    ("{ id: 3 },", "{ id: 3, x: 1 },"), ('topic: "out"', 'topic: "in"'), ("    | warn\n", "    | missing\n"),
    ("    | missing\n", "    | warn\n"), ("kafka.produce", "kafka.producer"), ("io.print", "io.printer"),
    ("step warn = io.stderr\n", ""), ("\nstep show", "\nstep late = io.print\n\nstep show"),
]


def edited(tree: SyntaxTree, where: float, which: int) -> SyntaxTree:
    old, new = SUBSTITUTIONS[which]
    data = tree.data
    found = []
    at = data.find(old.encode())
    while at >= 0:
        found.append(at)
        at = data.find(old.encode(), at + 1)
    if not found:
        return tree
    start = found[min(len(found) - 1, int(where * len(found)))]
    return tree.edit(start, start + len(old.encode()), new)


def analysed(tree: SyntaxTree, previous: Analysis | None) -> Analysis:
    return analyze(tree, CATALOG, paths=PATHS, file=FILE, previous=previous)


def local(analysis: Analysis) -> tuple[object, ...]:
    """What the analysis recorded inside each declaration, and what its name stands for, as a question about one place
    reads them."""
    out = []
    for placed in analysis.tree.outline.placed:
        base = placed.base
        name = base.alias if isinstance(base, ast.Import) else base.name
        out.append((analysis.within(placed.span), analysis.declared(name.text) if name is not None else None))
    return tuple(out)


def unplaced(definitions: tuple[Definition, ...]) -> list[tuple[str, str, str, str | None]]:
    """What `Analysis.declarations_as_built` promises of each declaration: all but where it stands."""
    return [(d.name, d.kind, d.detail, d.doc) for d in definitions]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, len(SUBSTITUTIONS) - 1), st.booleans()),
                min_size=1, max_size=12))
def test_spliced_analyses_are_fresh_analyses(edits: list[tuple[float, int, bool]]) -> None:
    tree = parse(DOC)
    analysis = analysed(tree, None)
    for where, which, read_first in edits:
        if read_first:  # a request read the whole lists before the edit (their places made then)
            summary(analysis)
        tree = edited(tree, where, which)
        analysis = analysed(tree, analysis)
        layout.forget()
        structure.forget()
        fresh = analysed(parse(tree.text), None)
        assert local(analysis) == local(fresh)
        assert summary(analysis) == summary(fresh)
        assert analysis.resources == fresh.resources
        assert analysis.readers(fresh.declarations()[0]) == fresh.readers(fresh.declarations()[0])
        assert unplaced(analysis.declarations_as_built()) == unplaced(fresh.declarations())


def test_an_edit_inside_a_step_checks_its_callers_again_and_reuses_the_rest() -> None:
    tree = parse(DOC)
    before = analysed(tree, None)
    edit = tree.data.index(b"<broker=broker>") + len("<broker=")
    after = analysed(tree.edit(edit, edit + len("broker"), "spare"), before)
    assert before.reusable is not None and after.reusable is not None
    old, new = before.reusable.state, after.reusable.state
    assert old is not None and new is not None  # spliced: the state of the edited version made from the previous one
    names = [entry.name for entry in new.entries]
    again = {name for name, o, n in zip(names, old.entries, new.entries, strict=True) if o is not n}
    # the step, its caller, what is made at every edit (the imports), and the resources it no longer and now reads
    assert again == {"publish", "Main", "io", "kafka", "broker", "spare"}
    assert [d.message for d in after.diagnostics if d.code == "HE3012"] == ["the resource `broker` is never used"]
    assert summary(after) == summary(analysed(parse(after.tree.text), None))


def test_the_diagnostics_after_an_edit_are_those_of_the_version_before_moved_by_its_length() -> None:
    """A spliced analysis's diagnostics are runs of the tuple the full path made (`DiagnosticRuns`), moved by the edits
    since, where the language server finds which of its conversions still hold."""
    tree = parse(DOC)
    before = analysed(tree, None)
    assert [d.code for d in before.diagnostics] == ["HE3012"]  # the resource `spare`, after the broker's config
    edit = tree.data.index(b"9092")
    after = analysed(tree.edit(edit, edit, "1"), before)
    assert isinstance(after.diagnostics, DiagnosticRuns)
    assert after.diagnostics.runs == (Run(before.diagnostics, 0, 1, 1),)
    again = analysed(after.tree.edit(edit, edit + 1, "22"), after)
    assert isinstance(again.diagnostics, DiagnosticRuns)
    assert again.diagnostics.runs == (Run(before.diagnostics, 0, 1, 2),)
    assert again.diagnostics.runs[0].source is after.diagnostics.runs[0].source is before.diagnostics
    assert again.diagnostics == analysed(parse(again.tree.text), None).diagnostics


def test_the_versions_an_edit_lets_go_leave_no_cycle_for_the_collector() -> None:
    """The language server defers the cyclic collector until the user pauses (`QuietCollector`): a version that only
    that collector could free stays resident through a whole burst of edits."""
    tree = parse(DOC)
    analysis = analysed(tree, None)
    summary(analysis)  # its lists read, as requests read them
    gc.collect()
    gc.disable()
    try:
        for where, which in ((0.0, 20), (0.0, 21), (0.5, 24), (0.5, 23)):
            tree = edited(tree, where, which)
            analysis = analysed(tree, analysis)
            summary(analysis)
            assert analysis.reusable is not None and analysis.reusable.state is not None  # spliced
        del analysis, tree
        assert gc.collect() == 0
    finally:
        gc.enable()
