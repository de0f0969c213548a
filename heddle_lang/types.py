"""Types the checker reasons about: table schemas (columns of Polars dtypes) and config value types.

A column whose dtype is `None` exists but its type is not known before running (e.g. a column of a
SQL query checked offline). An *open* schema may hold more columns than it lists (e.g. messages of a
Kafka topic with no declared schema): reading an unlisted column is allowed, its type is unknown.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import types as _pytypes
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field

import polars as pl

from heddle_lang.records import record

# --- tables ----------------------------------------------------------------------------------------


def dtype_name(dtype: pl.DataType | None) -> str:
    """`Int64`, `String`, `List(String)`; `?` for a type known only at run time."""
    if dtype is None or dtype == pl.Null:
        return "?"
    if isinstance(dtype, pl.Datetime):
        return f"Datetime[{dtype.time_unit}{', ' + dtype.time_zone if dtype.time_zone else ''}]"
    if isinstance(dtype, pl.Duration):
        return f"Duration[{dtype.time_unit}]"
    if isinstance(dtype, pl.List):
        return f"List[{dtype_name(dtype.inner)}]"
    if isinstance(dtype, pl.Struct):
        return "Struct{" + ", ".join(f"{f.name}: {dtype_name(f.dtype)}" for f in dtype.fields) + "}"
    return str(dtype)


@record
class Column:
    name: str
    dtype: pl.DataType | None = None

    def __str__(self) -> str:
        return f"{self.name}: {dtype_name(self.dtype)}"


@record
class Schema:
    columns: tuple[Column, ...] = ()
    open: bool = False
    # Schemas key the caches of relational blocks and inference hooks: hashing Polars dtypes is Python code,
    # so the hash is computed once.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.columns, self.open)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def of(cls, columns: Mapping[str, pl.DataType | None] | Iterable[Column], open: bool = False) -> Schema:
        if isinstance(columns, Mapping):
            return cls(tuple(Column(n, d) for n, d in columns.items()), open)
        return cls(tuple(columns), open)

    @classmethod
    def unknown(cls) -> Schema:
        """Nothing known: any column may exist."""
        return cls((), open=True)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def get(self, name: str) -> Column | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def extended(self, other: Schema) -> Schema:
        """This schema with `other`'s columns added (or replaced, by name)."""
        replaced = {c.name: c for c in other.columns}
        kept = tuple(replaced.pop(c.name, c) for c in self.columns)
        return Schema(kept + tuple(c for c in other.columns if c.name in replaced), self.open or other.open)

    def to_polars(self) -> dict[str, pl.DataType]:
        """For planning on empty frames: an unknown type plans as `Null`."""
        return {c.name: c.dtype if c.dtype is not None else pl.Null() for c in self.columns}

    def render(self) -> str:
        inner = ", ".join(str(c) for c in self.columns)
        if self.open:
            inner = f"{inner}, ..." if inner else "..."
        return "{" + inner + "}"

    def __str__(self) -> str:
        return self.render()


_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_FLOATS = (pl.Float32, pl.Float64)


def assignable(actual: pl.DataType | None, required: pl.DataType | None) -> bool:
    """Can a column of type `actual` be given where `required` is expected? Unknowns never conflict."""
    if actual is None or required is None or pl.Null in (actual, required):
        return True
    if actual == required:
        return True
    if actual.is_integer() and (required.is_integer() or required.is_float()):
        return True
    if actual.is_float() and required.is_float():
        return True
    if isinstance(required, pl.Datetime) and isinstance(actual, pl.Datetime):
        return True
    if isinstance(required, pl.List) and isinstance(actual, pl.List):
        return assignable(actual.inner, required.inner)
    return False


def dtype_of_annotation(annotation: object) -> pl.DataType | None:
    """The column dtype a Python annotation declares (`int`, `str`, `pl.Float64`, `list[str]`, ...)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, _pytypes.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return dtype_of_annotation(args[0]) if len(args) == 1 else None
    if origin is typing.Annotated:
        return dtype_of_annotation(typing.get_args(annotation)[0])
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        inner = dtype_of_annotation(args[0]) if args else None
        return pl.List(inner if inner is not None else pl.Null())
    if isinstance(annotation, pl.DataType):
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, pl.DataType):
        return annotation()
    simple: dict[object, pl.DataType] = {
        int: pl.Int64(), float: pl.Float64(), str: pl.String(), bool: pl.Boolean(), bytes: pl.Binary(),
        _dt.date: pl.Date(), _dt.datetime: pl.Datetime("us"), _dt.time: pl.Time(),
        _dt.timedelta: pl.Duration("us"), decimal.Decimal: pl.Decimal(38, 9),
    }
    if annotation in simple:
        return simple[annotation]
    try:  # Arrow types, by way of Polars
        import pyarrow as pa

        if isinstance(annotation, pa.DataType):
            return pl.from_arrow(pa.table({"c": pa.array([], type=annotation)})).schema["c"]  # type: ignore[union-attr]
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    return None


# --- config values ---------------------------------------------------------------------------------


@record
class ValueType:
    """The type of a config value: `str`, `int`, `float`, `bool`, `list[T]`, `dict[str, T]`, a record, `any`."""

    kind: str  # "any" | "str" | "int" | "float" | "bool" | "list" | "dict" | "record"
    item: ValueType | None = None
    record: ConfigSchema | None = None
    nullable: bool = False

    def __str__(self) -> str:
        text = self.kind
        if self.kind == "list":
            text = f"list[{self.item or 'any'}]"
        elif self.kind == "dict":
            text = f"dict[str, {self.item or 'any'}]"
        elif self.kind == "record" and self.record is not None:
            text = "{" + ", ".join(f"{f.name}: {f.type}" for f in self.record.fields) + "}"
        return f"{text} | null" if self.nullable else text


ANY = ValueType("any")


@record
class Field:
    name: str
    type: ValueType = ANY
    required: bool = True
    doc: str = ""
    secret: bool = False
    default: object = None
    path: bool = False  # a file path: it must stay inside the project (`heddle_lang.paths`, HE4011)


@record
class ConfigSchema:
    fields: tuple[Field, ...] = ()
    open: bool = False  # unknown keys are accepted
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def get(self, name: str) -> Field | None:
        return self.by_name.get(name)

    @property
    def required(self) -> list[Field]:
        return [f for f in self.fields if f.required]
