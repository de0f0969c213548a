"""What the Polars lowering cannot do exactly, as a value the checker reports (HE6007), and the run-time
refusals it builds into a query (a value PRQL's own engines reject, such as an integer overflow)."""

from __future__ import annotations

import re

import polars as pl

from heddle_lang.relational.rq import Span

REFUSAL = "heddle refuses:"  # how a run-time refusal's message starts (`refusal_message` finds it)


class UnsupportedError(Exception):
    """A construct the engine cannot compute exactly: `construct` names it as the user knows it, `hint`
    says what to write instead (or None), `span` is where (character offsets of the compiled text)."""

    def __init__(self, construct: str, span: Span = None, hint: str | None = None) -> None:
        super().__init__(construct)
        self.construct = construct
        self.span = span
        self.hint = hint

    def message(self) -> str:
        text = f"the engine cannot compute {self.construct} exactly as PRQL defines it"
        return text + (f": {self.hint}" if self.hint else "")


class LoweringTypeError(Exception):
    """An operation Polars cannot type (`amount + country`): `span` is the operation (compiled text),
    `unknown` says an operand's type is not known before the run (then the checker stays silent)."""

    def __init__(self, message: str, span: Span, unknown: bool) -> None:
        super().__init__(message)
        self.span = span
        self.unknown = unknown


def fail_if(condition: pl.Expr, message: str, dtype: pl.DataType) -> pl.Expr:
    """A column of nulls of `dtype` that makes the query fail with `message` where `condition` holds.

    Polars has no expression that raises, so the message is cast to a number: the strict cast fails and
    Polars reports the failing value, which is the message. `pl.coalesce(fail_if(...), value)` keeps
    `value` and checks the condition."""
    text = f"{REFUSAL} {message}"
    return pl.when(condition).then(pl.lit(text)).cast(pl.Int8, strict=True).cast(dtype)


def checked(value: pl.Expr, condition: pl.Expr, message: str, dtype: pl.DataType) -> pl.Expr:
    """`value`, failing the query with `message` where `condition` holds."""
    return pl.coalesce(fail_if(condition, message, dtype), value)


_REFUSED = re.compile(re.escape(REFUSAL) + r" ([^\"\]]+)")
_OVERFLOW = re.compile(r"conversion from `i128` to `(\w+)` failed")


def refusal_message(error: BaseException) -> str | None:
    """The user's message of a run-time refusal built by `fail_if` or of an integer overflow, if
    `error` is one; None for any other error."""
    text = str(error)
    found = _REFUSED.search(text)
    if found:
        return found.group(1).strip()
    overflow = _OVERFLOW.search(text)
    if overflow:
        return f"integer overflow: a result does not fit in {overflow.group(1).replace('i', 'Int')}"
    return None
