"""Incremental reparsing (`SyntaxTree.edit`) gives exactly the tree a fresh `parse` gives.

Random edits — insertions, deletions and replacements of Heddle-flavoured text, non-ASCII included —
at random character boundaries of the example programs, applied one after the other, each on the
previous tree. The final tree must match a fresh parse of the final text: S-expression, every node's
type, byte range, points and flags, and every diagnostic (`check_tree`: syntax and layout).
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate
from heddle_lang.check import check_tree
from heddle_lang.syntax import SyntaxTree, parse
from heddle_lang.text import LineIndex

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.he") if p.is_file())
SOURCES = [p.read_text(encoding="utf-8") for p in EXAMPLES]

# What people type into a Heddle file, and a few things they should not.
FRAGMENTS = [
    *"{}()[]<>|?=:,*\".#/\\-+_0123456789",
    "\n", "\n", "\n  ", "\n    | ", " ", " ", "  ", "\t", "\r\n",
    "a", "x", "id", "users", "pg_db", "io.print", "kafka.produce", "from input", "select id, email",
    "import", "resource", "step", "handler", "workflow", "true", "false", "null", "filter",
    '"', '""', '"""', "//", "/*", "*/", "# c\n", "\\n", "\\u00e9", "'", "1.5e3",
    "é", "日本", "ü", "🚀", "👋🏽", "\u200b",
    'import "std/io" io\n', 'step s = pg.query { query: "q" }\n', "workflow W {\n  a\n    | b\n}\n",
    "<connection=pg_db>", '{ topic: "t" }', "(from input)", "[{ id: 1 }]", "> out", "? on_fail",
]

fragment_text = st.lists(st.sampled_from(FRAGMENTS), min_size=0, max_size=6).map("".join)

NodeRow = tuple[str, int, int, tuple[int, int], tuple[int, int], bool, bool]


def nodes(tree: SyntaxTree) -> list[NodeRow]:
    """Every node of the tree in document order, with its range, its points and its error flags."""
    out: list[NodeRow] = []
    cursor = tree.root.walk()
    while True:
        node = cursor.node
        assert node is not None
        out.append((node.type, node.start_byte, node.end_byte, tuple(node.start_point), tuple(node.end_point),
                    node.is_missing, node.is_error))
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while cursor.goto_parent():
            if cursor.goto_next_sibling():
                break
        else:
            return out


def diagnostics(tree: SyntaxTree) -> list[tuple[str, int, int, str]]:
    return [(d.code, d.span.start, d.span.end, d.message) for d in check_tree(tree)]


def same_tree(incremental: SyntaxTree, fresh: SyntaxTree) -> bool:
    return str(incremental.root) == str(fresh.root) and nodes(incremental) == nodes(fresh)


def assert_same_tree(incremental: SyntaxTree, fresh: SyntaxTree) -> None:
    assert incremental.data == fresh.data
    assert incremental.text == fresh.text
    assert str(incremental.root) == str(fresh.root)
    assert nodes(incremental) == nodes(fresh)


def byte_offset(text: str, char_index: int) -> int:
    return len(text[:char_index].encode("utf-8"))


def edited(data: st.DataObject, *, lower_each: bool = False, index_each: bool = False,
           check_some: bool = False) -> tuple[SyntaxTree, str]:
    """An example program after 1-8 random edits, each reparsed incrementally; and its final text.
    `lower_each`: each version's AST is built before the next edit (so the next one reuses what it can);
    `index_each`: each version's line index is (so the next one edits it); `check_some`: some versions (drawn) are
    checked before the next edit, so that a later one splices their outline and diagnostics
    (`SyntaxTree.region`), through the versions skipped between."""
    text = data.draw(st.sampled_from(SOURCES), label="source")
    tree = parse(text)
    for _ in range(data.draw(st.integers(1, 8), label="edits")):
        if lower_each:
            assert tree.ast is not None
        if index_each:
            assert tree.lines.line_count > 0
        if check_some and data.draw(st.booleans(), label="checked"):
            assert tree.outline is not None
            check_tree(tree)
        start = data.draw(st.integers(0, len(text)), label="start")
        kind = data.draw(st.sampled_from(["insert", "delete", "replace"]), label="kind")
        end = start if kind == "insert" else data.draw(st.integers(start, min(len(text), start + 40)), label="end")
        new = "" if kind == "delete" else data.draw(fragment_text, label="new")
        # Offsets are bytes at character boundaries: what an editor sends once it has converted positions.
        tree = tree.edit(byte_offset(text, start), byte_offset(text, end), new)
        text = text[:start] + new + text[end:]
    return tree, text


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(data=st.data())
def test_incremental_tree_matches_a_fresh_parse(data: st.DataObject) -> None:
    tree, text = edited(data)
    assert_same_tree(tree, parse(text))


