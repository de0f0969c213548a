"""An edit inside one declaration is parsed in a window (`syntax.toplevel`): the window's top-level nodes, and what
is spliced from them (outline, syntax and layout diagnostics), are those of a fresh parse of the whole text; an edit
whose window would differ from the whole text's parse is parsed whole."""

from __future__ import annotations

import bisect

from hypothesis import given
from hypothesis import strategies as st

from bench.generate import generate
from heddle_lang.check import check_tree
from heddle_lang.syntax import SyntaxTree, parse
from tests.syntax.test_incremental import PROPERTY, assert_same_tree, diagnostics, edited, fragment_text

TEXT = generate(300, seed=3)
# What keeps most declarations whole: windows after windows.
quiet_text = st.text(alphabet="ab1_ é", max_size=3)


def top_rows(tree: SyntaxTree, indices: range) -> list[tuple[str, int, int, tuple[int, int], tuple[int, int]]]:
    top = tree.top
    return [(n.type, n.start_byte, n.end_byte, tuple(n.start_point), tuple(n.end_point))
            for n in (top.child(i) for i in indices)]


def searches(tree: SyntaxTree, offsets: list[int]) -> list[tuple[int, int]]:
    top = tree.top
    return [(top.bisect_start(offset), top.bisect_end(offset)) for offset in offsets]


def whole_searches(tree: SyntaxTree, offsets: list[int]) -> list[tuple[int, int]]:
    children = tree.root.children
    starts, ends = [c.start_byte for c in children], [c.end_byte for c in children]
    return [(bisect.bisect_left(starts, offset), bisect.bisect_left(ends, offset)) for offset in offsets]


