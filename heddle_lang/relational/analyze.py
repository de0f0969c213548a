"""`analyze_block`: a relational block's output schema, SQL and diagnostics, cached.

The steps: refuse a block beyond what prqlc can take (`limits`), normalise the user's text
(`normalize`), check the tables it reads against `schemas`, prepend a `let` per table (`prelude`),
compile with prqlc (`compile`, in this process or in the caller's contained compiler), plan the SQL on
empty Polars frames (`plan`), and map every error back to the user's characters (`errors`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from functools import lru_cache

import polars as pl

from heddle_lang.diagnostics import Severity
from heddle_lang.records import record
from heddle_lang.relational import rq, stored
from heddle_lang.relational.cache import CacheInfo, LruCache
from heddle_lang.relational.compile import PrqlCompiler, compile_prql
from heddle_lang.relational.edits import Edit
from heddle_lang.relational.errors import Locator, did_you_mean, plan_diagnostic, prql_diagnostic
from heddle_lang.relational.limits import check_limits
from heddle_lang.relational.model import BlockAnalysis, BlockDiagnostic, BlockFix, Program, TableRef, sql_table_name
from heddle_lang.relational.naming import unnamed_columns
from heddle_lang.relational.normalize import Normalized, normalize
from heddle_lang.relational.plan import plan_query
from heddle_lang.relational.prelude import build_prelude
from heddle_lang.relational.tables import _referenced
from heddle_lang.relational.unknowns import UNDECIDED, runnable, settled, unknown_columns
from heddle_lang.types import Column, Schema

INPUT = "input"

_CACHE: LruCache[BlockAnalysis] = LruCache()


def cache_info() -> CacheInfo:
    return _CACHE.info()


def cache_clear() -> None:
    _CACHE.clear()


@record
class _Request:
    query: str
    schemas: Mapping[str, Schema]
    is_source: bool
    refs: tuple[TableRef, ...]
    normalized: Normalized
    names: tuple[str, ...]  # the tables read, `input` first when implied
    available: tuple[str, ...]  # other table names in scope, for did-you-mean
    compiler: PrqlCompiler


def analyze_block(
    query: str, schemas: Mapping[str, Schema], *, is_source: bool, available: Iterable[str] = (),
    compiler: PrqlCompiler = compile_prql,
) -> BlockAnalysis:
    """Analyse one relational block. Never raises.

    `query` is the text between the block's parentheses; `schemas` holds the schema of every table it
    reads (`input` for the piped-in table, assignments and steps by name). `is_source`: the block
    stands first in its pipeline, so nothing flows in. `available` optionally names the other tables
    in scope, only to suggest one for a name that is not in `schemas` (HE6002). `compiler` compiles the
    PRQL (the cache does not depend on it: every compiler gives the same answer, or a contained failure).
    """
    try:
        too_complex = check_limits(query)
        if too_complex is not None:
            return BlockAnalysis(None, None, (too_complex,), (), query)
        refs, normalized, names = _prepared(query)
        request = _Request(query, schemas, is_source, refs, normalized, names, tuple(available), compiler)
        key = _key(request)
    except Exception as error:  # a bug, not a property of the input
        return _internal_error(query, error)
    try:
        hash(key)
    except TypeError:  # an unhashable schema: analyse without the cache
        return _safe_analyze(request)
    return _CACHE.get_or_compute(key, lambda: _stored_or_analyzed(request, key))


@lru_cache(maxsize=4096)
def _prepared(query: str) -> tuple[tuple[TableRef, ...], Normalized, tuple[str, ...]]:
    """What a block's text alone determines, computed once per text: the cache key needs it."""
    refs = _referenced(query)
    normalized = normalize(query)
    return refs, normalized, _table_names(refs, normalized)


def _table_names(refs: tuple[TableRef, ...], normalized: Normalized) -> tuple[str, ...]:
    names = [INPUT] if normalized.implicit_input else []
    names.extend(ref.name for ref in refs)
    return tuple(dict.fromkeys(names))


def _key(request: _Request) -> Hashable:
    read = tuple((name, request.schemas.get(name)) for name in request.names)
    # Suggestions for an unknown table depend on every name available.
    known = tuple(sorted({*request.schemas, *request.available})) if any(s is None for _, s in read) else ()
    return (request.query, request.is_source, read, known)


def _internal_error(query: str, error: Exception) -> BlockAnalysis:
    message = f"internal error while analysing the relational block ({type(error).__name__}: {error})"
    return BlockAnalysis(None, None, (BlockDiagnostic("HE9001", 0, len(query), message),), (), query)


