"""`heddle replay RUN [--batch N] --from STAGE`: run a recorded workflow (a stream's batch N) again from one
stage, on its recorded inputs.

The file is read and checked again (it may have been fixed since); the stage and everything downstream of
it run on the new plan, every stage feeding them is read from the recording. The replay is a run of its
own, recorded like any other, that names the run (and batch) it replays.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from heddle.cli.commands import command_summary
from heddle.cli.compiler import contained_compiler
from heddle.cli.interrupt import INTERRUPTED_EXIT, run_interruptibly
from heddle.cli.options import add_profile_option
from heddle.cli.params import add_param_option, parse_params
from heddle.cli.progress import Progress
from heddle.cli.project import Catalogs, analyze_file
from heddle.cli.report import line, problem_line
from heddle.cli.runs import add_project_option, fail, store_for
from heddle_engine.lineage import LineageError, LineageRecorder, read_limit
from heddle_engine.lineage.errors import UNREADABLE
from heddle_lang.decoding import decode
from heddle_lang.syntax import parse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "replay", help=command_summary("replay"),
        description="Re-run a recorded run from STAGE on: the file is checked again, STAGE and what is downstream "
                    "of it run, and the stages feeding them are read from the recording (their recorded data "
                    "must still fit the plan's schemas). A stream's run is replayed one batch at a time (--batch "
                    "N, from a stage downstream of its source), as a finite run of that batch. "
                    "The run's parameters are reused; --param overrides one. "
                    "Exit 0 when the replay succeeds, 1 when it fails, 2 when it cannot start, 130 when it is "
                    "interrupted (Ctrl-C).",
    )
    parser.add_argument("reference", metavar="RUN", help="a run id, a unique prefix of one, or `last`")
    parser.add_argument("--from", dest="start", metavar="STAGE", required=True,
                        help="a node id (n3), a label (io.print) or an assigned name of the workflow")
    parser.add_argument("--batch", metavar="N", type=_batch,
                        help="a stream's batch N (`heddle inspect RUN --batch N` shows it)")
    add_param_option(parser, "a workflow parameter (`@NAME` in a step's config); repeat for several")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="replay on a Ray cluster (as `heddle run --cluster`); default: heddle.toml's "
                             "[cluster] address")
    add_project_option(parser)
    add_profile_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The executor loads only for the commands that run something.
    from heddle_engine.execute import INTERRUPTED, RunRefused, new_run_id, run_workflow
    from heddle_engine.execute.result import ExecutionResult
    from heddle_engine.lineage.replay import replay_inputs

    store = store_for(args)
    record = store.find(args.reference)
    if isinstance(record, LineageError):
        return fail(record)
    overrides = parse_params(args.param)
    path = Path(record.path) if record.path else None
    if path is None or not path.is_file():
        return fail(LineageError(UNREADABLE, f"run {record.run_id} ran {record.file}, which is no longer there"))
    name = _shown(path)
    decoded = decode(path.read_bytes())
    with contained_compiler() as compiler:
        tree = parse(decoded.text)
        catalogs = Catalogs(args.profile)
        catalog = catalogs.for_file(path)
        analysis = analyze_file(tree, catalogs, path, compiler=compiler)
    errors = [decoded.error] if decoded.error is not None else [d for d in analysis.diagnostics if d.is_error]
    if errors:
        for diagnostic in errors:
            print(line(name, tree.lines, diagnostic), file=sys.stderr)
        print(f"{name}: cannot replay run {record.run_id}: the file does not check", file=sys.stderr)
        return 2
    inputs = replay_inputs(store, record, analysis.plan, args.start, catalog, batch=args.batch)
    if isinstance(inputs, LineageError):
        return fail(inputs)
    limit = read_limit(store.root)
    if isinstance(limit, LineageError):
        return fail(limit)
    recorder = LineageRecorder(store.root, limit, catalog=catalog)
    parameters = {**{k: str(v) for k, v in record.parameters.items()}, **overrides}
    run_id = new_run_id()

    def abandon() -> None:  # Ctrl-C, and a stage that does not end: the record says interrupted
        recorder.run_finished(ExecutionResult(run_id=run_id, status=INTERRUPTED, workflow=record.workflow))

    try:
        result = run_interruptibly(lambda interrupt: run_workflow(
            analysis.plan.only(record.workflow), record.workflow, catalog, file=name, parameters=parameters,
            observers=(Progress(sys.stderr, live=False), recorder), recorded=inputs.recorded,
            start_from=inputs.start.node_id, replay_of=record.run_id, replay_batch=args.batch, run_id=run_id,
            interrupt=interrupt,
            cluster=args.cluster),
            abandon=abandon)
    except RunRefused as refused:
        for error in refused.errors:
            print(problem_line(name, tree.lines, error), file=sys.stderr)
        print(f"{name}: cannot replay run {record.run_id}: the workflow cannot start", file=sys.stderr)
        return 2
    for warning in (*result.warnings, *([str(recorder.problem)] if recorder.problem else [])):
        print(f"heddle: warning: {warning}", file=sys.stderr)
    outcome = result.status if result.error is None else f"{result.status}: {result.error.type}: " \
                                                          f"{result.error.message} (line {result.error.line})"
    batch = f" batch {args.batch}" if args.batch is not None else ""
    print(f"heddle: run {result.run_id}, a replay of {record.run_id}{batch} from {inputs.start.describe()}, "
          f"{outcome}", file=sys.stderr)
    return 0 if result.status == "succeeded" else INTERRUPTED_EXIT if result.status == INTERRUPTED else 1


def _batch(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a batch number (1 or more), not {text!r}")
    return int(text)


def _shown(path: Path) -> str:
    """The file as messages name it: relative to the current folder when it is under it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative
