"""Compiling PRQL with prqlc, with its errors as data.

prqlc is called in its three stages (`prql_to_pl`, `pl_to_rq`, `rq_to_sql`) rather than `compile`:
the stages report errors as JSON (reason, hints, span) instead of a rendered report, and the RQ in
between tells which columns the block reads from each table and whether its output keeps a table's
wildcard (`SELECT *` of an open table).

prqlc 0.13 renders parse errors with byte spans over a character count and panics when the text
before an error holds non-ASCII characters. So the parser first sees an ASCII copy of the text with
the same number of characters (each non-ASCII character replaced by `x` where it could be part of a
name, a string or a comment, by `;` elsewhere); only text that parses is handed over as written.

A panic is caught, but prqlc can also overflow the native stack, which no exception reports: the process
dies. `limits.check_limits` refuses the shapes known to do that before prqlc sees them; beyond that,
`analyze_block` takes a `PrqlCompiler`, any function of text to `Compiled`. `compile_prql` compiles in
this process; a caller that must survive anything (the language server, the `heddle` command) passes one
that compiles in a worker process and answers `contained_failure(...)` when the worker dies or hangs
(`heddle_engine/compiler_process.py`). `Compiled` travels between them as JSON (`to_data`/`from_data`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import field
from typing import Any

import prqlc

from heddle_lang.records import record
from heddle_lang.relational.repeats import follow_sql
from heddle_lang.relational.using import restore_order
from heddle_lang.syntax.prql_lex import pieces

# The SQL shown for a block (`heddle plan`, hovers) is prqlc's for DuckDB: what the block means is defined
# as that SQL's answer (the engine runs the RQ, see `lowering`), and prqlc's DuckDB backend accepts and
# rejects what the differential tests compare against.
TARGET = "sql.duckdb"
_OPTIONS = prqlc.CompileOptions(format=False, signature_comment=False, target=TARGET)
_SPAN = re.compile(r"\d+:(\d+)-(\d+)")


@record
class PrqlError:
    """An error of prqlc; `start`/`end` are character offsets into the compiled text when known."""

    reason: str
    hints: tuple[str, ...] = ()
    start: int | None = None
    end: int | None = None
    stage: str = "resolve"  # "parse" | "resolve" | "sql" | "internal" | "contained" (the compiler process failed)
    # | "unsupported" (the engine cannot give the SQL's answer: HE6007)


@record
class Compiled:
    sql: str | None
    error: PrqlError | None = None
    # SQL table name → the named columns the block reads from it (from the RQ).
    columns_read: dict[str, tuple[str, ...]] = field(default_factory=dict)
    wildcard_output: bool = False  # the output passes an open table's unknown columns through
    rq: str | None = None  # prqlc's relational IR (JSON): what the engine runs
    # repeated output names PRQL's SQL spells otherwise, as the RQ now does (`repeats`): (name, SQL's name or None)
    repeats: tuple[tuple[str, str | None], ...] = ()

    def to_data(self) -> dict[str, Any]:
        error = self.error
        return {
            "sql": self.sql,
            "error": None if error is None else {
                "reason": error.reason, "hints": list(error.hints), "start": error.start, "end": error.end,
                "stage": error.stage,
            },
            "columns_read": {table: list(columns) for table, columns in self.columns_read.items()},
            "wildcard_output": self.wildcard_output,
            "rq": self.rq,
            "repeats": [list(change) for change in self.repeats],
        }

    @staticmethod
    def from_data(data: dict[str, Any]) -> Compiled:
        error = data.get("error")
        return Compiled(
            data.get("sql"),
            None if error is None else PrqlError(
                str(error["reason"]), tuple(str(h) for h in error.get("hints") or ()), error.get("start"),
                error.get("end"), str(error.get("stage") or "internal"),
            ),
            {str(table): tuple(columns) for table, columns in (data.get("columns_read") or {}).items()},
            bool(data.get("wildcard_output")),
            data.get("rq") if isinstance(data.get("rq"), str) else None,
            tuple((str(name), None if new is None else str(new)) for name, new in data.get("repeats") or ()),
        )


PrqlCompiler = Callable[[str], "Compiled"]
"""Compiles prelude + block text; never raises. `compile_prql` is the in-process one."""


def contained_failure(what: str) -> Compiled:
    """The answer of a compiler whose process failed on a text: `what` happened ("crashed on this block")."""
    return Compiled(None, PrqlError(f"the PRQL compiler {what}", stage="contained"))


def asciify(text: str) -> str:
    """`text` with every non-ASCII character replaced by one ASCII character of the same role."""
    if text.isascii():
        return text
    chars = list(text)
    for piece in pieces(text):
        for i in range(piece.start, piece.end):
            ch = chars[i]
            if ord(ch) < 128:
                continue
            chars[i] = "x" if piece.kind != "code" or ch.isidentifier() else ";"
    return "".join(chars)


def _is_panic(error: BaseException) -> bool:
    return type(error).__name__ == "PanicException"


def _error_from(error: BaseException, text: str, stage: str, spans_are_bytes: bool) -> PrqlError:
    message = str(error)
    try:
        data = json.loads(message)
        first = data["inner"][0]
        reason = str(first.get("reason") or "").strip() or "invalid PRQL"
        hints = tuple(str(h) for h in first.get("hints") or ())
        span = _SPAN.fullmatch(str(first.get("span") or ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        line = message.strip().splitlines()[0] if message.strip() else type(error).__name__
        return PrqlError(line, stage="internal" if _is_panic(error) else stage)
    start = end = None
    if span is not None:
        start, end = _characters(text, int(span.group(1)), int(span.group(2)), spans_are_bytes)
    return PrqlError(reason, hints, start, end, stage)


def _characters(text: str, start: int, end: int, spans_are_bytes: bool) -> tuple[int, int]:
    """A span of prqlc's (UTF-8 bytes after parsing) as character offsets into `text`."""
    if spans_are_bytes and not text.isascii():
        data_bytes = text.encode("utf-8", "surrogatepass")
        start = len(data_bytes[:start].decode("utf-8", "ignore"))
        end = len(data_bytes[:end].decode("utf-8", "ignore"))
    return min(start, len(text)), min(end, len(text))


