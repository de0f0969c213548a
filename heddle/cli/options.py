"""Options several commands share, defined once (importing nothing of the checker or the engine)."""

from __future__ import annotations

import argparse


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", metavar="NAME",
                        help="the resource profile of heddle.toml in force ([profiles.NAME.resources.RESOURCE]); "
                             "default: $HEDDLE_PROFILE, else none")
