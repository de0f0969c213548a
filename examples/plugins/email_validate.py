"""E-mail validation (`email/validate`): a syntactic check of each address, no network involved."""

from __future__ import annotations

import polars as pl

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="email_validate")

# local part @ domain of dot-separated labels, ending in a letters-only top-level domain
ADDRESS = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$"  # noqa: E501


class Addresses(Table):
    id: int
    email: str


class Checked(Table):
    exists: bool


@plugin.step(name="exists", passthrough=True)
def exists(config: dict[str, object], input: Addresses) -> Checked:
    """`exists` is true when `email` is a well-formed address (no leading, trailing or doubled dots)."""
    email = pl.col("email")
    well_formed = (email.str.contains(ADDRESS) & ~email.str.contains(r"\.\.|^\.|\.@")).fill_null(False)
    return Checked.from_polars(input.to_polars().with_columns(exists=well_formed))
