"""`heddle inspect RUN [--batch N] [--stage NAME]`: a recorded run's stages, or the data one of them output
(of a stream's batch N)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shutil
import sys

import polars as pl
import pyarrow as pa

from heddle.cli.commands import command_summary
from heddle.cli.runs import add_project_option, columns, describe_run, duration, fail, store_for
from heddle_engine.lineage import LineageError, LineageStore, RunRecord, StageRecord
from heddle_engine.lineage.errors import UNREADABLE

TABLE_ROWS = 20  # rows shown by default as a table (json and csv show every row unless --limit)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "inspect", help=command_summary("inspect"),
        description="Show a recorded run: each stage with its state, attempts, rows, time and error. With --stage, "
                    "show the data that stage output instead. RUN is a run id, a unique prefix of one, or `last`.",
    )
    parser.add_argument("reference", metavar="RUN", help="a run id, a unique prefix of one, or `last`")
    parser.add_argument("--stage", metavar="NAME",
                        help="a node id (n3), a label (io.print), an assigned name, or GRAPH/NAME for a handler's")
    parser.add_argument("--batch", metavar="N", type=_count,
                        help="a stream's batch N: its stages and their data (the stages run once per run as they ran)")
    parser.add_argument("--limit", metavar="N", type=_count,
                        help=f"at most N rows (default: {TABLE_ROWS} as a table, all as json or csv)")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    add_project_option(parser)
    parser.set_defaults(run=run)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number of rows (0 or more), not {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    store = store_for(args)
    found = store.find(args.reference)
    if isinstance(found, LineageError):
        return fail(found)
    if args.stage is None:
        return _stages(store, found, args.format, args.batch)
    return _data(store, found, args)


# --- the stages of a run ----------------------------------------------------------------------------


def _stages(store: LineageStore, record: RunRecord, fmt: str, batch: int | None = None) -> int:
    stages = store.stages(record, batch)
    if isinstance(stages, LineageError):
        return fail(stages)
    if fmt == "json":
        json.dump({"run": record.to_json(), "stages": [s.to_json() for s in stages]}, sys.stdout, indent=2)
        print()
        return 0
    headers = ["STAGE", "LABEL", "STATE", "ATTEMPTS", "ROWS", "TIME", "ERROR"]
    rows = [[s.name.qualified, s.name.label, "recorded" if s.from_recording else s.state, str(s.attempts or "-"),
             "-" if s.rows is None else str(s.rows), duration(s.seconds), _first_line(s)] for s in stages]
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(h.lower() for h in headers)
        writer.writerows(rows)
        return 0
    print(describe_run(record))
    if record.error:
        print(f"error: {record.error.get('type')}: {record.error.get('message')}")
    if record.incomplete:
        print(f"recording incomplete: {record.incomplete}")
    print()
    print(columns(headers, rows, right={3, 4, 5}))
    return 0


def _first_line(stage: StageRecord) -> str:
    if stage.error is None:
        return ""
    message = str(stage.error.get("message") or "").strip().splitlines()
    return f"{stage.error.get('type')}: {message[0] if message else ''}"


# --- the data at a stage ----------------------------------------------------------------------------


def _data(store: LineageStore, record: RunRecord, args: argparse.Namespace) -> int:
    stage = store.stage(record, args.stage, args.batch)
    if isinstance(stage, LineageError):
        return fail(stage)
    limit = args.limit if args.limit is not None else (TABLE_ROWS if args.format == "table" else None)
    shown = store.table(record, stage, limit)
    if isinstance(shown, LineageError):
        return fail(shown)
    frame = _frame(shown, record, stage)
    if isinstance(frame, LineageError):
        return fail(frame)
    if args.format == "json":
        sys.stdout.write(_json(frame) + "\n")
    elif args.format == "csv":
        return _csv(frame, record, stage)
    else:
        total = stage.rows if stage.rows is not None else shown.num_rows
        print(f"{stage.name.describe()} in run {record.run_id}: {total} rows, {stage.state}")
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, fmt_str_lengths=80,
                       tbl_width_chars=_width()):
            print(frame)
        if shown.num_rows < total:
            print(f"{shown.num_rows} of {total} rows shown (--limit N shows more)")
    return 0


def _frame(table: pa.Table, record: RunRecord, stage: StageRecord) -> pl.DataFrame | LineageError:
    try:
        frame = pl.from_arrow(table)
    except Exception as error:  # an Arrow type Polars does not load
        return LineageError(UNREADABLE, f"the data of {stage.name.describe()} in run {record.run_id} "
                                        f"cannot be shown: {error}")
    assert isinstance(frame, pl.DataFrame)
    return frame


def _json(frame: pl.DataFrame) -> str:
    """The rows as a JSON array; binary values as hex text (Polars writes no JSON for binary columns)."""
    if not any(_holds_binary(dtype) for dtype in frame.schema.values()):
        return frame.write_json()
    return json.dumps(frame.to_dicts(), ensure_ascii=False, separators=(",", ":"), default=_json_value)


def _holds_binary(dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Binary):
        return True
    if isinstance(dtype, pl.List | pl.Array):
        return _holds_binary(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return any(_holds_binary(f.dtype) for f in dtype.fields)
    return False


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _csv(frame: pl.DataFrame, record: RunRecord, stage: StageRecord) -> int:
    try:
        text = frame.write_csv()
    except pl.exceptions.PolarsError as error:  # nested columns have no CSV form
        return fail(LineageError(UNREADABLE, f"the data of {stage.name.describe()} in run {record.run_id} "
                                             f"has no CSV form ({error}); use --format json"))
    sys.stdout.write(text)
    return 0


def _width() -> int:
    return max(shutil.get_terminal_size((120, 24)).columns, 80)
