"""`LineIndex` and `CharOffsets` against a plain reference: LSP's lines, every encoding, long lines."""

from __future__ import annotations

import copy
import pickle
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heddle_lang.text import STRIDE, CharOffsets, Encoding, LineIndex, Position, Span, moved_span, split_lines

PIECES = ["a", "bc", " ", "\t", "é", "日本", "🚀", "\n", "\r\n", "\r", "x" * 40, "é" * 30]


def reference_lines(text: str) -> list[tuple[int, str]]:
    """(character offset of the line start, the line's text) by LSP's definition of a line break."""
    out: list[tuple[int, str]] = []
    start = i = 0
    while i < len(text):
        if text[i] in "\r\n":
            out.append((start, text[start:i]))
            i += 2 if text[i] == "\r" and text[i + 1 : i + 2] == "\n" else 1
            start = i
        else:
            i += 1
    out.append((start, text[start:]))
    return out


def units(text: str, encoding: Encoding) -> int:
    if encoding is Encoding.UTF8:
        return len(text.encode())
    if encoding is Encoding.UTF32:
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(size))


@pytest.mark.parametrize("seed", range(40))
def test_positions_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    text = random_text(rng, rng.choice([0, 5, 60, 400]))
    index = LineIndex(text.encode())
    lines = reference_lines(text)
    assert index.line_count == len(lines)
    assert split_lines(text) == [line for _, line in lines]
    for number, (start, line) in enumerate(lines):
        assert index.line_text(number) == line
        for column in range(len(line) + 1):
            offset = len(text[: start + column].encode())
            for encoding in Encoding:
                position = Position(number, units(line[:column], encoding))
                assert index.position(offset, encoding) == position
                assert index.offset(position, encoding) == offset
        end = len(text[: start + len(line)].encode())
        for encoding in Encoding:  # past the end of the line: clamped to it
            assert index.offset(Position(number, units(line, encoding) + 3), encoding) == end


def test_a_lone_carriage_return_ends_a_line() -> None:
    index = LineIndex(b"a\rb\r\nc\nd")
    assert list(index.line_starts) == [0, 2, 5, 7]
    assert [index.line_text(i) for i in range(4)] == ["a", "b", "c", "d"]
    assert index.position(2) == Position(1, 0)
    assert index.offset(Position(2, 0)) == 5


def test_a_long_line_converts_in_both_directions() -> None:
    line = "é日🚀\tx" * (STRIDE * 3)
    data = ("\n" + line + "\n").encode()
    index = LineIndex(data)
    for column in (0, 1, 2, 7, STRIDE, STRIDE * 5 + 3, len(line)):
        prefix = line[:column]
        offset = 1 + len(prefix.encode())
        for encoding in Encoding:
            position = Position(1, units(prefix, encoding))
            assert index.position(offset, encoding) == position
            assert index.offset(position, encoding) == offset
        assert index.display_column(offset, 2) == len(prefix) + prefix.count("\t")


def test_line_starts_and_indentation() -> None:
    index = LineIndex(b"  a b\r\n\t c\r   \n")
    assert index.starts_line(2) and not index.starts_line(4)
    assert index.indentation(1) == "\t "
    assert index.first_nonblank(2) == index.line_span(2).end  # all blanks


@pytest.mark.parametrize("text", ["", "abc", "é", "aé日🚀b", "🚀" * 10 + "x"])
def test_char_offsets(text: str) -> None:
    offsets = CharOffsets(text)
    for i in range(len(text) + 1):
        assert offsets.to_bytes(i) == len(text[:i].encode())


@given(st.text("ab\n\r\té", max_size=30), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=8))
def test_where_spans_stand_is_their_places(text: str, pairs: list[tuple[int, int]]) -> None:
    """`LineIndex.wheres` (spans in order walked, others searched) says what `place` says of each span's ends."""
    data = text.encode()
    lines = LineIndex(data)
    spans = [Span(min(a, b, len(data)), min(max(a, b), len(data))) for a, b in pairs]
    expected = []
    for span in spans:
        line, start = lines.place(span.start)
        last, end = lines.place(span.end)
        expected.append((line, (start, last - line, end)))
    assert list(lines.wheres(spans)) == expected


@given(st.integers(0, 2**30), st.integers(0, 2**30), st.integers(0, 2**30), st.integers(0, 2**30))
def test_a_span_is_its_pair(a: int, b: int, c: int, d: int) -> None:
    """A span held as one int reads back its start and end, orders and compares as the pair, and moves by a delta."""
    left, right = Span(a, b), Span(c, d)
    assert (left.start, left.end) == (a, b)
    assert (left < right) == ((a, b) < (c, d)) and (left == right) == ((a, b) == (c, d))
    assert (hash(left) == hash(right)) or (a, b) != (c, d)
    assert moved_span(left, c) == Span(a + c, b + c)
    assert moved_span(moved_span(left, c), -c) == left
    assert moved_span(left, -min(a, b)) == Span(a - min(a, b), b - min(a, b))
    assert pickle.loads(pickle.dumps(left)) == left and type(copy.copy(left)) is Span
    assert type(left.start) is int and type(moved_span(left, 1)) is Span


def test_a_span_reads_as_a_span() -> None:
    empty = Span(0, 0)
    assert empty and empty.is_empty and bool(Span(0, 5))
    assert repr(Span(3, 10)) == str(Span(3, 10)) == f"{Span(3, 10)}" == "Span(start=3, end=10)"
    match Span(3, 10):
        case Span(start, end):
            assert (start, end) == (3, 10)
    assert Span(start=1, end=2) == Span(1, 2)
    for start, end in ((-1, 0), (0, -1), (0, 2**32)):
        with pytest.raises(ValueError):
            Span(start, end)
