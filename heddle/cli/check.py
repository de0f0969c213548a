"""`heddle check PATH...`: report every diagnostic; exit 1 when there is an error."""

from __future__ import annotations

import argparse
import json
import sys

from heddle.cli.files import expand, read
from heddle.cli.project import Catalogs, paths_of
from heddle.cli.report import as_json, line, summary
from heddle_lang.diagnostics import Severity
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "check", help="report syntax, layout, name, resource, config and type errors",
        description="Check Heddle files. Prints `file:line:col: severity: message [CODE]` for each problem; "
                    "exit status 0 when there is no error, 1 when there is, 2 on a usage error.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a .he file, a folder, or - for stdin")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: one line per diagnostic; json: a JSON array (0-based, UTF-16 columns)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    names = list(expand(args.paths))
    catalogs = Catalogs()
    records = []
    errors = warnings = 0
    for name in names:
        source = read(name)
        tree = parse(source.text)
        catalog = catalogs.for_file(source.path)
        for diagnostic in analyze(tree, catalog, paths=paths_of(source.path, catalog)).diagnostics:
            errors += diagnostic.severity is Severity.ERROR
            warnings += diagnostic.severity is Severity.WARNING
            if args.format == "json":
                records.append(as_json(source.name, tree.lines, diagnostic))
            else:
                print(line(source.name, tree.lines, diagnostic))
    if args.format == "json":
        json.dump(records, sys.stdout, indent=2)
        print()
    elif errors or warnings:
        print(summary(errors, warnings, len(names)), file=sys.stderr)
    return 1 if errors else 0
