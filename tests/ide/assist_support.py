"""Analyses for the tests of hover, completion, inlay hints and code lenses.

`cursor_in(text)` takes text with one `‸` marking the cursor and answers the analysis of the text
without it and the cursor's UTF-8 byte offset (the unit every query takes).
"""

from __future__ import annotations

import polars as pl

from heddle_lang.catalog import Catalog, FunctionSpec, ModuleSpec, ResourceSlot, ResourceSpec, StaticCatalog
from heddle_lang.semantic import Analysis
from heddle_lang.types import ConfigSchema, Field, Schema, ValueType
from tests.ide.queries_support import EXAMPLE_FILES, EXAMPLES, analysis_of, at, catalog, example

# Shared with the other query tests; re-exported so each test file imports from one place.
__all__ = ["EXAMPLES", "EXAMPLE_FILES", "analysis_of", "at", "catalog", "example"]

MARK = "‸"

# The head of the inline documents: two kinds of connection, a step, a handler.
HEAD = """\
import "std/io" io
import "database/postgresql" pg
import "fhub/kafka" kafka

resource warehouse = pg.connection {
  host: "localhost"
}

// The message broker.
resource kb = kafka.connection {
  broker: "localhost:9092"
}

// Users, from the warehouse.
step fetch = <connection=warehouse> pg.query {
  query: "SELECT id, name FROM users"
}

handler oops {
  *
    | io.stderr
}

"""


def paths() -> list[str]:
    return list(catalog().paths())


def cursor_in(text: str, with_catalog: Catalog | None = None) -> tuple[Analysis, int]:
    index = text.index(MARK)
    clean = text[:index] + text[index + len(MARK):]
    return analysis_of(clean, with_catalog), len(clean[:index].encode("utf-8"))


def slice_of(analysis: Analysis, start: int, end: int) -> str:
    return analysis.tree.data[start:end].decode("utf-8")


# A module made up for the tests: a function with two resource slots and a config with a nested record.
LIMITS = ConfigSchema((
    Field("attempts", ValueType("int"), required=True, doc="How many times."),
    Field("backoff", ValueType("float"), required=False, default=0.5),
    Field("jitter", ValueType("bool"), required=False, default=False),
))
TOY = ModuleSpec(
    path="toy/mod",
    namespace="toy",
    resources={
        "store": ResourceSpec("store", "toy.store", ConfigSchema((Field("url", ValueType("str")),)), doc="A store."),
        "cache": ResourceSpec("cache", "toy.cache", doc="A cache."),
    },
    functions={
        "copy": FunctionSpec(
            "copy",
            config=ConfigSchema((
                Field("table", ValueType("str"), doc="The target table."),
                Field("mode", ValueType("str", nullable=True), required=False, default="append"),
                Field("dry_run", ValueType("bool"), required=False, default=False),
                Field("limits", ValueType("record", record=LIMITS), required=False),
            )),
            resources=(ResourceSlot("store", "toy.store", doc="Where rows go."),
                       ResourceSlot("cache", "toy.cache", required=False)),
            input=Schema.of({"id": pl.Int64()}, open=True),
            passthrough=True,
            doc="Copy rows into a store.",
        ),
    },
    doc="A toy module.",
)
TOY_CATALOG = StaticCatalog({"toy/mod": TOY})

TOY_HEAD = """\
import "toy/mod" toy

resource s1 = toy.store {
  url: "mem://"
}

resource c1 = toy.cache

"""
