"""What `fhub/llm`'s prompt sends and what it reads back: the user message of a row (a template over its
columns, or the row as JSON), and an answer's typed columns when a JSON schema constrains it."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import string
from collections.abc import Mapping

import polars as pl

from heddle_lang.catalog import InferenceError

_FORMATTER = string.Formatter()
_SCALARS: dict[str, pl.DataType] = {"string": pl.String(), "integer": pl.Int64(), "number": pl.Float64(),
                                    "boolean": pl.Boolean()}


def template_columns(template: str) -> list[str]:
    """The columns a user template refers to (`{amount}`); raises `InferenceError` on a malformed one."""
    try:
        fields = [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
    except ValueError as error:
        raise InferenceError(f"the `user` template does not parse: {error} (write `{{{{` for a literal `{{`)") \
            from None
    for name in fields:
        if not name or not name.isidentifier():
            raise InferenceError(f"the `user` template refers to `{{{name}}}`: a template names a column, such "
                                 "as `{amount}`")
    return list(dict.fromkeys(fields))


def user_message(template: str | None, row: Mapping[str, object]) -> str:
    """The user message of one row: the template filled with its values, else the row as JSON."""
    if template is None:
        return json.dumps(row, ensure_ascii=False, default=_json_value)
    return template.format_map({k: _text(v) for k, v in row.items()})


def schema_columns(schema: object) -> dict[str, pl.DataType]:
    """The columns a JSON schema's answers give: one per property of its top-level object."""
    if not isinstance(schema, Mapping):
        raise InferenceError("`json_schema` must be a JSON schema object, such as { type: \"object\", properties: "
                             "{ risk: { type: \"string\" } } }")
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), Mapping) or not schema["properties"]:
        raise InferenceError("`json_schema` must describe an object with `properties`: each property becomes a "
                             "column")
    return {str(name): property_type(value, str(name)) for name, value in schema["properties"].items()}


def property_type(schema: object, where: str) -> pl.DataType:
    if not isinstance(schema, Mapping):
        raise InferenceError(f"`json_schema`: the property `{where}` must be a schema object")
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: nullable, as every column is
        named = [k for k in kind if k != "null"]
        kind = named[0] if len(named) == 1 else None
    if "enum" in schema and kind is None:
        kind = "string"
    if kind in _SCALARS:
        return _SCALARS[str(kind)]
    if kind == "array":
        return pl.List(property_type(schema.get("items", {"type": "string"}), f"{where}[]"))
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or not properties:
            raise InferenceError(f"`json_schema`: the object `{where}` needs `properties` to be typed")
        return pl.Struct({str(n): property_type(v, f"{where}.{n}") for n, v in properties.items()})
    raise InferenceError(f"`json_schema`: the property `{where}` has type {kind!r}; use string, integer, number, "
                         "boolean, array or object")


def strict_schema(schema: Mapping[str, object]) -> dict[str, object]:
    """The schema as strict structured output wants it: every property required, no others allowed."""
    result = dict(schema)
    properties = schema.get("properties")
    if result.get("type") == "object" and isinstance(properties, Mapping):
        result["properties"] = {k: strict_schema(v) if isinstance(v, Mapping) else v for k, v in properties.items()}
        result.setdefault("required", list(properties))
        result.setdefault("additionalProperties", False)
    items = schema.get("items")
    if isinstance(items, Mapping):
        result["items"] = strict_schema(items)
    return result


def parse_answer(text: str, columns: Mapping[str, pl.DataType]) -> dict[str, object]:
    """An answer's values for the schema's columns; raises `ValueError` saying what is wrong with it."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the answer is not JSON ({error.msg} at character {error.pos}): {_clip(text)}") from None
    if not isinstance(value, dict):
        raise ValueError(f"the answer is not a JSON object: {_clip(text)}")
    missing = [name for name in columns if name not in value]
    if missing:
        raise ValueError(f"the answer lacks {', '.join(f'`{m}`' for m in missing)}: {_clip(text)}")
    for name, dtype in columns.items():
        if not _fits(value[name], dtype):
            raise ValueError(f"the answer's `{name}` is {json.dumps(value[name])}, not {_json_name(dtype)}")
    return {name: value[name] for name in columns}


def _fits(value: object, dtype: pl.DataType) -> bool:
    if value is None:
        return True
    if isinstance(dtype, pl.String):
        return isinstance(value, str)
    if isinstance(dtype, pl.Boolean):
        return isinstance(value, bool)
    if isinstance(dtype, pl.Int64):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(dtype, pl.Float64):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(dtype, pl.List):
        return isinstance(value, list) and all(_fits(v, dtype.inner) for v in value)
    if isinstance(dtype, pl.Struct):
        return isinstance(value, dict) and all(_fits(value.get(f.name), f.dtype) for f in dtype.fields)
    return True


def _json_name(dtype: pl.DataType) -> str:
    names = {pl.String: "a string", pl.Boolean: "a boolean", pl.Int64: "an integer", pl.Float64: "a number",
             pl.List: "an array", pl.Struct: "an object"}
    return next((text for kind, text in names.items() if isinstance(dtype, kind)), str(dtype))


def _json_value(value: object) -> object:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=_json_value)
    return str(value)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
