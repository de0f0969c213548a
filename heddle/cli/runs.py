"""`heddle runs`: the runs recorded in a project, newest first; and what the lineage commands share.

`inspect` and `replay` find the project's lineage, render columns and report errors the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path

from heddle.cli.commands import command_summary
from heddle_engine.catalog import find_project
from heddle_engine.lineage import LineageError, LineageStore, RunRecord, project_root


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "runs", help=command_summary("runs"),
        description="List the runs recorded under the project's .heddle/runs/, newest first: id, workflow, file, "
                    "status (succeeded, failed, interrupted, running, crashed), start, duration, rows recorded "
                    "(all stages summed) and size on disk. `, incomplete` after a status: part of the run could "
                    "not be recorded (`heddle inspect RUN` says why).",
    )
    add_project_option(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def add_project_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="PATH", type=Path,
                        help="the project (a folder or a .he file in it); default: the nearest folder holding "
                             "heddle.toml, else the current folder")


def store_for(args: argparse.Namespace) -> LineageStore:
    given: Path | None = args.project
    if given is None:
        return LineageStore(find_project(Path.cwd()) or Path.cwd())
    return LineageStore(project_root(given) if given.is_file() else find_project(given) or given)


def fail(error: LineageError) -> int:
    """Report a lineage error the CLI's way; the exit status of a usage error."""
    print(f"heddle: error: {error}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    store = store_for(args)
    runs = store.runs()
    if args.format == "json":
        json.dump([r.to_json() for r in runs], sys.stdout, indent=2)
        print()
        return 0
    if not runs:
        print(f"no runs recorded in {store.folder}", file=sys.stderr)
        return 0
    rows = [[r.run_id, r.workflow, r.file, r.status + (", incomplete" if r.incomplete else ""), when(r.started_at),
             duration(r.seconds), str(r.rows), size(r.size)] for r in runs]
    print(columns(["ID", "WORKFLOW", "FILE", "STATUS", "STARTED", "DURATION", "ROWS", "SIZE"], rows,
                  right={5, 6, 7}))
    return 0


def describe_run(run: RunRecord) -> str:
    """One line: `run ID: WORKFLOW in FILE, STATUS, started ..., took ...`."""
    text = (f"run {run.run_id}: {run.workflow} in {run.file}, {run.status}, started {when(run.started_at)}, "
            f"took {duration(run.seconds)}")
    if run.replay_of:
        batch = f" batch {run.replay_batch}" if run.replay_batch is not None else ""
        text += f" (a replay of {run.replay_of}{batch} from {run.replay_from})"
    return text


def columns(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> str:
    """Aligned columns two spaces apart; the columns numbered in `right` are right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def render(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    return "\n".join([render(headers), *(render(r) for r in rows)])


def when(moment: datetime | None) -> str:
    """Local time to the second."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "-"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{rest:02d}s"


def size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
