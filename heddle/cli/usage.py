"""`UsageError`: a command-line mistake, apart from what reads files so that `main` catches it importing nothing."""

from __future__ import annotations


class UsageError(Exception):
    """A command-line mistake: reported on stderr, exit status 2."""
