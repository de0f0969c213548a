"""Block analyses kept beyond the process: the interface of a persistent store, its keys and its records.

`analyze_block` remembers each answer in memory (`cache.LruCache`); a caller may also give it a `BlockStore`
(`stored_in(store)`, for the analyses it runs), which is asked on a miss of the memory and told every new answer,
so a later process (the next `heddle check`, the language server's first diagnostics) types an unchanged block
without compiling or planning it. Keeping the records is the store's business: `heddle_engine.block_store` keeps
them on disk under the project's `.heddle/cache/`; nothing here does I/O.

A key is a digest of everything an answer depends on: the block's text, whether it stands first, the schema of
each table it reads (and the other names in scope when one is unknown), and the versions of what computes it
(heddle, prqlc, Polars, this record format). A record is JSON; one that does not read back is a miss. Answers
that say the compiler failed (HE6009) or the checker did (HE9001) are not kept: they belong to one process.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Hashable, Iterator
from typing import Any, Protocol

import polars as pl
import prqlc

from heddle_lang.catalog_data import schema_from_data, schema_to_data
from heddle_lang.diagnostics import Severity
from heddle_lang.relational.model import BlockAnalysis, BlockDiagnostic, BlockFix, Program
from heddle_lang.types import Schema
from heddle_lang.version import __version__

FORMAT = 3  # of the records: a change of their shape, or of how an answer is computed, makes every key new
VERSIONS = (FORMAT, __version__, prqlc.__version__, pl.__version__)
_NOT_KEPT = frozenset({"HE6009", "HE9001"})


class BlockStore(Protocol):
    """Records by key (both text); `get` answers None for a key it does not hold (or cannot read)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, record: str) -> None: ...


_STORE: contextvars.ContextVar[BlockStore | None] = contextvars.ContextVar("heddle_block_store", default=None)


@contextlib.contextmanager
def stored_in(store: BlockStore | None) -> Iterator[None]:
    """Analyses run inside this context (on this thread) read and add block analyses through `store`."""
    token = _STORE.set(store)
    try:
        yield
    finally:
        _STORE.reset(token)


def current_store() -> BlockStore | None:
    return _STORE.get()


def block_key(key: Hashable) -> str:
    """The persistent key of `analyze._key`'s (query, is_source, tables read with their schemas, names known)."""
    query, is_source, read, known = key  # type: ignore[misc]
    tables = [[name, None if schema is None else _schema_key(schema)] for name, schema in read]
    text = json.dumps([VERSIONS, query, is_source, tables, list(known)], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def _schema_key(schema: Schema) -> list[Any]:
    return [schema.open, [[c.name, None if c.dtype is None else repr(c.dtype)] for c in schema.columns]]


def keeps(analysis: BlockAnalysis) -> bool:
    """Whether the answer holds for any process (no contained crash, no internal error)."""
    return not any(d.code in _NOT_KEPT for d in analysis.diagnostics)


def to_record(analysis: BlockAnalysis) -> str:
    data = {
        "schema": None if analysis.schema is None else schema_to_data(analysis.schema),
        "sql": analysis.sql,
        "diagnostics": [[d.code, d.start, d.end, d.message, int(d.severity),
                         [[f.title, [list(e) for e in f.edits], f.preferred] for f in d.fixes]]
                        for d in analysis.diagnostics],
        "tables": list(analysis.tables),
        "prql": analysis.prql,
        "program": None if analysis.program is None else [analysis.program.rq, list(analysis.program.unnamed)],
    }
    return json.dumps(data, ensure_ascii=False)


def from_record(record: str) -> BlockAnalysis | None:
    """The analysis a record holds; None when it does not read as one (written by a broken process, say)."""
    try:
        data = json.loads(record)
        schema = None if data["schema"] is None else schema_from_data(data["schema"])
        diagnostics = tuple(
            BlockDiagnostic(code, start, end, message, Severity(severity),
                            tuple(BlockFix(title, tuple((a, b, text) for a, b, text in edits), preferred)
                                  for title, edits, preferred in fixes))
            for code, start, end, message, severity, fixes in data["diagnostics"])
        program = None if data["program"] is None else Program(data["program"][0], tuple(data["program"][1]))
        return BlockAnalysis(schema, data["sql"], diagnostics, tuple(data["tables"]), data["prql"], program)
    except Exception:  # any record that does not read back is a miss, whatever is wrong with it
        return None
