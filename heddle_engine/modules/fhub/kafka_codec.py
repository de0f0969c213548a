"""Kafka messages ↔ Arrow tables, a batch at a time.

Consumed values are decoded as one column: the batch's JSON values are parsed together by Polars into the
declared schema's struct (or kept as raw bytes). Only when that fails — a value that is not JSON, not an
object, or a field of another type — are the values tried one by one, to tell the poison messages from the
others; those become failed rows with their raw payload and a reason.

Produced rows are encoded as one column too: the JSON of each row (binary columns as base64 text) or one
column's value, and the key column as bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import polars as pl

from heddle_lang.records import record

MESSAGE_SCHEMA = {
    "key": pl.Binary(), "topic": pl.String(), "partition": pl.Int32(), "offset": pl.Int64(),
    "timestamp": pl.Datetime("ms", "UTC"),
}
HEADERS_TYPE = pl.List(pl.Struct({"key": pl.String(), "value": pl.Binary()}))


@record
class Decoded:
    rows: pl.DataFrame  # message columns, then the payload's (or `value`)
    failed: pl.DataFrame | None  # message columns and the raw `value` of the messages that did not decode
    reasons: list[str]


def message_frame(keys: list[bytes | None], topics: list[str], partitions: list[int], offsets: list[int],
                  timestamps: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame({"key": keys, "topic": topics, "partition": partitions, "offset": offsets,
                         "timestamp": timestamps},
                        schema={**MESSAGE_SCHEMA, "timestamp": pl.Int64()}).with_columns(
        pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))


def decode(messages: pl.DataFrame, values: list[bytes | None], payload: Mapping[str, pl.DataType] | None,
           *, raw: bool) -> Decoded:
    """The rows of a batch: `messages` (its message columns) beside the decoded `values`. `payload`: the declared
    fields (None: whatever the JSON holds, typed from the batch); `raw`: the value as bytes, undecoded."""
    column = pl.Series("value", values, dtype=pl.Binary())
    if raw:
        return Decoded(messages.with_columns(column), None, [])
    try:
        return Decoded(messages.hstack(_fields(column, payload)), None, [])
    except Exception:  # some value does not decode: find which, one by one (the slow path, for poison only)
        pass
    good: list[int] = []
    reasons: list[str] = []
    bad: list[int] = []
    for position, value in enumerate(values):
        problem = _problem(value, payload)
        if problem is None:
            good.append(position)
        else:
            bad.append(position)
            reasons.append(problem)
    rows = messages[good].hstack(_fields(column.gather(good), payload)) if good else _empty(messages, payload)
    failed = messages[bad].with_columns(column.gather(bad)) if bad else None
    return Decoded(rows, failed, reasons)


def _fields(column: pl.Series, payload: Mapping[str, pl.DataType] | None) -> pl.DataFrame:
    """The JSON objects of `column` as columns (raises when one is not a JSON object of those types)."""
    text = column.cast(pl.String)
    decoded = text.str.json_decode() if payload is None else text.str.json_decode(pl.Struct(dict(payload)))
    if not isinstance(decoded.dtype, pl.Struct):
        raise ValueError("a value is not a JSON object")
    if decoded.null_count() > column.null_count():
        raise ValueError("a value is null")
    return decoded.struct.unnest()


def _problem(value: bytes | None, payload: Mapping[str, pl.DataType] | None) -> str | None:
    """Why one value does not decode (None: it does)."""
    if value is None:
        return "the message has no value"
    try:
        parsed = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"the value is not JSON: {error}"
    if not isinstance(parsed, dict):
        return f"the value is JSON {type(parsed).__name__}, not an object"
    try:
        _fields(pl.Series("value", [value], dtype=pl.Binary()), payload)
    except Exception as error:
        return f"the value does not match the declared schema: {error}"
    return None


def _empty(messages: pl.DataFrame, payload: Mapping[str, pl.DataType] | None) -> pl.DataFrame:
    return messages.clear().hstack(pl.DataFrame(schema=dict(payload or {})))


def encode_values(frame: pl.DataFrame, column: str | None) -> list[bytes]:
    """Each row as a message value: the JSON of the row, or `column`'s value (text as UTF-8, bytes as they are)."""
    if column is not None:
        return _as_bytes(frame[column])
    exprs = [pl.col(c).bin.encode("base64").alias(c) if frame.schema[c] == pl.Binary() else pl.col(c)
             for c in frame.columns]
    # UTF-8 text as bytes by a cast of the column (no Python per row)
    return frame.select(pl.struct(exprs).struct.json_encode().cast(pl.Binary).alias("value"))["value"].to_list()


def encode_keys(frame: pl.DataFrame, column: str | None) -> list[bytes | None]:
    if column is None:
        return [None] * frame.height
    return _as_bytes(frame[column])


def _as_bytes(series: pl.Series) -> list[bytes | None]:
    if series.dtype == pl.Binary():
        return series.to_list()
    text = series if series.dtype == pl.String() else series.cast(pl.String)
    return text.cast(pl.Binary).to_list()