def compile_prql(text: str) -> Compiled:
    """Compile `text` (prelude and block) to SQL for Polars. Never raises."""
    ascii_text = asciify(text)
    try:
        pl_json = prqlc.prql_to_pl(ascii_text)
    except Exception as error:
        return Compiled(None, _error_from(error, text, "parse", spans_are_bytes=False))
    except BaseException as error:
        if not _is_panic(error):
            raise
        return Compiled(None, _error_from(error, text, "parse", spans_are_bytes=False))
    try:
        if ascii_text is not text:
            pl_json = prqlc.prql_to_pl(text)
        rq_json = prqlc.pl_to_rq(pl_json)
    except Exception as error:
        return Compiled(None, _error_from(error, text, "resolve", spans_are_bytes=True))
    except BaseException as error:
        if not _is_panic(error):
            raise
        return Compiled(None, _error_from(error, text, "resolve", spans_are_bytes=True))
    rq_json = restore_order(rq_json, text)
    try:
        sql = prqlc.rq_to_sql(rq_json, _OPTIONS)
    except Exception as error:
        return Compiled(None, _error_from(error, text, "sql", spans_are_bytes=True))
    except BaseException as error:
        if not _is_panic(error):
            raise
        return Compiled(None, _error_from(error, text, "sql", spans_are_bytes=True))
    followed = follow_sql(rq_json, sql)
    if followed.refusal is not None:
        start, end = _characters(text, *followed.span, spans_are_bytes=True) if followed.span else (None, None)
        return Compiled(None, PrqlError(followed.refusal, start=start, end=end, stage="unsupported"))
    columns, wildcard = _read_rq(followed.rq)
    return Compiled(sql, None, columns, wildcard, followed.rq, followed.changes)


def _read_rq(rq_json: str) -> tuple[dict[str, tuple[str, ...]], bool]:
    try:
        rq = json.loads(rq_json)
        columns: dict[str, tuple[str, ...]] = {}
        for table in rq.get("tables", ()):
            relation = table.get("relation", {})
            kind = relation.get("kind", {})
            if not isinstance(kind, dict) or "ExternRef" not in kind:
                continue
            ref = kind["ExternRef"]
            local = ref.get("LocalTable") if isinstance(ref, dict) else None
            if not local:
                continue
            name = ".".join(local) if isinstance(local, list) else str(local)
            names = [c["Single"] for c in relation.get("columns", ()) if isinstance(c, dict) and c.get("Single")]
            columns[name] = tuple(dict.fromkeys([*columns.get(name, ()), *names]))
        output = rq.get("relation", {}).get("columns", ())
        return columns, "Wildcard" in output
    except (ValueError, AttributeError, TypeError, KeyError):
        return {}, False
