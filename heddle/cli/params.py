"""`--param NAME=VALUE`: workflow parameters given on the command line (`heddle run`, `heddle replay`)."""

from __future__ import annotations

import argparse

from heddle.cli.usage import UsageError


def add_param_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--param", metavar="NAME=VALUE", action="append", default=[], help=help)


def parse_params(given: list[str]) -> dict[str, str]:
    """The `NAME=VALUE` pairs by name (the last one wins); a malformed one is a usage error."""
    values: dict[str, str] = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise UsageError(f"--param expects NAME=VALUE, not {item!r}")
        values[name.strip()] = value
    return values
