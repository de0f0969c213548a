"""One corpus case on one data set: Heddle's answer, PRQL's, and the verdict.

Verdicts:
  same        the same table
  refused     Heddle refused the query at check time with HE6007 (naming the construct)
  both-fail   PRQL's SQL fails too (prqlc refuses it, or DuckDB fails on this data), and so does Heddle
  run-refused Heddle's run stopped on a value PRQL's SQL accepts (e.g. a sum of integers beyond Int64,
              which DuckDB computes in 128 bits): an error, never a different table
  DIFFERENT   Heddle returned a table that is not PRQL's  (never acceptable)
  MISSING     Heddle failed where PRQL answers (check-time error other than HE6007, or a run error)
  SCHEMA      the schema `heddle plan` showed is not the one the run produced
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from heddle_lang.types import dtype_name
from tests.differential.compare import differences
from tests.differential.heddle_side import Answer, Project
from tests.differential.reference import Database, Reference, answer

OK = frozenset({"same", "refused", "both-fail", "run-refused"})


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return self.kind + (f": {self.detail}" if self.detail else "")


def _schema_problems(heddle: Answer, frame: pl.DataFrame) -> list[str]:
    planned = heddle.planned
    if planned is None:
        return ["`heddle plan` shows no schema for the block"]
    ran = [(name, dtype_name(dtype)) for name, dtype in frame.schema.items()]
    if [n for n, _ in planned] != [n for n, _ in ran]:
        return [f"plan columns {[n for n, _ in planned]}, run columns {[n for n, _ in ran]}"]
    return [f"`{n}`: plan {p}, run {r}" for (n, p), (_, r) in zip(planned, ran, strict=True) if p not in ("?", r)]


def judge(heddle: Answer, reference: Reference) -> Verdict:
    if heddle.frame is not None:
        schema = _schema_problems(heddle, heddle.frame)
        if reference.frame is None:
            return Verdict("DIFFERENT", f"Heddle returned a table; PRQL: {reference.error}")
        problems = differences(heddle.frame, reference)
        if problems:
            return Verdict("DIFFERENT", "; ".join(problems[:3]))
        if schema:
            return Verdict("SCHEMA", "; ".join(schema[:3]))
        return Verdict("same")
    if not heddle.checked:
        if heddle.codes == ("HE6007",) or (set(heddle.codes) == {"HE6007"}):
            return Verdict("refused", _first(heddle.message))
        if reference.frame is None:
            return Verdict("both-fail", f"{_first(heddle.message)} | {reference.error}")
        return Verdict("MISSING", f"check: {_first(heddle.message)}")
    if reference.frame is None:
        return Verdict("both-fail", f"{_first(heddle.message)} | {reference.error}")
    if "heddle refuses" in heddle.message or "integer overflow" in heddle.message:
        return Verdict("run-refused", _first(heddle.message))
    return Verdict("MISSING", f"run: {_first(heddle.message)}")


def _first(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def run_case(project: Project, database: Database, query: str) -> tuple[Verdict, Answer, Reference]:
    reference = answer(query, database.tables, database)
    heddle = project.run(query)
    return judge(heddle, reference), heddle, reference
