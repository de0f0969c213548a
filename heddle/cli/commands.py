"""The `heddle` subcommands: the module that implements each and its one-line summary.

`heddle.cli.main` imports only the module of the command being run (a command module imports the engine,
Polars and pyarrow as it needs them), so `heddle --version` and `heddle --help` import none of them.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("heddle.cli.check", "report syntax, layout, name, resource, config and type errors"),
    "fmt": ("heddle.cli.fmt", "format files in the canonical layout"),
    "plan": ("heddle.cli.plan", "print the typed plan (DAG) of a file's workflows"),
    "run": ("heddle.cli.run", "run a workflow"),
    "runs": ("heddle.cli.runs", "list the recorded runs of a project"),
    "inspect": ("heddle.cli.inspect", "show a recorded run's stages, or the data at one stage"),
    "replay": ("heddle.cli.replay", "re-run a recorded run from one stage, on the data recorded upstream of it"),
    "worker": ("heddle.cli.worker",
               "serve Python steps to engines over Arrow Flight (JIT: runs ship their plugins' source)"),
}


def command_summary(name: str) -> str:
    return COMMANDS[name][1]
