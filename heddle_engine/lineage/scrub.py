"""Scrubbing secrets out of Arrow data, in every column that can hold text: strings, binaries, dictionaries
(Polars' Categorical), lists, structs and maps, nested to any depth.

Secret text is replaced by `***` wherever it occurs (in binaries, its UTF-8 bytes). Columns that hold no text
at all (numbers, dates) are left as they are, untouched and uncopied. Arrow's string kernels do not take
*view* layouts, so in a scrubbed column they become the plain (large) layouts, which every Arrow reader knows
(`files.plain_layout` does the same for the columns it writes).

`scrub_column` never raises for a column it cannot take apart: it falls back to the column's Python values,
and when even that fails the column is written as nulls and the caller is told (a secret is never written).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa

from heddle_engine.execute.secrets import MASK


def holds_text(kind: pa.DataType) -> bool:
    """Can a column of this type hold text (anywhere inside it)?"""
    if _is_text(kind) or _is_bytes(kind):
        return True
    if pa.types.is_dictionary(kind):
        return holds_text(kind.value_type)
    return any(holds_text(kind.field(i).type) for i in range(kind.num_fields))


def scrub_column(column: pa.ChunkedArray, secrets: Sequence[str]) -> tuple[pa.ChunkedArray, bool]:
    """The column with every secret masked (the same column when nothing changed), and whether it had to be
    written as nulls because it could not be scrubbed."""
    if not secrets or not holds_text(column.type):
        return column, False
    try:
        chunks = [_scrub(chunk, secrets) for chunk in column.chunks]
        if all(c is None for c in chunks):
            return column, False
        scrubbed = [c if c is not None else _scrub(chunk, ()) or chunk for c, chunk in zip(chunks, column.chunks,
                                                                                           strict=True)]
        return pa.chunked_array(scrubbed, type=scrubbed[0].type if scrubbed else None), False
    except (pa.ArrowException, TypeError, ValueError):
        pass
    try:
        return pa.chunked_array([_by_value(chunk, secrets) for chunk in column.chunks], type=column.type), False
    except (pa.ArrowException, TypeError, ValueError):
        return pa.chunked_array([pa.nulls(len(column), column.type)]), True


def _scrub(array: pa.Array, secrets: Sequence[str]) -> pa.Array | None:
    """`array` with the secrets masked and views made plain; None when that changes nothing."""
    import pyarrow.compute as pc  # here: 0.1-0.2 s of imports that a run without secrets never needs

    kind = array.type
    if pa.types.is_string_view(kind):
        return _replace(array.cast(pa.large_string()), secrets) or array.cast(pa.large_string())
    if pa.types.is_binary_view(kind) or pa.types.is_fixed_size_binary(kind):  # masking changes lengths
        return _replace(array.cast(pa.large_binary()), secrets) or array.cast(pa.large_binary())
    if _is_text(kind) or _is_bytes(kind):
        return _replace(array, secrets)
    if not holds_text(kind):
        return None
    if pa.types.is_dictionary(kind):
        values = _scrub(array.dictionary, secrets)
        return None if values is None else pa.DictionaryArray.from_arrays(array.indices, values)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        offsets = array.offsets  # of this slice, into the whole child: made to start at 0 with its values
        start = offsets[0].as_py() if len(offsets) else 0
        values = _scrub(array.values.slice(start, (offsets[-1].as_py() - start) if len(offsets) else 0), secrets)
        if values is None:
            return None
        rebuild: Callable[..., pa.Array] = (pa.ListArray if pa.types.is_list(kind) else pa.LargeListArray).from_arrays
        return rebuild(pc.subtract(offsets, pa.scalar(start, offsets.type)), values, mask=_nulls(array))
    if pa.types.is_fixed_size_list(kind):
        size = kind.list_size
        values = _scrub(array.values.slice(array.offset * size, len(array) * size), secrets)
        return None if values is None else pa.FixedSizeListArray.from_arrays(values, size, mask=_nulls(array))
    if pa.types.is_struct(kind):
        children = array.flatten()
        scrubbed = [_scrub(child, secrets) for child in children]
        if all(c is None for c in scrubbed):
            return None
        fields = [kind.field(i).with_type((c if c is not None else children[i]).type)
                  for i, c in enumerate(scrubbed)]
        return pa.StructArray.from_arrays([c if c is not None else children[i] for i, c in enumerate(scrubbed)],
                                          fields=fields, mask=_nulls(array))
    return _by_value(array, secrets)  # maps, list views, unions: through their Python values


def _replace(array: pa.Array, secrets: Sequence[str]) -> pa.Array | None:
    import pyarrow.compute as pc

    found = [s for s in secrets if pc.any(pc.match_substring(array, s)).as_py()]
    for secret in found:
        array = pc.replace_substring(array, secret, MASK)
    return array if found else None


def _by_value(array: pa.Array, secrets: Sequence[str]) -> pa.Array:
    """The slow way, for what cannot be taken apart: every value in Python, text masked, built again."""
    return pa.array([_mask_value(v, secrets) for v in array.to_pylist()], type=array.type)


def _mask_value(value: object, secrets: Sequence[str]) -> object:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, bytes):
        for secret in secrets:
            value = value.replace(secret.encode("utf-8"), MASK.encode("utf-8"))
        return value
    if isinstance(value, dict):
        return {k: _mask_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        masked = [_mask_value(v, secrets) for v in value]
        return type(value)(masked) if isinstance(value, tuple) else masked
    return value


def _nulls(array: pa.Array) -> pa.Array | None:
    return array.is_null() if array.null_count else None


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def _is_bytes(kind: pa.DataType) -> bool:
    return (pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind)
            or pa.types.is_fixed_size_binary(kind))
