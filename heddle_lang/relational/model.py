"""The values the relational analysis returns: table references, block diagnostics, the analysis.

Positions here are CHARACTER offsets into the block's text (what is between its parentheses), because
the analysis sees only that text. `BlockDiagnostic.to_diagnostic` turns one into a document
`Diagnostic` with UTF-8 byte spans, given where the block's text starts in the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from heddle_lang.diagnostics import Diagnostic, Fix, Severity, TextEdit
from heddle_lang.records import record
from heddle_lang.text import Span, char_offsets
from heddle_lang.types import Schema

if TYPE_CHECKING:
    import polars as pl

SQL_TABLE_PREFIX = "__heddle_"


def sql_table_name(name: str) -> str:
    """The name under which the engine registers Heddle table `name` for a block's SQL.

    The block's SQL reads `__heddle_<name>` (a CTE named `<name>` selects its columns), so the engine
    registers the frame of `input`, of an assignment or of a step as `sql_table_name(name)`.
    """
    return SQL_TABLE_PREFIX + name


@record
class TableRef:
    """A table a block reads: `from NAME` or `join NAME`, at character `offset` (length `length`)."""

    name: str
    offset: int
    length: int
    kind: Literal["from", "join"]

    @property
    def end(self) -> int:
        return self.offset + self.length


@record
class BlockFix:
    """A repair: `(start, end, new_text)` edits in character offsets of the block's text."""

    title: str
    edits: tuple[tuple[int, int, str], ...]
    preferred: bool = True


@record
class BlockDiagnostic:
    code: str
    start: int
    end: int
    message: str
    severity: Severity = Severity.ERROR
    fixes: tuple[BlockFix, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_diagnostic(self, query_span_start_byte: int, query_text: str) -> Diagnostic:
        """This diagnostic in the document: `query_text` starts at byte `query_span_start_byte`."""
        to_byte = _ByteOffsets(query_text, query_span_start_byte)
        fixes = tuple(
            Fix(fix.title, tuple(TextEdit(to_byte.span(s, e), text) for s, e, text in fix.edits), fix.preferred)
            for fix in self.fixes
        )
        return Diagnostic(self.code, to_byte.span(self.start, self.end), self.message, self.severity, fixes=fixes)


class _ByteOffsets:
    __slots__ = ("base", "text")

    def __init__(self, text: str, base: int) -> None:
        self.text = text
        self.base = base

    def __call__(self, char_offset: int) -> int:
        return self.base + char_offsets(self.text).to_bytes(char_offset)

    def span(self, start: int, end: int) -> Span:
        a = self(start)
        return Span(a, max(a, self(end)))


@record
class Program:
    """What the engine runs for a block: prqlc's relational IR (RQ, as JSON) and the names the checker gave
    the columns PRQL leaves unnamed (each named by the PRQL that computes it, as written)."""

    rq: str
    unnamed: tuple[str, ...] = ()

    def lazy(self, frames: Mapping[str, pl.LazyFrame]) -> pl.LazyFrame:
        """The block's result over `frames` (`sql_table_name(name)` → the frame of each table it reads)."""
        from heddle_lang.relational import rq
        from heddle_lang.relational.lowering import lazy_query

        return lazy_query(rq.parse(self.rq), frames, self.unnamed)


@record
class BlockAnalysis:
    """What a relational block means.

    schema       the block's output; None when it could not be compiled or planned. An unknown table
                 (HE6002) or `from input` at a source (HE3011) is analysed as an open table of unknown
                 columns, so the rest of the block is still checked and typed.
    sql          prqlc's SQL for the block (DuckDB's dialect), shown to the user; it reads each table of
                 `tables` under `sql_table_name(name)`. None when the block does not compile.
    diagnostics  character offsets into the block's text.
    tables       the Heddle tables the block reads, in order of first use (`input` first when implied).
    prql         the canonical PRQL that was compiled (the user's text normalised; no prelude).
    program      the RQ the engine lowers to Polars (the same lowering typed `schema`).
    """

    schema: Schema | None
    sql: str | None
    diagnostics: tuple[BlockDiagnostic, ...]
    tables: tuple[str, ...]
    prql: str
    program: Program | None = None  # what the engine runs; None when the block has errors

    @property
    def sql_tables(self) -> Mapping[str, str]:
        """SQL table name → Heddle table name, for registering frames."""
        return {sql_table_name(name): name for name in self.tables}

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)
