"""Keeping secrets out of what a run shows: error messages, stack traces, the error context, warnings.

Every `Secret` value a run's configs hold (and every value read from the environment for one) is
registered here; `redact` replaces each occurrence with `***`. Observers that keep data read `values()`
(`RunInfo.secrets`): the lineage recorder scrubs them from every output it writes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from heddle.core.config import Config, Secret

MASK = "***"


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._ordered: tuple[str, ...] = ()  # the same, longest first: a new tuple whenever one is added
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        found = [v for v in values if v]
        if found:
            with self._lock:
                if not self._secrets.issuperset(found):
                    self._secrets.update(found)
                    self._ordered = longest_first(self._secrets)

    def values(self) -> tuple[str, ...]:
        """Every secret value registered so far, longest first (the same tuple until one is added)."""
        return self._ordered

    def add_config(self, config: object) -> None:
        """The `Secret` values anywhere inside a built config (nested configs, mappings and lists too)."""
        self.add(_secret_values(config))

    def redact(self, text: str) -> str:
        return scrub(text, self._ordered)


def longest_first(secrets: Iterable[str]) -> tuple[str, ...]:
    """Distinct non-empty secrets, longest first, so that a secret containing another is masked whole."""
    return tuple(sorted({s for s in secrets if s and s != MASK}, key=len, reverse=True))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret (ordered by `longest_first`) replaced by `MASK`."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _secret_values(value: object, depth: int = 0) -> Iterable[str]:
    if depth > 32:
        return
    if isinstance(value, Secret):
        yield str(value)
    elif isinstance(value, Config):
        for item in value.to_dict().values():
            yield from _secret_values(item, depth + 1)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _secret_values(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secret_values(item, depth + 1)
