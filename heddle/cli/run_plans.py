"""Stored plans of `heddle run`: a file run again unchanged starts its workflow without being checked again.

`heddle run` checks its file before it runs it: parsing, the analysis, every relational block typed. When the
check passes, its plan is stored the way `heddle check` stores its answers (`check_cache.py`: keyed by the
interpreter, the current folder, the file's bytes, `--profile` and the environment; given back only while every
input the check read is unchanged — the libraries it imports, `heddle.toml`, the plugins, every module imported).
A run of the same file then loads its project's catalog and takes the plan from the store: neither the parser
nor the analysis is loaded (the bench workflow of `bench/e2e.py`: about 0.05 s of CPU less).

The plan is stored pickled and read back by an unpickler that builds nothing but the records and enumerations of
`heddle_lang`, Polars' data types and plain values (`_PlanUnpickler`): a record holding anything else is not
read — the file is checked again —, so reading a record runs no code.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import decimal
import enum
import io
import pickle
from typing import TYPE_CHECKING

from heddle.cli.check_cache import load, location, save
from heddle.cli.files import STDIN, Source
from heddle.cli.inputs import recording
from heddle_lang.plan import Plan
from heddle_lang.records import record
from heddle_lang.text import LineIndex, Span

if TYPE_CHECKING:
    from heddle_engine.catalog import EngineCatalog

PLAN_FIELD = "run_plan"  # of the record: the plan, pickled, in base64
# Plain values a plan's configs and literals may hold, besides what pickle writes without naming a class.
_PLAIN = {("builtins", "frozenset"), ("builtins", "set"), ("builtins", "complex"), ("builtins", "slice"),
          ("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"), ("datetime", "timedelta"),
          ("datetime", "timezone"), ("decimal", "Decimal")}
_PLAIN_VALUES = {"frozenset": frozenset, "set": set, "complex": complex, "slice": slice, "date": datetime.date,
                 "datetime": datetime.datetime, "time": datetime.time, "timedelta": datetime.timedelta,
                 "timezone": datetime.timezone, "Decimal": decimal.Decimal}


@record
class Ready:
    """A file that checks, ready to run: its lines (for messages), its project's catalog and its plan."""

    lines: LineIndex
    catalog: EngineCatalog
    plan: Plan


def checked_plan(given: str, source: Source, profile: str | None) -> Ready | None:
    """`source` (the file `given` on the command line) checked, or its plan from the store when nothing the check
    read changed. None when it does not check: its errors are then printed as `check_source` prints them."""
    from heddle.cli.catalog import project_catalog

    place = location([given], ["run", profile or ""]) if given != STDIN and source.encoding_error is None \
        else None
    stored = load(*place) if place is not None else None
    plan = _plan(stored.get(PLAN_FIELD)) if stored is not None else None
    if plan is not None and source.path is not None:
        catalog = project_catalog(source.path.parent.resolve(), profile)
        return Ready(LineIndex(source.text.encode("utf-8")), catalog, plan)
    from heddle.cli.checked import check_source  # the checker: not for a stored plan

    if place is None:
        checked = check_source(source, profile, refused="not run")
    else:
        with recording() as recorder:
            checked = check_source(source, profile, refused="not run")
        if checked is not None:
            save(*place, recorder, {PLAN_FIELD: _pickled(checked.analysis.plan)})
    if checked is None:
        return None
    return Ready(checked.tree.lines, checked.catalog, checked.analysis.plan)


def _pickled(plan: Plan) -> str:
    return base64.b64encode(pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def _plan(text: object) -> Plan | None:
    """The plan a record holds; None when it holds none, or anything but what a plan is made of."""
    if not isinstance(text, str):
        return None
    try:
        plan = _PlanUnpickler(io.BytesIO(base64.b64decode(text, validate=True))).load()
    except (pickle.UnpicklingError, binascii.Error, ValueError, TypeError, EOFError, AttributeError, ImportError,
            IndexError, KeyError):
        return None
    return plan if isinstance(plan, Plan) else None


class _PlanUnpickler(pickle.Unpickler):
    """Builds the classes a plan is made of and nothing else: records and enumerations of `heddle_lang` (a record's
    fields are set, no code of its own runs), `Span` (an int made from two, checked), Polars' data types, and the
    plain values of `_PLAIN`."""

    def find_class(self, module: str, name: str) -> type:
        if (module, name) in _PLAIN:
            return _PLAIN_VALUES[name]  # type: ignore[return-value]
        if (module, name) == ("heddle_lang.text", "Span"):  # an int (start << 32 | end): built from its two ints
            return Span
        if "." in name:  # an attribute of an attribute: never a class of the module itself
            pass
        elif module == "heddle_lang" or module.startswith("heddle_lang."):
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module and (
                    dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)):
                return found
        elif module.startswith("polars.datatypes."):
            import polars as pl

            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module and issubclass(found, pl.DataType):
                return found
        raise pickle.UnpicklingError(f"a plan holds no {module}.{name}")
