"""Heddle's answer: the query as the first stage of a workflow, run with `heddle run` as a user runs it.

`Project(folder, tables)` writes the tables as Parquet files and, per query, a `.he` file: one
`io.read_parquet` step per table (its schema declared, as a user declares it) and a workflow whose first
stage is the query as a relational block, piped into `io.write_parquet`. `heddle plan --format json` gives
the schema the checker computed for the block; `heddle run` writes the result, read back with Polars.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from heddle.cli.main import main
from heddle_lang.types import dtype_name


@dataclass(frozen=True, slots=True)
class Answer:
    frame: pl.DataFrame | None  # the result; None when the file did not check or the run failed
    checked: bool  # the file checked without errors
    message: str  # the errors (check or run) when there is no frame
    codes: tuple[str, ...] = ()  # diagnostic codes of the errors at check time
    planned: tuple[tuple[str, str], ...] | None = None  # the block's (column, type) as `heddle plan` shows


def _spelling(dtype: pa.DataType) -> str:
    polars = pl.from_arrow(pa.schema([("x", dtype)]).empty_table()).schema["x"]  # type: ignore[union-attr]
    text = dtype_name(polars)
    # `Datetime[us]` is written `Datetime(us)` in a config (no quotes inside the string)
    return text.replace("[", "(").replace("]", ")")


def _call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


class Project:
    def __init__(self, folder: Path, tables: Mapping[str, pa.Table]) -> None:
        self.folder = folder
        (folder / "data").mkdir(parents=True, exist_ok=True)
        (folder / "heddle.toml").write_text("", encoding="utf-8")
        steps = ['import "std/io" io', ""]
        for name, table in tables.items():
            pq.write_table(table, folder / "data" / f"{name}.parquet")
            columns = "\n".join(f'    {f.name}: "{_spelling(f.type)}"' for f in table.schema)
            steps.append(f'step {name} = io.read_parquet {{\n  path: "data/{name}.parquet"\n  schema: {{\n'
                         f"{columns}\n  }}\n}}\n")
        self.header = "\n".join(steps)
        self.count = 0

    def source(self, query: str, output: str) -> str:
        body = "\n".join("    " + line if line.strip() else "" for line in query.splitlines())
        return (f"{self.header}\nworkflow q {{\n  (\n{body}\n  )\n"
                f'    | io.write_parquet {{ path: "{output}" }}\n}}\n')

    def run(self, query: str) -> Answer:
        self.count += 1
        output = f"out/{self.count}.parquet"
        path = self.folder / f"q{self.count}.he"
        path.write_text(self.source(query, output), encoding="utf-8")
        code, out, err = _call(["plan", str(path), "--format", "json"])
        if code != 0:
            codes = tuple(sorted(set(_codes(err))))
            return Answer(None, False, err.strip(), codes)
        planned = _block_schema(json.loads(out))
        code, out, err = _call(["run", str(path), "--no-lineage", "--format", "json"])
        if code != 0:
            report = json.loads(out) if out.strip().startswith("{") else {}
            message = (report.get("message") or err).strip() if report else err.strip()
            return Answer(None, True, message, (), planned)
        return Answer(pl.read_parquet(self.folder / output), True, "", (), planned)


def _codes(text: str) -> list[str]:
    import re

    return re.findall(r"\[(HE\d{4})\]", text)


def _block_schema(plan: dict) -> tuple[tuple[str, str], ...] | None:
    for graph in plan.get("graphs", plan.get("workflows", [])):
        for node in graph.get("nodes", []):
            if node.get("kind") == "relational":
                return tuple((c["name"], c["type"]) for c in node["output"]["columns"])
    return None
