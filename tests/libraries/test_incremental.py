"""Incremental analysis is fresh analysis: random edits across a library and two files importing it, each
file analysed after every step through one long-lived `Workspace` (reusing what the edit did not touch, as the
language server does, its relational blocks read from the records a disk cache would keep) and through a new one
(nothing kept), with the same diagnostics, plan and uses; also when the long-lived workspace's analyses of some
versions were abandoned part-way, as the language server abandons a version the next change replaces."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heddle_engine.catalog import load_catalog
from heddle_engine.project import path_policy
from heddle_lang import layout, relational
from heddle_lang.paths import PathPolicy
from heddle_lang.relational.stored import stored_in
from heddle_lang.semantic import AnalysisCancelled
from heddle_lang.semantic.model import Analysis
from heddle_lang.semantic.workspace import Workspace
from heddle_lang.syntax import SyntaxTree, parse, structure

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
CATALOG = load_catalog(EXAMPLES)
FOLDER = (EXAMPLES / "incremental").resolve().as_posix()  # never written: the texts live in memory

LIBRARY = """import "std/io" io
import "fhub/kafka" kafka

resource hub = kafka.connection {
  broker: "localhost:9092"
}

step report = io.stderr

step shout = io.print

handler alert {
  *
    | report
}
"""

APP = """import "std/io" io
import "./platform.he" platform
import "fhub/kafka" kafka

resource broker = kafka.connection {
  broker: "localhost:9092"
}

step show = io.print

step publish = <broker=broker> kafka.produce {
  topic: "out"
}

step relay = <broker=platform.hub> kafka.produce {
  topic: "relayed"
}

workflow Main ? platform.alert {
  [
    { id: 1, amount: 10.5 },
    { id: 2, amount: 20.0 },
  ]
    > rows
  rows
    | (from input filter amount > 15)
    | show
  rows
    | platform.report ? platform.alert
}

workflow Second {
  [
    { id: 3 },
  ]
    | platform.shout
    | io.print
}

workflow Third {
  [
    { id: 4 },
  ]
    | publish
}

workflow Fourth {
  [
    { id: 5 },
  ]
    | relay
}
"""

OTHER = """import "std/io" io
import "./platform.he" platform