def _stored_or_analyzed(request: _Request, key: Hashable) -> BlockAnalysis:
    """The answer the caller's store holds for `key` (`stored`), else a new one, handed to the store."""
    store = stored.current_store()
    if store is None:
        return _safe_analyze(request)
    digest = stored.block_key(key)
    record = store.get(digest)
    found = stored.from_record(record) if record is not None else None
    if found is not None:
        return found
    result = _safe_analyze(request)
    if stored.keeps(result):
        store.put(digest, stored.to_record(result))
    return result


def _safe_analyze(request: _Request) -> BlockAnalysis:
    try:
        return _analyze(request)
    except Exception as error:
        return _internal_error(request.query, error)


def _habit_diagnostic(normalized: Normalized) -> BlockDiagnostic | None:
    if not normalized.habits:
        return None
    edits: list[Edit] = [e for habit in normalized.habits for e in habit.edits]
    start = min(e.start for e in edits)
    end = max(e.end for e in edits)
    labels = list(dict.fromkeys(h.label for h in normalized.habits))
    message = "SQL habits in PRQL: " + "; ".join(labels)
    fix = BlockFix("Rewrite as canonical PRQL", tuple((e.start, e.end, e.text) for e in edits))
    return BlockDiagnostic("HE6005", start, max(end, start + 1), message, Severity.INFORMATION, (fix,))


def _tables(request: _Request, diagnostics: list[BlockDiagnostic]) -> list[tuple[str, Schema]]:
    """Each table read, with the schema to analyse it with; reports HE3011 and HE6002."""
    query, schemas, is_source, normalized = request.query, request.schemas, request.is_source, request.normalized
    tables: list[tuple[str, Schema]] = []
    others = [n for n in dict.fromkeys([*schemas, *request.available]) if n != INPUT or not is_source]
    for name in request.names:
        uses = [ref for ref in request.refs if ref.name == name]
        if name == INPUT and is_source:
            if normalized.implicit_input:
                start, end = normalized.implicit_input
                first = query[start:end]
                diagnostics.append(BlockDiagnostic(
                    "HE3011", start, end,
                    f"a block that starts with `{first}` reads the piped-in table (`from input`), but this block "
                    "stands first in the pipeline: nothing flows in; start it with `from <step or assignment>`",
                ))
            for ref in uses:
                diagnostics.append(BlockDiagnostic(
                    "HE3011", ref.offset, ref.end,
                    "`input` is the piped-in table, but this block stands first in the pipeline: nothing flows "
                    "in; read a step or an assignment instead",
                ))
            tables.append((name, Schema.unknown()))
            continue
        schema = schemas.get(name)
        if schema is None:
            guess = did_you_mean(name, others)
            for ref in uses:
                message = f"unknown table `{name}`: no step, assignment or `input` has this name"
                fixes: tuple[BlockFix, ...] = ()
                if guess:
                    message += f"; did you mean `{guess}`?"
                    fixes = (BlockFix(f"Replace with `{guess}`", ((ref.offset, ref.end, guess),)),)
                diagnostics.append(BlockDiagnostic("HE6002", ref.offset, ref.end, message, fixes=fixes))
            schema = Schema.unknown()
        tables.append((name, schema))
    return tables


