"""A step that always fails, and a sink that fails too: the handler of a failure fails itself."""

from __future__ import annotations

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="fragile")


@plugin.step(name="convert", passthrough=True)
def convert(config: dict[str, object], input: Table) -> Table:
    raise ValueError("the rates service is down")


@plugin.step(name="alert", passthrough=True)
def alert(config: dict[str, object], input: Table) -> Table:
    raise ConnectionError("the alert queue is unreachable")
