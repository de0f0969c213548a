"""Steps that fail their first attempts: `retry` in the stage's config gets them through."""

from __future__ import annotations

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="flaky")
ATTEMPTS: dict[str, int] = {}


class Flaky(StepConfig[None]):
    name: str
    failures: int


@plugin.step(name="flaky", passthrough=True)
def flaky(config: Flaky, input: Table) -> Table:
    """Fails with a ConnectionError `failures` times, then passes its input on."""
    ATTEMPTS[config.name] = ATTEMPTS.get(config.name, 0) + 1
    if ATTEMPTS[config.name] <= config.failures:
        raise ConnectionError(f"{config.name}: attempt {ATTEMPTS[config.name]} lost its connection")
    return input
