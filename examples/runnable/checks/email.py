"""E-mail checks (`email/validate`) for the runnable examples: a syntactic check of each address.

A row without an address cannot be checked: it fails on its own (`RowErrors`), goes to the stage's
handler with the reason, and the other rows go on.
"""

from __future__ import annotations

import polars as pl

from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="email_validate")

# something@domain.tld: no blanks, one @, a dot in the domain, a top-level domain of letters
ADDRESS = r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)*\.[A-Za-z]{2,63}$"


class Addresses(Table):
    id: int
    email: str


class Checked(Table):
    exists: bool


@plugin.step(name="exists", passthrough=True)
def exists(config: dict[str, object], input: Addresses) -> Checked:
    """`exists` is true when `email` is a well-formed address; a row without one fails."""
    frame = input.to_polars()
    missing = pl.col("email").is_null()
    checked = frame.filter(~missing).with_columns(exists=pl.col("email").str.contains(ADDRESS))
    failed = frame.filter(missing)
    if failed.is_empty():
        return Checked.from_polars(checked)
    raise RowErrors(Checked.from_polars(checked), Table.from_polars(failed), "no address to check")
