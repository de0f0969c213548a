"""Inlay hints: the schema after each `> name`, and at the end of each stage's line."""

from __future__ import annotations

import bisect
import re

from heddle_lang.ide.context import Cursor, never_raises
from heddle_lang.ide.describe import schema_inline, schema_lines
from heddle_lang.ide.results import InlayHint
from heddle_lang.semantic.model import Analysis, StageType

_LINE_END = re.compile(rb"[\r\n]")

MAX_LABEL = 60


@never_raises(list)
def inlay_hints(analysis: Analysis, start: int, end: int) -> list[InlayHint]:
    """Hints whose offset lies in `[start, end)` (byte offsets), in document order."""
    cursor = Cursor(analysis.tree.data, start, until=end)
    blocks = [t for t in cursor.tokens if t.kind == "prql"]
    block_starts = [t.start for t in blocks]
    stages: dict[int, StageType] = {}
    assignments: dict[int, StageType] = {}
    for stage in analysis.stage_types:
        if stage.label.startswith("> "):
            if start <= stage.span.end < end:
                assignments[stage.span.end] = stage
            continue
        if stage.span.end >= end:
            continue
        index = bisect.bisect_right(block_starts, stage.span.start) - 1
        if index >= 0 and stage.span.end <= blocks[index].end:
            continue  # a table a relational block reads, not a stage of its own
        line_end = _code_line_end(cursor, stage.span.end)
        if not start <= line_end < end:
            continue
        following = cursor.significant_after(cursor.index_before(line_end))
        if following < len(cursor.tokens) and cursor.tokens[following].is_punct(">"):
            continue  # `> name` comes next and shows the same schema
        stages[line_end] = stage
    hints = {offset: _hint(offset, "→ ", stage) for offset, stage in stages.items()}
    hints.update({offset: _hint(offset, ": ", stage) for offset, stage in assignments.items()})
    return [hints[offset] for offset in sorted(hints)]


def _hint(offset: int, prefix: str, stage: StageType) -> InlayHint:
    return InlayHint(offset, prefix + schema_inline(stage.schema, MAX_LABEL), schema_lines(stage.schema))


def _code_line_end(cursor: Cursor, offset: int) -> int:
    """The end of the last token (comments aside) on the line where `offset` is."""
    data = cursor.data
    newline = _LINE_END.search(data, offset)
    line_end = len(data) if newline is None else newline.start()
    index = bisect.bisect_left(cursor.starts, line_end) - 1
    while index >= 0 and cursor.tokens[index].start >= offset:
        token = cursor.tokens[index]
        if token.kind != "comment" and token.end <= line_end:
            return max(offset, token.end)
        index -= 1
    return offset
