"""The module catalog of the project a file is in, as the commands load it."""

from __future__ import annotations

from pathlib import Path

from heddle.cli.usage import UsageError
from heddle_engine.catalog import EngineCatalog, load_catalog


def project_catalog(start: Path, profile: str | None) -> EngineCatalog:
    """The catalog of the project of the folder `start` (resolved), with the resource profile `profile` (`--profile`,
    else `HEDDLE_PROFILE`) in force; a profile that does not exist is a usage error. Without the docstrings of config
    keys: no command shows them."""
    catalog = load_catalog(start, profile=profile, docs=False)
    if catalog.profile_error is not None:
        raise UsageError(catalog.profile_error)
    return catalog
