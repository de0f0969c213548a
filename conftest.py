"""Shared pytest options; also makes the repository root importable (`tests.*`, `bench.*`)."""

from __future__ import annotations

import os

import pytest

# Checking asks the databases a program names what their queries return (`heddle_engine.describe`); the
# example programs name hosts such as `pg.internal`, which tests must not try to reach. The tests of
# describing turn it on for themselves.
os.environ["HEDDLE_DESCRIBE"] = "off"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-snapshots", action="store_true",
                     help="rewrite the expected-output files of snapshot tests from the current output")


@pytest.fixture
def update_snapshots(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-snapshots"))
