"""`heddle fmt PATH... [--check] [--diff]`: rewrite files in the canonical layout."""

from __future__ import annotations

import argparse
import difflib
import re
import sys

from heddle.cli.commands import command_summary
from heddle.cli.files import STDIN, expand, read
from heddle.cli.report import line
from heddle_lang.formatter import format_tree
from heddle_lang.syntax import parse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "fmt", help=command_summary("fmt"),
        description="Format Heddle files in place. `heddle fmt -` reads stdin and writes stdout. "
                    "Files with syntax errors are left alone and the errors are reported.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a .he file, a folder, or - for stdin")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    parser.add_argument("--diff", action="store_true", help="change nothing; print what would change")
    parser.set_defaults(run=run)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> list[str]:
    """Lines with their breaks, by LSP's definition (`\\n`, `\\r\\n`, a lone `\\r`), as every Heddle tool counts."""
    return _LINE.findall(text)


def run(args: argparse.Namespace) -> int:
    status = 0
    for name in expand(args.paths):
        source = read(name)
        tree = parse(source.text)
        if source.encoding_error is not None:  # never rewrite what was not read as it is
            print(line(source.name, tree.lines, source.encoding_error), file=sys.stderr)
            print(f"{source.name}: not formatted: it is not UTF-8", file=sys.stderr)
            status = 1
            continue
        result = format_tree(tree)
        if result.text is None:
            for error in result.errors:
                print(line(source.name, tree.lines, error), file=sys.stderr)
            print(f"{source.name}: not formatted: fix the syntax errors first", file=sys.stderr)
            status = 1
            continue
        if name == STDIN and not (args.check or args.diff):
            sys.stdout.write(result.text)
            continue
        changed = result.text != source.text
        if args.diff and changed:
            sys.stdout.writelines(difflib.unified_diff(
                _lines(source.text), _lines(result.text), fromfile=source.name, tofile=source.name,
            ))
        if args.check:
            if changed:
                print(f"would reformat {source.name}", file=sys.stderr)
                status = 1
        elif changed and not args.diff and source.path is not None:
            source.path.write_text(result.text, encoding="utf-8")
            print(f"reformatted {source.name}", file=sys.stderr)
    return status
