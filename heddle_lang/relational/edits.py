"""Text edits on a relational block, and the map from the edited text back to what the user wrote.

Normalisation rewrites the block (line breaks between transforms, braces, SQL habits); prqlc reports
positions in the rewritten text. `Rewritten.to_original` maps a range of the rewritten text to the
range of the user's text it came from: copied text maps one to one, replaced text maps to the whole
range it replaced, inserted text maps to the point where it was inserted.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from heddle_lang.records import record


@record
class Edit:
    """Replace `[start, end)` of the original with `text`. `order` breaks ties between insertions."""

    start: int
    end: int
    text: str
    order: int = 1


@record
class _Segment:
    new_start: int
    new_end: int
    old_start: int
    old_end: int
    copied: bool


class Rewritten:
    """The result of applying edits to `original`, with the position map."""

    __slots__ = ("_starts", "original", "segments", "text")

    def __init__(self, original: str, edits: Iterable[Edit]) -> None:
        self.original = original
        parts: list[str] = []
        segments: list[_Segment] = []
        old = new = 0
        for edit in _non_overlapping(edits, len(original)):
            if edit.start > old:
                chunk = original[old : edit.start]
                segments.append(_Segment(new, new + len(chunk), old, edit.start, True))
                parts.append(chunk)
                new += len(chunk)
            segments.append(_Segment(new, new + len(edit.text), edit.start, edit.end, False))
            parts.append(edit.text)
            new += len(edit.text)
            old = edit.end
        if old < len(original):
            segments.append(_Segment(new, new + len(original) - old, old, len(original), True))
            parts.append(original[old:])
            new += len(original) - old
        self.text = "".join(parts)
        self.segments = segments
        self._starts = [s.new_start for s in segments]

    def _segment_at(self, offset: int, prefer_left: bool) -> _Segment | None:
        if not self.segments:
            return None
        # The last segment starting at or before `offset`; at a boundary an end prefers the left one.
        index = bisect.bisect_right(self._starts, offset) - 1
        if prefer_left:
            while index > 0 and self.segments[index].new_start == offset and self.segments[index - 1].new_end >= offset:
                index -= 1
        return self.segments[max(index, 0)]

    def original_offset(self, offset: int, *, is_end: bool = False) -> int:
        offset = max(0, min(offset, len(self.text)))
        segment = self._segment_at(offset, prefer_left=is_end)
        if segment is None:
            return 0
        if segment.copied:
            return min(segment.old_start + (offset - segment.new_start), segment.old_end)
        if is_end and offset > segment.new_start:
            return segment.old_end
        return segment.old_start

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        a = self.original_offset(start)
        b = self.original_offset(end, is_end=True) if end > start else a
        return (a, max(a, b))


def _non_overlapping(edits: Iterable[Edit], length: int) -> list[Edit]:
    """Sorted edits, clamped to the text; an edit overlapping an earlier kept one is dropped."""
    kept: list[Edit] = []
    last_end = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end, e.order)):
        start, end = max(0, min(edit.start, length)), max(0, min(edit.end, length))
        if start < last_end or end < start or (start == end and not edit.text):
            continue
        kept.append(Edit(start, end, edit.text, edit.order))
        last_end = max(last_end, end)
    return kept


def apply(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """Apply non-overlapping `(start, end, new_text)` edits given in character offsets."""
    return Rewritten(text, (Edit(s, e, t) for s, e, t in edits)).text
