"""`heddle run FILE`: check a file, then run one of its workflows and show its progress.

Exit status: 0 when the run succeeds (failures its handlers took included), 1 when it fails, 2 when the
program does not check or the run cannot start (a missing or mistyped `--param`, ...), 130 when it is
interrupted (Ctrl-C: see `interrupt.py`).

A workflow that starts with a stream source (`kafka.consume`) runs batch by batch until SIGINT or SIGTERM
(then the batch in flight finishes and is committed, and the command exits 0; a second signal quits at once,
that batch uncommitted, 130), or until `--max-batches N` batches or `--until-idle DURATION` without a message.

Progress goes to standard error: a live block on a terminal, plain lines otherwise, or one JSON object per
line with `--progress jsonl` (for programs: the language server's Run). With `--format json`, standard output
carries only the run's report (one JSON object) and what the workflow prints goes to standard error. Unless
`--no-lineage`, the run is recorded under the project's `.heddle/runs/`.

`heddle run - --stdin-filename PATH` runs the text on standard input as if it were the file PATH (an editor's
unsaved buffer): relative paths, the project and lineage are PATH's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heddle.cli.commands import command_summary
from heddle.cli.files import read
from heddle.cli.interrupt import INTERRUPTED_EXIT, run_interruptibly
from heddle.cli.options import add_profile_option
from heddle.cli.params import add_param_option, parse_params
from heddle.cli.progress import AboveProgress, JsonProgress, Progress, duration
from heddle.cli.report import problem_line
from heddle.cli.run_plans import checked_plan
from heddle.cli.usage import UsageError
from heddle.process import started, teardown_not_needed
from heddle_lang.plan import Plan

if TYPE_CHECKING:
    from heddle_engine.catalog import EngineCatalog
    from heddle_engine.cluster.partition import Partitioning
    from heddle_engine.execute import ExecutionResult
    from heddle_engine.lineage.recorder import LineageRecorder


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "run", help=command_summary("run"),
        description="Check a Heddle file and run one of its workflows. Relative paths in the file are relative "
                    "to its folder. Exit 0 when the run succeeds, 1 when it fails, 2 when the file does not "
                    "check or the run cannot start, 130 when it is interrupted (Ctrl-C).",
    )
    parser.add_argument("path", metavar="FILE", help="a .he file, or - for stdin")
    parser.add_argument("--stdin-filename", metavar="PATH",
                        help="with FILE -, the file stdin stands for: its folder, project and lineage apply")
    parser.add_argument("--workflow", metavar="NAME", help="the workflow to run (needed when the file has several)")
    add_param_option(parser, "a workflow parameter (`@NAME` in a step's config); repeat for several")
    parser.add_argument("--workers", metavar="URL", action="append", default=[],
                        help="run the project's Python steps in these `heddle worker`s (grpc://host:port; repeat or "
                             "separate with commas); default: heddle.toml's [workers] jit")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run on a Ray cluster: ray://HOST:PORT, HOST:PORT, or auto (RAY_ADDRESS, else the cluster "
                             "running on this machine); default: heddle.toml's [cluster] address "
                             "(needs heddle-lang[ray])")
    parser.add_argument("--partitions", metavar="N", type=int, default=0,
                        help="on a cluster: cut a large input of a row-local stage into N partitions (default: the "
                             "cluster's processors)")
    parser.add_argument("--partition-rows", metavar="ROWS", type=int, default=1_000_000,
                        help="on a cluster: inputs from this many rows are cut into partitions (default 1000000)")
    parser.add_argument("--no-lineage", action="store_true", help="do not record this run's lineage")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: progress on stderr; json: the run's report on stdout")
    parser.add_argument("--progress", choices=("text", "jsonl"), default="text",
                        help="text: stages as lines (a live block on a terminal); jsonl: one JSON object per event, "
                             "on stderr")
    parser.add_argument("--max-batches", metavar="N", type=_positive,
                        help="a stream: stop after N batches (each committed)")
    parser.add_argument("--until-idle", metavar="DURATION", type=_duration,
                        help="a stream: stop once no message came for DURATION (\"5s\", \"500ms\", \"2m\")")
    add_profile_option(parser)
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a number of batches is a positive integer, not {text!r}")
    return value


def _duration(text: str) -> float:
    from heddle_lang.semantic.retry import duration_seconds

    seconds = duration_seconds(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"a duration is a number with a unit (ms, s, m, h), such as \"5s\"; "
                                         f"not {text!r}")
    return seconds


def run(args: argparse.Namespace) -> int:
    # only commands that run load the engine
    from heddle_engine.execute import INTERRUPTED, RunRefused, StreamLimits, new_run_id, prepare, run_workflow
    from heddle_engine.execute.result import ExecutionResult

    source = read(args.path, stdin_filename=args.stdin_filename)
    parameters = parse_params(args.param)
    ready = checked_plan(args.path, source, args.profile)
    if ready is None:
        return 2
    lines, catalog = ready.lines, ready.catalog
    workflow = _workflow(ready.plan, args.workflow, source.name)
    plan = ready.plan.only(workflow)
    exec_plan, _, problems = prepare(plan, workflow, catalog, parameters=parameters, source=source.text)
    if problems:
        for problem in problems:
            print(problem_line(source.name, lines, problem), file=sys.stderr)
        print(f"{source.name}: not run: workflow `{workflow}` cannot start", file=sys.stderr)
        return 2
    real_err = sys.stderr
    progress: Progress | JsonProgress = (
        JsonProgress(real_err) if args.progress == "jsonl"
        else Progress(real_err, live=args.format == "text" and real_err.isatty()))
    observers: list[Any] = [progress]
    recorder = None if args.no_lineage else _recorder(source.path, catalog)
    if recorder is not None:
        observers.append(recorder)
    run_id, jit_workers = new_run_id(), _workers(args.workers)

    def abandon() -> None:  # Ctrl-C, and a stage that does not end: the record says interrupted, not crashed
        if recorder is not None:
            recorder.run_finished(ExecutionResult(run_id=run_id, status=INTERRUPTED, workflow=workflow))

    started()  # the collector, off since the process started (`main`), on again for the run
    with _streams(progress, json_report=args.format == "json"):
        try:
            result = run_interruptibly(lambda interrupt: run_workflow(
                plan, workflow, catalog, file=source.name, parameters=parameters, observers=observers,
                source=source.text, jit_workers=jit_workers, run_id=run_id, interrupt=interrupt,
                stream=StreamLimits(args.max_batches, args.until_idle), cluster=args.cluster,
                partitioning=_partitioning(args)),
                abandon=abandon, stream=exec_plan.stream is not None)
        except RunRefused as refused:
            for problem in refused.errors:
                print(problem_line(source.name, lines, problem), file=real_err)
            return 2
    problem = recorder.problem if recorder is not None else None
    warnings = [*result.warnings, *([f"lineage: {problem}"] if problem is not None else [])]
    for warning in warnings:
        print(f"heddle: warning: {warning}", file=real_err)
    if args.format == "json":
        report = _report(result, plan)
        report["warnings"] = warnings
        report["lineage"] = None if recorder is None or recorder.folder is None else {
            "folder": str(recorder.folder), "complete": problem is None}
        print(json.dumps(report, indent=2))
    else:
        incomplete = "; its lineage is incomplete (see the warning above)" if problem is not None else ""
        print(_summary(result) + incomplete, file=real_err)
    if not catalog.imported_user_code and "ray" not in sys.modules:
        teardown_not_needed()  # heddle's own modules only: everything they opened is closed
    return 0 if result.status == "succeeded" else INTERRUPTED_EXIT if result.status == INTERRUPTED else 1


def _partitioning(args: argparse.Namespace) -> Partitioning:
    from heddle_engine.cluster.partition import Partitioning

    if args.partitions < 0 or args.partition_rows < 1:
        raise UsageError("--partitions is 0 (the cluster's processors) or more; --partition-rows is 1 or more")
    return Partitioning(args.partitions, args.partition_rows)


def _workers(given: list[str]) -> list[str]:
    addresses = [a.strip() for text in given for a in text.split(",") if a.strip()]
    if not addresses:
        return addresses
    from heddle.flight.protocol import parse_address

    for address in addresses:
        try:
            parse_address(address)
        except ValueError as error:
            raise UsageError(f"--workers: {error}") from None
    return addresses


def _workflow(plan: Plan, wanted: str | None, name: str) -> str:
    workflows = [g.name for g in plan.workflows]
    if wanted is not None:
        if wanted not in workflows:
            raise UsageError(f"{name} has no workflow `{wanted}` (workflows: {', '.join(workflows) or 'none'})")
        return wanted
    if len(workflows) != 1:
        if not workflows:
            raise UsageError(f"{name} has no workflow to run")
        raise UsageError(f"{name} has several workflows ({', '.join(workflows)}): choose one with --workflow")
    return workflows[0]


def _recorder(path: Path | None, catalog: EngineCatalog) -> LineageRecorder | None:
    """The lineage recorder of the file's project; None (with a warning) when lineage is not available. It reads
    the run's catalog (which keys are secret): plugins and workers are not loaded a second time."""
    try:
        from heddle_engine.lineage.recorder import LineageRecorder
        from heddle_engine.lineage.settings import project_root, read_limit
    except ImportError as error:
        print(f"heddle: warning: this run's lineage is not recorded ({error}); pass --no-lineage to run without "
              "it", file=sys.stderr)
        return None
    root = project_root(path if path is not None else Path.cwd() / "stdin.he")
    limit = read_limit(root)
    if not isinstance(limit, int):
        print(f"heddle: warning: lineage: {limit}; the default limit applies", file=sys.stderr)
        limit = None
    return LineageRecorder(root, limit, catalog=catalog)


