"""`heddle plan FILE`: print the typed DAG the engine would run."""

from __future__ import annotations

import argparse
import sys

from heddle.cli.files import UsageError, read
from heddle.cli.project import Catalogs
from heddle.cli.report import line
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "plan", help="print the typed plan (DAG) of a file's workflows",
        description="Check a Heddle file and print its typed plan: every node with its kind, binding, "
                    "resources, handler and output schema. Exit 1 (printing the errors) if the file does not check.",
    )
    parser.add_argument("path", metavar="FILE", help="a .he file, or - for stdin")
    parser.add_argument("--workflow", metavar="NAME", help="only this workflow (and the handlers it may call)")
    parser.add_argument("--format", choices=("text", "json", "mermaid", "dot"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = read(args.path)
    tree = parse(source.text)
    analysis = analyze(tree, Catalogs().for_file(source.path))
    errors = [d for d in analysis.diagnostics if d.is_error]
    if errors:
        for diagnostic in errors:
            print(line(source.name, tree.lines, diagnostic), file=sys.stderr)
        print(f"{source.name}: no plan: the file does not check", file=sys.stderr)
        return 1
    plan = analysis.plan
    if args.workflow is not None:
        if all(g.name != args.workflow for g in plan.workflows):
            known = ", ".join(g.name for g in plan.workflows) or "none"
            raise UsageError(f"{source.name} has no workflow `{args.workflow}` (workflows: {known})")
        plan = plan.only(args.workflow)
    rendered = {"text": plan.explain, "json": plan.to_json, "mermaid": plan.to_mermaid, "dot": plan.to_dot}
    sys.stdout.write(rendered[args.format]().rstrip("\n") + "\n")
    return 0