def middle_of(text: str, needle: str) -> int:
    """A byte offset inside the first `needle` after the middle of `text` (`needle`: ASCII)."""
    data = text.encode()
    return data.index(needle.encode(), len(data) // 2) + 1


def boundary(data: bytes, offset: int) -> int:
    """`offset`, or the start of the character it falls inside."""
    while 0 < offset < len(data) and data[offset] & 0xC0 == 0x80:
        offset -= 1
    return offset


def replaced(text: str, start: int, end: int, new: str) -> str:
    """`text` with its bytes `start..end` replaced by `new`."""
    data = text.encode()
    return (data[:start] + new.encode() + data[end:]).decode()


def test_an_edit_inside_a_declaration_is_parsed_in_a_window_and_its_nodes_are_the_whole_parses() -> None:
    tree = parse(TEXT)
    check_tree(tree)
    offset = middle_of(TEXT, "| io.print")
    after = tree.edit(offset, offset, "x")
    window = after.top.window
    assert window is not None and len(window.nodes) < 10  # the declarations around the edit, not the file
    indices = range(window.first, window.first + len(window.nodes))
    rows = top_rows(after, indices)
    offsets = [n.start_byte + k for n in window.nodes for k in (-1, 0, 1)] + [window.nodes[-1].end_byte]
    found = searches(after, offsets)
    spliced = diagnostics(after)  # read through the window
    fresh = parse(replaced(TEXT, offset, offset, "x"))
    assert rows == top_rows(fresh, indices)
    assert found == whole_searches(fresh, offsets)
    assert spliced == diagnostics(fresh)
    assert_same_tree(after, fresh)  # the whole tree, parsed when asked for
    assert after.top.window is None


def test_edits_in_a_row_inside_one_declaration_stay_in_windows() -> None:
    tree = parse(TEXT)
    check_tree(tree)
    text = TEXT
    offset = middle_of(TEXT, "| io.print")
    for index in range(6):
        new = "ab"[index % 2]
        tree = tree.edit(offset, offset, new)
        text = replaced(text, offset, offset, new)
        assert tree.top.window is not None
        assert diagnostics(tree) == diagnostics(parse(text))
        offset += 1
    assert_same_tree(tree, parse(text))


def test_an_edit_that_makes_a_declaration_reach_into_the_next_is_parsed_whole() -> None:
    text = 'import "std/io" io\n\nworkflow A {\n  [{ id: 1 }]\n    | io.print\n}\n\nworkflow B {\n  [{ id: 2 }]\n' \
           "    | io.print\n}\n\nworkflow C {\n  [{ id: 3 }]\n    | io.print\n}\n"
    tree = parse(text)
    check_tree(tree)
    start = text.index("}\n\nworkflow B")
    after = tree.edit(start, start + 1, "")  # A's closing brace gone: A runs on into B
    assert after.top.window is None
    fresh = parse(text[:start] + text[start + 1:])
    assert diagnostics(after) == diagnostics(fresh)
    assert_same_tree(after, fresh)


def test_an_import_that_loses_its_alias_is_parsed_whole() -> None:
    """In a window that ends at the import, the next line could not be its alias; in the whole text it could."""
    text = 'import "std/io" io\nimport "std/text" text\nimport "std/json" js\nimport "std/math" math\n'
    tree = parse(text)
    check_tree(tree)
    start = text.index(" text\n")
    after = tree.edit(start + 2, start + 4, "")  # an edit strictly inside the import: its alias is shorter
    assert after.top.window is not None
    fresh = parse(text[:start + 2] + text[start + 4:])
    assert diagnostics(after) == diagnostics(fresh)
    cut = after.edit(start, start + 3, "")  # the alias gone: the next import's keyword follows the path
    fresh = parse(text[:start] + text[start + 5:])
    assert diagnostics(cut) == diagnostics(fresh)
    assert_same_tree(cut, fresh)


@PROPERTY
@given(data=st.data())
def test_what_is_read_through_windows_matches_a_fresh_parse(data: st.DataObject) -> None:
    """Random edits of the examples, some versions checked (their results spliced by the next), the last one's
    diagnostics and AST read before its whole tree is asked for."""
    tree, text = edited(data, check_some=True)
    found = diagnostics(tree), repr(tree.ast)
    fresh = parse(text)
    assert found == (diagnostics(fresh), repr(fresh.ast))
    assert_same_tree(tree, fresh)


@PROPERTY
@given(data=st.data())
def test_the_nodes_and_searches_of_a_window_are_the_whole_parses(data: st.DataObject) -> None:
    """Edits inside the declarations of a generated file (most of them parsed in windows), each version's window
    read before its whole tree: its nodes and the searches it answers are a fresh parse's."""
    tree, text = parse(TEXT), TEXT
    for _ in range(data.draw(st.integers(1, 5), label="edits")):
        top = tree.top
        index = data.draw(st.integers(0, top.count - 1), label="node")
        node = top.child(index)
        start = boundary(tree.data, data.draw(st.integers(node.start_byte, node.end_byte), label="start"))
        end = boundary(tree.data, data.draw(st.integers(start, min(node.end_byte, start + 12)), label="end"))
        new = data.draw(st.one_of(fragment_text, quiet_text), label="new")
        text = replaced(text, start, end, new)
        tree = tree.edit(start, end, new)
        window = tree.top.window
        if window is None:
            continue
        indices = range(window.first, window.first + len(window.nodes))
        offsets = [data.draw(st.integers(0, len(tree.data)), label="offset") for _ in range(4)]
        offsets += [n.start_byte for n in window.nodes] + [window.nodes[-1].end_byte + 1]
        rows, found = top_rows(tree, indices), searches(tree, offsets)
        fresh = parse(text)
        assert rows == top_rows(fresh, indices)
        assert found == whole_searches(fresh, offsets)
    assert_same_tree(tree, parse(text))


def test_the_declarations_after_edits_are_placed_where_a_fresh_parse_places_them() -> None:
    """Edits in one place, then above it, then below it: each version's declarations after its edit are an earlier
    version's moved (`lower.Placements`), read by index, slice, from the end and in order."""
    tree, text = parse(TEXT), TEXT
    check_tree(tree)
    for step, fraction in enumerate([0.5, 0.5, 0.25, 0.75]):
        data = text.encode()
        at = data.index(b"| io.print", int(len(data) * fraction)) + 2
        new = "zz" if step % 2 == 0 else "y"
        tree = tree.edit(at, at, new)
        text = replaced(text, at, at, new)
        check_tree(tree)
        fresh = parse(text).outline.placed
        placed = tree.outline.placed
        rows = [(p.start, p.text, p.span) for p in placed]
        assert rows == [(p.start, p.text, p.span) for p in fresh]
        third = len(fresh) // 3
        assert [(p.start, p.text) for p in placed[third:]] == [(p.start, p.text) for p in fresh[third:]]
        assert placed[-1].start == fresh[-1].start and placed[-1] is placed[len(placed) - 1]
        assert repr(tree.ast) == repr(parse(text).ast)