@contextlib.contextmanager
def _streams(progress: Progress | JsonProgress, *, json_report: bool) -> Iterator[None]:
    """During the run: a JSON report keeps stdout for itself; a live block keeps the workflow's own
    output above it, JSON events keep it out of their lines."""
    out, err = sys.stdout, sys.stderr
    try:
        if json_report:
            sys.stdout = err
        if isinstance(progress, JsonProgress) or progress.live:
            sys.stdout = AboveProgress(sys.stdout, progress)  # type: ignore[assignment]
            sys.stderr = AboveProgress(err, progress)  # type: ignore[assignment]
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def counted(count: int, what: str) -> str:
    return f"{count} {what}{'s' if count != 1 else ''}"


def _summary(result: ExecutionResult) -> str:
    stages = sum(1 for (graph, _), _ in result.states.items() if graph == result.workflow)
    # The handlers' stages print their lines too: the summary counts them apart, so the numbers add up.
    handler_stages = len(result.states) - stages
    if result.status == "interrupted":
        done = sum(1 for (graph, _), state in result.states.items() if graph == result.workflow and
                   state in ("succeeded", "handled"))
        return f"heddle: run {result.run_id} interrupted: {done} of {stages} stages done"
    if result.status == "succeeded":
        handled = sum(1 for state in result.states.values() if state == "handled")
        note = f", {handled} failure{'s' if handled != 1 else ''} handled" if handled else ""
        if result.batches is not None:
            note = f", {result.batches} batch{'es' if result.batches != 1 else ''} committed{note}"
        handlers = f", {counted(handler_stages, 'handler stage')}" if handler_stages else ""
        return (f"heddle: run {result.run_id} succeeded: {counted(stages, 'stage')}{handlers} in "
                f"{duration(result.seconds)}{note}")
    kept = ", ".join(f"{key} ({table.num_rows} row{'s' if table.num_rows != 1 else ''})"
                     for key, table in result.kept.items())
    note = f"; failed rows kept in the run's result: {kept}" if kept else ""
    return f"heddle: run {result.run_id} failed: {result.message}{note}"


def _report(result: ExecutionResult, plan: Plan) -> dict[str, Any]:
    stages = []
    for (graph_name, node_id), state in result.states.items():
        graph = plan.graph(graph_name)
        node = graph.node(node_id) if graph is not None else None
        rows = result.rows.get((graph_name, node_id))
        stages.append({
            "graph": graph_name, "node": node_id, "label": node.label if node else node_id,
            "line": node.line if node else None, "state": str(state),
            "rows": {"input": rows.input, "output": rows.output, "failed": rows.failed} if rows else None,
        })
    error = result.error
    return {
        "run_id": result.run_id, "workflow": result.workflow, "status": result.status, "batches": result.batches,
        "seconds": round(result.seconds, 6), "message": result.message,
        "error": None if error is None else {"message": error.message, "type": error.type, "step": error.step,
                                             "line": error.line, "attempt": error.attempt},
        "kept_rows": {key: table.num_rows for key, table in result.kept.items()},
        "stages": stages, "warnings": list(result.warnings),
        "cluster": dict(result.cluster) if result.cluster is not None else None,
    }