def _analyze(request: _Request) -> BlockAnalysis:
    query, normalized = request.query, request.normalized
    diagnostics: list[BlockDiagnostic] = []
    if normalized.empty:
        diagnostics.append(BlockDiagnostic(
            "HE6001", 0, len(query), "the relational block is empty: write a PRQL pipeline, e.g. `from input`"
        ))
        return BlockAnalysis(None, None, tuple(diagnostics), (), normalized.text)
    habit = _habit_diagnostic(normalized)
    if habit is not None:
        diagnostics.append(habit)
    tables = _tables(request, diagnostics)
    prelude = build_prelude(tables)
    text = prelude.text + normalized.text
    compiled = request.compiler(text)
    locator = Locator(query, normalized, prelude.text)
    if compiled.sql is None:
        if compiled.error is not None:
            diagnostics.append(prql_diagnostic(compiled.error, locator, text))
        return _result(None, None, diagnostics, prelude.tables, normalized)
    sql = compiled.sql
    try:
        query = rq.parse(compiled.rq or "")
    except rq.RqFormatError as error:
        message = f"prqlc's relational IR could not be read ({error}); is prqlc a version heddle supports?"
        diagnostics.append(BlockDiagnostic("HE9001", *locator.whole(), message))
        return _result(None, sql, diagnostics, prelude.tables, normalized)
    unnamed = unnamed_columns(query, locator)

    frames: dict[str, dict[str, pl.DataType]] = {}
    open_tables: list[str] = []
    for name, schema in tables:
        if name not in prelude.tables:
            continue
        table = sql_table_name(name)
        frame = schema.to_polars()
        if schema.open:
            open_tables.append(table)
            for column in compiled.columns_read.get(table, ()):
                frame.setdefault(column, pl.Null())
        frames[table] = frame
    planned = plan_query(query, frames, tuple(open_tables), unnamed)
    unknown = {c for frame in planned.frames.values() for c, dtype in frame.items() if dtype == pl.Null}

    def replanned(frames: Mapping[str, Mapping[str, pl.DataType]]) -> dict[str, pl.DataType] | str | None:
        again = plan_query(query, frames, (), unnamed)
        if again.schema is not None or again.error is None:
            return again.schema
        still = {column for _, column in unknown_columns(frames)}
        return UNDECIDED if plan_diagnostic(again.error, locator, still) is None else None

    if planned.schema is None:
        # Over `Null` columns it may fail where the run, on the real types, succeeds: refused only if it
        # plans with no concrete types for them either.
        failure = plan_diagnostic(planned.error, locator, unknown) if planned.error else None
        may_run, names = runnable(planned.frames, replanned)
        if names is not None:
            schema = Schema(tuple(Column(name, None) for name in names), open=compiled.wildcard_output)
        elif failure is not None and not may_run:
            diagnostics.append(failure)
            return _result(None, sql, diagnostics, prelude.tables, normalized)
        else:
            schema = Schema.unknown()
    else:
        types = settled(planned.schema, planned.frames, replanned)
        columns = tuple(Column(name, dtype) for name, dtype in types.items())
        diagnostics.extend(_duplicates(columns, tables, request.refs))
        diagnostics.extend(_repeats(compiled.repeats, tables, request.refs))
        schema = Schema(columns, open=compiled.wildcard_output)
    program = Program(compiled.rq or "", unnamed)
    return _result(schema, sql, diagnostics, prelude.tables, normalized, program=program)


def _duplicates(
    columns: tuple[Column, ...], tables: list[tuple[str, Schema]], refs: tuple[TableRef, ...]
) -> list[BlockDiagnostic]:
    """HE6004 warnings for output columns Polars had to rename (`country:1`) because a join brought
    the same name from two tables."""
    names = {c.name for c in columns}
    out: list[BlockDiagnostic] = []
    for column in columns:
        base, colon, suffix = column.name.rpartition(":")
        if not colon or base not in names or not suffix:
            continue
        ref = _joining(base, tables, refs)
        if ref is None:
            continue
        out.append(BlockDiagnostic(
            "HE6004", ref.offset, ref.end,
            f"`{base}` comes from more than one table of this join, so the output names the second "
            f"`{column.name}`; drop one (`select !{{{ref.name}.{base}}}`) or rename it",
            Severity.WARNING,
        ))
    return out


def _joining(name: str, tables: list[tuple[str, Schema]], refs: tuple[TableRef, ...]) -> TableRef | None:
    """The last `join` of a table that has a column `name` (the join that brings it a second time), if any."""
    owners = [table for table, schema in tables if name in schema]
    joins = [ref for ref in refs if ref.kind == "join" and ref.name in owners]
    return joins[-1] if joins else None


def _repeats(
    repeats: tuple[tuple[str, str | None], ...], tables: list[tuple[str, Schema]], refs: tuple[TableRef, ...]
) -> list[BlockDiagnostic]:
    """HE6004 warnings for the names a join brings twice that PRQL's SQL spells once (`repeats.follow_sql`):
    the joined table's column is left out of the output, or renamed (`_expr_0`)."""
    out: list[BlockDiagnostic] = []
    for name, new in dict.fromkeys(repeats):
        ref = _joining(name, tables, refs)
        if ref is None:
            continue
        what = "is not in the output" if new is None else f"is named `{new}` in the output"
        out.append(BlockDiagnostic(
            "HE6004", ref.offset, ref.end,
            f"`{name}` comes from more than one table of this join, and PRQL's SQL names it once: "
            f"`{ref.name}.{name}` {what}; leave it out (`select !{{{ref.name}.{name}}}`) or keep it under a "
            f"name of its own (`derive {{{ref.name}_{name} = {ref.name}.{name}}}` before that `select`)",
            Severity.WARNING,
        ))
    return out


def _result(
    schema: Schema | None,
    sql: str | None,
    diagnostics: list[BlockDiagnostic],
    tables: tuple[str, ...],
    normalized: Normalized,
    *,
    program: Program | None = None,
) -> BlockAnalysis:
    ordered = tuple(sorted(diagnostics, key=lambda d: (d.start, d.end, d.code)))
    if any(d.is_error for d in ordered):
        program = None
    return BlockAnalysis(schema, sql, ordered, tables, normalized.text, program)
