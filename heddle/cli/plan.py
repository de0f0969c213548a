"""`heddle plan FILE`: print the typed DAG the engine would run."""

from __future__ import annotations

import argparse
import json
import sys

from heddle.cli.checked import check_source
from heddle.cli.commands import command_summary
from heddle.cli.files import read
from heddle.cli.options import add_profile_option
from heddle.cli.usage import UsageError
from heddle_engine.catalog import EngineCatalog
from heddle_engine.execute.functions import Functions
from heddle_engine.execute.lower import ExecPlan
from heddle_lang.plan import Plan


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "plan", help=command_summary("plan"),
        description="Check a Heddle file and print its typed plan: every node with its kind, binding, "
                    "resources, handler and output schema. Exit 1 (printing the errors) if the file does not check.",
    )
    parser.add_argument("path", metavar="FILE", help="a .he file, or - for stdin")
    parser.add_argument("--workflow", metavar="NAME", help="only this workflow (and the handlers it may call)")
    parser.add_argument("--format", choices=("text", "json", "mermaid", "dot"), default="text")
    parser.add_argument("--stage", choices=("typed", "exec"), default="typed",
                        help="typed: the checker's plan; exec: the execution DAG the engine runs (fused relational "
                             "blocks, lookups, parameters), as text or json")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="with --stage exec: where a Ray cluster runs each unit, and which run per partition "
                             "(nothing connects to the cluster)")
    add_profile_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = read(args.path)
    checked = check_source(source, args.profile, refused="no plan")
    if checked is None:
        return 1
    plan, catalog = checked.analysis.plan, checked.catalog
    if args.workflow is not None:
        if all(g.name != args.workflow for g in plan.workflows):
            known = ", ".join(g.name for g in plan.workflows) or "none"
            raise UsageError(f"{source.name} has no workflow `{args.workflow}` (workflows: {known})")
        plan = plan.only(args.workflow)
    if args.stage == "exec":
        return _exec(plan, args, source.name, catalog)
    from heddle_engine.lineage.redact import redact_plan

    plan, _ = redact_plan(plan, catalog)  # a secret config value is shown as *** (as lineage records it)
    rendered = {"text": plan.explain, "json": plan.to_json, "mermaid": plan.to_mermaid, "dot": plan.to_dot}
    sys.stdout.write(rendered[args.format]().rstrip("\n") + "\n")
    return 0


def _exec(plan: Plan, args: argparse.Namespace, name: str, catalog: EngineCatalog) -> int:
    """The execution DAG of each workflow (the lowering `heddle run` executes)."""
    from heddle_engine.execute import lower

    if args.format not in ("text", "json"):
        raise UsageError("--stage exec prints text or json")
    functions = Functions.of(catalog)
    lowered = [lower(plan.only(g.name), g.name, functions) for g in plan.workflows]
    notes = [_cluster_notes(p, functions) if args.cluster else {} for p in lowered]
    if args.format == "json":
        sys.stdout.write("[" + ",\n".join(_with_cluster(p.to_json(), n) for p, n in zip(lowered, notes, strict=True))
                         + "]\n")
    else:
        sys.stdout.write("\n".join(p.explain(n).rstrip("\n") for p, n in zip(lowered, notes, strict=True)) + "\n")
    for exec_plan in lowered:
        for error in exec_plan.errors:
            print(f"{name}: error: {error.message} [{error.code}]", file=sys.stderr)
    return 1 if any(p.errors for p in lowered) else 0


def _cluster_notes(plan: ExecPlan, functions: Functions) -> dict[tuple[str, str], str]:
    from heddle_engine.cluster.partition import placements

    return placements(plan, functions)


def _with_cluster(text: str, notes: dict[tuple[str, str], str]) -> str:
    """The JSON of an execution DAG with `cluster`: graph → unit → where a cluster runs it."""
    if not notes:
        return text
    data = json.loads(text)
    cluster: dict[str, dict[str, str]] = {}
    for (graph, unit), note in notes.items():
        cluster.setdefault(graph, {})[unit] = note.removeprefix("cluster: ")
    data["cluster"] = cluster
    return json.dumps(data, indent=2)