workflow Other ? platform.alert {
  [
    { name: "ada" },
  ]
    | (select {name})
    | platform.shout
}
"""

FILES = {f"{FOLDER}/platform.he": LIBRARY, f"{FOLDER}/app.he": APP, f"{FOLDER}/other.he": OTHER}
SNIPPETS = [" ", "x", "\n", "\t", "  ", "}\n", " {", "\n  ", "| ", "_", "r", "report", "platform.",
            "| io.print\n", "{", "}", "(", ")", "> rows\n", "?", "alert", "show", "\n  rows\n    | show\n",
            "workflow W {\n  rows\n}\n", "step extra = io.print\n", " filter amount > 1", "select {id} ", "amount",
            "join show (==id) ",
            "<broker=broker> ", "broker", "hub", "<broker=platform.hub> ",
            "kafka.", " topic: \"t\"\n", "resource r = kafka.connection {}\n"]


class RecordStore:
    def __init__(self) -> None:
        self.records: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.records.get(key)

    def put(self, key: str, record: str) -> None:
        self.records[key] = record


def paths(file: str) -> PathPolicy:
    return path_policy(Path(file), CATALOG.project)


def summary(analysis: Analysis) -> tuple[object, ...]:
    uses = tuple((u.name, u.span, None if u.target is None else (u.target.name, u.target.kind, u.target.span,
                                                                  u.target.file)) for u in analysis.uses)
    stages = tuple((s.span, str(s.schema), s.label) for s in analysis.stage_types)
    bindings = tuple((b.span, b.module_path, b.function is None, b.resource is None) for b in analysis.bindings)
    nodes = tuple((g.name, tuple((n.id, n.span, n.line) for n in g.nodes)) for g in analysis.plan.graphs)
    # spans included: every place a reused result was moved to
    return (analysis.diagnostics, analysis.plan.explain(), nodes, uses, stages, bindings, analysis.definitions,
            repr(analysis.tree.ast))


# An edit, and whether the long-lived workspace's analysis of it is abandoned (None: not), after how many of its
# checkpoints: the language server cancels the analysis of a version the next change replaces, wherever it is.
edit = st.tuples(st.sampled_from(sorted(FILES)), st.floats(0, 1), st.integers(0, 6),
                 st.sampled_from(SNIPPETS), st.none() | st.integers(0, 40))


def after(checkpoints: int) -> Callable[[], bool]:
    """A `cancelled` that answers True from its call number `checkpoints` (0-based) on."""
    asked = itertools.count()
    return lambda: next(asked) >= checkpoints


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edit, min_size=1, max_size=8))
def test_random_edits_analyse_as_a_fresh_analysis_does(edits: list[tuple[str, float, int, str, int | None]]) -> None:
    texts = dict(FILES)
    trees: dict[str, SyntaxTree] = {file: parse(text) for file, text in texts.items()}
    kept = Workspace(CATALOG, texts.get, paths)
    store = RecordStore()  # what a disk cache keeps between processes
    with stored_in(store):
        for file in texts:
            kept.analyze(file, trees[file])
    for step, (file, where, removed, inserted, abandoned) in enumerate(edits):
        tree = trees[file]
        start = int(where * len(tree.data))
        while 0 < start < len(tree.data) and (tree.data[start] & 0xC0) == 0x80:  # a character boundary
            start -= 1
        end = min(len(tree.data), start + removed)
        while end < len(tree.data) and (tree.data[end] & 0xC0) == 0x80:
            end += 1
        trees[file] = tree.edit(start, end, inserted)
        texts[file] = trees[file].text
        if abandoned is not None and step < len(edits) - 1:  # the next edit comes before this version's results
            with stored_in(store), contextlib.suppress(AnalysisCancelled):
                kept.analyze(file, trees[file], after(abandoned))
            continue
        relational.cache_clear()  # the kept analyses' blocks come from the store's records where it has them
        with stored_in(store):
            kept_results = {each: summary(kept.analyze(each, trees[each])) for each in texts}
        layout.forget()  # the layout and structure of each declaration computed again, not remembered
        structure.forget()
        relational.cache_clear()  # and every block typed anew
        fresh = Workspace(CATALOG, texts.get, paths)
        for each, text in texts.items():
            assert kept_results[each] == summary(fresh.analyze(each, parse(text)))


@pytest.mark.parametrize(("old", "new"), [("hub =", "hubx ="), ("io.stderr", "io.print"), ("    | report\n", "")])
def test_a_library_edit_makes_again_what_reads_the_library_and_reuses_the_rest(old: str, new: str) -> None:
    """After a library edit its importer's results that read the library (directly, or through a step that injects
    its resource) are made again, equal to a fresh analysis's; those that read nothing of it are the same objects."""
    library, app = f"{FOLDER}/platform.he", f"{FOLDER}/app.he"
    texts = dict(FILES)
    kept = Workspace(CATALOG, texts.get, paths)
    before = kept.analyze(app, parse(texts[app]))
    kept.analyze(library, parse(texts[library]))
    texts[library] = texts[library].replace(old, new, 1)
    after = kept.analyze(app, parse(texts[app]))
    assert summary(after) == summary(Workspace(CATALOG, texts.get, paths).analyze(app, parse(texts[app])))
    assert before.reusable is not None and after.reusable is not None
    again = {key for key, result in after.reusable.results.items() if before.reusable.results.get(key) is not result}
    assert {key.split(b" ")[1] for key in again} == {b"Main", b"Second", b"Fourth"}


def test_the_tree_given_stands_for_its_file_while_read_gives_a_newer_text() -> None:
    """The language server analyses the version it was asked about while the editor has moved on."""
    file = f"{FOLDER}/app.he"
    texts = dict(FILES)
    kept = Workspace(CATALOG, texts.get, paths)
    tree = parse(APP)
    before = kept.analyze(file, tree).reusable
    edited = tree.edit(0, 0, "\n")  # every declaration moved, none changed
    texts[file] = edited.text + "\nstep later = io.print\n"  # the next keystrokes, already in the open document
    analysis = kept.analyze(file, edited)
    assert analysis.tree is edited
    assert before is not None and analysis.reusable is not None and before.results
    # What the edit did not touch is the previous analysis's (it was analysed as the next version of the file).
    assert all(result is before.results[key] for key, result in analysis.reusable.results.items())
    texts[file] = edited.text
    assert summary(analysis) == summary(Workspace(CATALOG, texts.get, paths).analyze(file, parse(edited.text)))