@PROPERTY
@given(data=st.data())
def test_incremental_diagnostics_match_a_fresh_parse(data: st.DataObject) -> None:
    """With the trees equal (the test above), the diagnostics must be equal too.

    The two halves of "the same as a fresh parse" are separate tests so that the trees diverging and
    the diagnostics depending on more than the tree and the text are reported separately.
    """
    tree, text = edited(data)
    fresh = parse(text)
    if same_tree(tree, fresh):
        assert diagnostics(tree) == diagnostics(fresh)


@PROPERTY
@given(data=st.data())
def test_diagnostics_and_ast_spliced_from_an_earlier_version_match_a_fresh_parse(data: st.DataObject) -> None:
    tree, text = edited(data, check_some=True)
    fresh = parse(text)
    if same_tree(tree, fresh):
        assert diagnostics(tree) == diagnostics(fresh)
        assert repr(tree.ast) == repr(fresh.ast)


def test_an_edit_inside_a_declaration_splices_the_rest_of_the_outline() -> None:
    text = generate(400, seed=1)
    tree = parse(text)
    check_tree(tree)
    before = tree.outline.placed
    middle = text.index("\n", len(text) // 2)
    offset = byte_offset(text, middle)
    after = tree.edit(offset, offset, " ")
    region = after.region
    assert region is not None and region.end - region.start < len(text) // 10  # a few lines, not the file
    placed = after.outline.placed
    assert placed[0] is before[0]  # before the edit: the same declarations
    assert [p.text for p in placed] == [p.text for p in parse(text[:middle] + " " + text[middle:]).outline.placed]
    assert diagnostics(after) == diagnostics(parse(text[:middle] + " " + text[middle:]))


@pytest.mark.parametrize("at", ["start", "end"])
def test_an_edit_that_changes_nothing_leaves_the_next_edits_region_its_own(at: str) -> None:
    """A whole-text change to the same text (a client's reload) is an empty edit: it gives the same version, so an edit
    after it splices its own lines, not everything between it and the empty edit's place."""
    text = generate(400, seed=1)
    tree = parse(text)
    check_tree(tree)
    place = 0 if at == "start" else len(tree.data)
    assert tree.edit(place, place, "") is tree
    offset = byte_offset(text, text.index("\n", len(text) // 2))
    after = tree.edit(place, place, "").edit(offset, offset, " ")
    region = after.region
    assert region is not None and region.end - region.start < len(text) // 10


@pytest.mark.parametrize("inserted", ["}\n\nworkflow Split {\n  [{ id: 1 }]\n    | io.print\n", " // a note", "\n"])
def test_an_edit_that_stays_inside_one_declaration_or_splits_it_splices_as_a_fresh_parse(inserted: str) -> None:
    """Inside one top-level node of the same type and extent before and after, only its bytes are read again; an edit
    that makes two declarations of one (as many nodes no more) is compared node by node as before."""
    text = 'import "std/io" io\n\nworkflow A {\n  [{ id: 1 }]\n    | io.print\n}\n\nworkflow B {\n  [{ id: 2 }]\n' \
           "    | io.print\n}\n"
    tree = parse(text)
    check_tree(tree)
    offset = text.index("    | io.print\n}\n\nworkflow B") + len("    | io.print")
    after = tree.edit(offset, offset, inserted)
    fresh = parse(text[:offset] + inserted + text[offset:])
    assert same_tree(after, fresh)
    assert after.region is not None
    assert diagnostics(after) == diagnostics(fresh)
    assert [p.text for p in after.outline.placed] == [p.text for p in fresh.outline.placed]


def test_a_checked_version_lets_go_of_the_version_it_spliced_from() -> None:
    """Else a long editing session would keep every version of the text."""
    text = generate(300, seed=2)
    tree = parse(text)
    check_tree(tree)
    versions = [tree.data]
    offset = byte_offset(text, text.index("\n", len(text) // 2))
    for index in range(6):
        tree = tree.edit(offset, offset, " ") if index % 2 == 0 else tree.edit(offset, offset + 1, "")
        check_tree(tree)
        versions.append(tree.data)
    gc.collect()
    alive = [t for t in gc.get_objects() if isinstance(t, SyntaxTree) and t is not tree]
    assert not any(t.data in versions for t in alive)


@PROPERTY
@given(data=st.data())
def test_an_ast_that_reuses_the_previous_versions_declarations_equals_a_fresh_one(data: st.DataObject) -> None:
    """Spans included (the AST's equality ignores them; its repr does not)."""
    tree, text = edited(data, lower_each=True)
    assert repr(tree.ast) == repr(parse(text).ast)


@PROPERTY
@given(data=st.data())
def test_an_edited_line_index_equals_a_fresh_one(data: st.DataObject) -> None:
    tree, _ = edited(data, index_each=True)
    assert_same_index(tree.lines, LineIndex(tree.data))


def assert_same_index(lines: LineIndex, fresh: LineIndex, *, starts: bool = True) -> None:
    """`lines` answers as `fresh` does, read before its line starts are asked for (`starts`: then those too, which
    moves them all)."""
    offsets = range(0, len(fresh.data) + 1, 7)
    assert [lines.place(offset) for offset in offsets] == [fresh.place(offset) for offset in offsets]
    assert [lines.line_of(offset) for offset in offsets] == [fresh.line_of(offset) for offset in offsets]
    assert [lines.position(offset) for offset in offsets] == [fresh.position(offset) for offset in offsets]
    assert [lines.line_span(line) for line in range(fresh.line_count)] == \
        [fresh.line_span(line) for line in range(fresh.line_count)]
    if starts:
        assert lines.line_starts == fresh.line_starts


def test_line_indexes_edited_in_one_line_then_in_others_equal_fresh_ones() -> None:
    """Edits that add or remove no line break move the lines after them by reference (`LineIndex.edited`): typed in
    one line (a character beyond ASCII, then gone again), then in an earlier one (a tab), a later one, with a line
    break, and back, the tab gone; each version read without its line starts, then the last one with them."""
    data = generate(300, seed=2).encode("ascii", errors="ignore")
    lines = LineIndex(data)
    middle = data.index(b"\n", len(data) // 2)
    edits = [(middle, middle, b"ab"), (middle + 2, middle + 2, "é".encode()), (middle + 2, middle + 4, b""),
             (middle, middle + 1, b""), (middle // 2, middle // 2, b"\t"), (middle + 40, middle + 40, b"x"),
             (middle, middle, b"\n  "), (middle + 3, middle + 3, b"z"), (middle // 2, middle // 2 + 1, b""),
             (10, 12, b"")]
    for step, (start, end, new) in enumerate(edits):
        data = data[:start] + new + data[end:]
        lines = lines.edited(data, start, end, new)
        assert_same_index(lines, LineIndex(data), starts=step == len(edits) - 1)


def test_unchanged_declarations_before_an_edit_are_reused_not_lowered_again() -> None:
    text = generate(200, seed=0)
    tree = parse(text)
    before = tree.ast.declarations
    middle = len(text) // 2
    offset = byte_offset(text, middle)
    after = tree.edit(offset, offset, " ").ast.declarations
    reused = [a is b for a, b in zip(before, after, strict=False)]
    assert reused[0] and not all(reused)  # the first ones are the same objects; those after the edit moved
    assert repr(after) == repr(parse(text[:middle] + " " + text[middle:]).ast.declarations)


@pytest.mark.parametrize(
    ("where", "new"),
    [
        ("name", "x"),  # inside an identifier
        ("line", "// a comment\n"),  # a whole new line
        ("line", "é🚀"),  # non-ASCII bytes that break a declaration
        ("line", "workflow W {\n"),  # an unclosed block swallowing what follows
    ],
)
def test_single_insertion_in_the_middle_of_a_large_file(where: str, new: str) -> None:
    text = generate(1000, seed=0)
    tree = parse(text)
    assert check_tree(tree) == []
    middle = sum(len(line) for line in text.splitlines(keepends=True)[:500])  # the start of line 501
    if where == "name":
        middle = text.index("_", middle)
    offset = byte_offset(text, middle)
    after = tree.edit(offset, offset, new)
    fresh = parse(text[:middle] + new + text[middle:])
    assert_same_tree(after, fresh)
    assert diagnostics(after) == diagnostics(fresh)
    # And back: undoing the edit gives the original tree again.
    undone = after.edit(offset, offset + len(new.encode("utf-8")), "")
    assert_same_tree(undone, tree)
    assert check_tree(undone) == []


def test_the_declarations_around_an_offset_are_found_by_place() -> None:
    text = "step a = io.print\nstep b = io.print\n\nworkflow W {\n  [\n    { id: 1 },\n  ]\n    | a\n}\n"
    outline = parse(text).outline
    names = [[p.decl.name.text for p in outline.around(offset) if p.decl.name is not None]
             for offset in (0, text.index("\nstep b"), text.index("step b"), text.index("\n\n") + 1,
                            text.index("| a"), len(text))]
    assert names == [["a"], ["a"], ["b"], [], ["W"], []]


def test_an_edit_that_takes_away_a_declarations_documentation_lowers_it_anew() -> None:
    text = 'import "std/io" io\n\n// Where the orders live\nresource db = pg.connection {\n  host: "h"\n}\n'
    tree = parse(text)
    check_tree(tree)  # the base the edit splices
    assert tree.ast is not None and tree.ast.declarations[1].doc == "Where the orders live"
    # From inside the import's line to inside the comment: what is left of the comment joins the import's line.
    start, end = text.index(" io\n"), text.index("live")
    edited_text = text[:start] + text[end:]
    edited_tree = tree.edit(start, end, "")
    assert diagnostics(edited_tree) == diagnostics(parse(edited_text))
    assert repr(edited_tree.ast) == repr(parse(edited_text).ast)
