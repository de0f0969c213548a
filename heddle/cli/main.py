"""Entry point of the `heddle` command."""

from __future__ import annotations

import argparse
import sys

from heddle.cli import check, fmt, inspect, plan, replay, run, runs, worker
from heddle.cli.files import UsageError
from heddle.process import tune_gc
from heddle_lang import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heddle",
        description="Heddle: check, format and run data-pipeline workflows written in .he files.",
    )
    parser.add_argument("--version", action="version", version=f"heddle {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    check.add_parser(commands)
    fmt.add_parser(commands)
    plan.add_parser(commands)
    run.add_parser(commands)
    runs.add_parser(commands)
    inspect.add_parser(commands)
    replay.add_parser(commands)
    worker.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    tune_gc()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"heddle: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
