"""`heddle check PATH...`: report every diagnostic; exit 1 when there is an error.

A file checked again unchanged, with nothing it reads changed, is answered from the store of
`check_cache.py` without loading the checker."""

from __future__ import annotations

import argparse

from heddle.cli.check_cache import answer
from heddle.cli.commands import command_summary
from heddle.cli.options import add_profile_option


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "check", help=command_summary("check"),
        description="Check Heddle files. Prints `file:line:col: severity: message [CODE]` for each problem; "
                    "exit status 0 when there is no error, 1 when there is, 2 on a usage error.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a .he file, a folder, or - for stdin")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: one line per diagnostic; json: a JSON array (0-based, UTF-16 columns)")
    add_profile_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def check() -> int:
        from heddle.cli.check_files import check_files  # the checker and the engine: not for a stored answer

        return check_files(args.paths, args.format, args.profile)

    return answer(args.paths, [args.format, args.profile or ""], check)
