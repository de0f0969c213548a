"""`heddle worker`: a generic, stateless Python worker (spec §6, JIT code injection).

It starts with no plugin: at the start of each run the engine ships the source of the plugin modules the
workflow uses (`heddle run --workers grpc://...`), and the worker runs their steps, each module version
in a namespace of its own, so an edited plugin runs in its new version on the next run without a
restart. The built-in modules (`std/io`, `fhub/...`) are its own, for the resources steps inject.
"""

from __future__ import annotations

import argparse

from heddle.cli.commands import command_summary
from heddle.flight.jit import JitHost
from heddle.flight.serve import arguments, run, start
from heddle.sdk.calling import own_plugin
from heddle.sdk.plugin import Plugin


def add_parser(commands: argparse._SubParsersAction) -> None:
    template = arguments("")
    parser = commands.add_parser(
        "worker", help=command_summary("worker"),
        description="A stateless Python worker: runs the steps of the plugin modules each run ships to it. Listens "
                    "on 127.0.0.1 on a free port unless told otherwise, and prints `heddle worker listening on "
                    "ADDRESS`. A token (HEDDLE_WORKER_TOKEN) is required from every caller when set.",
        parents=[template], add_help=False, conflict_handler="resolve")
    parser.add_argument("-h", "--help", action="help", help="show this help message and exit")
    parser.set_defaults(run=serve)


def serve(args: argparse.Namespace) -> int:
    server = start(JitHost(_builtin), args)
    run(server, "JIT: modules are shipped by each run")
    return 0


def _builtin(path: str) -> Plugin:
    from heddle_engine.loading import load_target  # the CLI may use the engine's modules; the SDK may not
    from heddle_engine.modules import BUILTIN_MODULES

    if path not in BUILTIN_MODULES:
        raise LookupError(f"`{path}` is not a built-in module; ship its source with `load`")
    target = own_plugin(load_target(BUILTIN_MODULES[path]))
    if not isinstance(target, Plugin):
        raise LookupError(f"`{path}` is not a plugin")
    return target
