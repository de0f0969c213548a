"""Entry point of the `heddle` command.

Only the module of the command being run is imported (`commands.py`): `heddle --version` and `heddle --help`
import neither the engine nor Polars nor pyarrow.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from heddle.cli.commands import COMMANDS
from heddle.process import end, start_quietly, tune_gc
from heddle_lang.version import __version__


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command's parser: `command`'s own arguments in full, every other command by its summary."""
    parser = argparse.ArgumentParser(
        prog="heddle",
        description="Heddle: check, format and run data-pipeline workflows written in .he files.",
    )
    parser.add_argument("--version", action="version", version=f"heddle {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        if name == command:
            importlib.import_module(module).add_parser(commands)
        else:
            commands.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command's exit status. As the process's command (`argv` None), everything alive when it is done is
    left out of the collection the interpreter runs at exit (`gc.freeze`): 0.03-0.05 s of a `heddle run`
    spent scanning objects that exiting frees anyway (files and runs are closed before the command returns); a
    command that says its process needs no teardown ends there and then (`process.end`)."""
    code = _main(argv)
    if argv is None:
        gc.freeze()
        return end(code)
    return code


def _main(argv: list[str] | None) -> int:
    tune_gc()
    arguments = sys.argv[1:] if argv is None else argv
    command = next((a for a in arguments if not a.startswith("-")), None)
    if argv is None and command == "run":  # the run's own start calls `started()`
        start_quietly()
    if argv is None and command in COMMANDS:  # the process's command: dataclasses' code kept from the last one
        from heddle.kept_code import CodeStore, keep_dataclass_code

        keep_dataclass_code(CodeStore(f"dataclasses-{command}"))
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(arguments)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    from heddle.cli.usage import UsageError

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
