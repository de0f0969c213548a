"""`Table`: Arrow-backed, round trips with Polars (zero-copy) and pandas (optional)."""

from __future__ import annotations

import sys

import polars as pl
import pyarrow as pa
import pytest

from heddle.core.table import Table


class Users(Table):
    id: int
    name: str


ARROW = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["ada", "bob", None]})


def test_arrow_round_trip_is_the_same_table() -> None:
    table = Users.from_arrow(ARROW)
    assert type(table) is Users
    assert table.to_arrow() is ARROW
    assert (table.num_rows, table.num_columns, len(table)) == (3, 2, 3)
    assert table.column_names == ["id", "name"]
    assert table.schema == ARROW.schema


def test_polars_round_trip_keeps_values_and_shares_buffers() -> None:
    frame = Table.from_arrow(ARROW).to_polars()
    assert frame.schema == pl.Schema({"id": pl.Int64(), "name": pl.String()})
    assert frame.to_dicts() == [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}, {"id": 3, "name": None}]
    back = Users.from_polars(frame)
    assert type(back) is Users
    assert back.equals(Table.from_arrow(ARROW))

    def address(table: pa.Table) -> int:
        return table.column("id").chunk(0).buffers()[1].address

    assert address(back.to_arrow()) == address(ARROW)  # Arrow → Polars → Arrow without copying


def test_from_lazy_frames_and_record_batches() -> None:
    assert Users.from_polars(pl.LazyFrame({"id": [1], "name": ["a"]})).num_rows == 1
    assert Users(ARROW.to_batches()[0]).num_rows == 3
    with pytest.raises(TypeError, match="use from_polars"):
        Users(pl.DataFrame({"id": [1]}))  # type: ignore[arg-type]


def test_repr_names_the_class_and_columns() -> None:
    assert repr(Users.from_arrow(ARROW)) == "Users(3 rows: id: int64, name: string)"


def test_to_pandas_without_pandas_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    table = Table.from_arrow(ARROW)
    with pytest.raises(ImportError, match=r"pip install 'heddle-lang\[pandas\]'"):
        table.to_pandas()
    with pytest.raises(ImportError, match=r"pip install 'heddle-lang\[pandas\]'"):
        Table.from_pandas(object())  # type: ignore[arg-type]


def test_pandas_round_trip() -> None:
    pytest.importorskip("pandas")
    frame = Table.from_arrow(ARROW).to_pandas()
    assert list(frame.columns) == ["id", "name"]
    assert Users.from_pandas(frame).to_polars().equals(pl.from_arrow(ARROW))  # type: ignore[arg-type]


def test_a_polars_table_converts_to_arrow_only_when_asked_and_hands_out_frames_of_its_own() -> None:
    frame = pl.DataFrame({"id": [1, 2], "name": ["ada", "bob"]})
    table = Users.from_polars(frame)
    assert table.held() is frame and (table.num_rows, table.column_names) == (2, ["id", "name"])
    mine = table.to_polars()
    mine.insert_column(0, pl.Series("extra", [0, 0]))  # changed in place: the table's frame is not
    assert table.to_polars().columns == ["id", "name"]
    assert table.to_arrow().column_names == ["id", "name"] and table.held() is table.to_arrow()


def test_a_scan_runs_once_whatever_asks_for_its_rows() -> None:
    runs = []

    def counted(frame: pl.DataFrame) -> pl.DataFrame:
        runs.append(1)
        return frame

    table = Table.scan(pl.LazyFrame({"id": [1, 2, 3]}).map_batches(counted), parquet=None)
    assert table.pending_query() is not None
    assert table.to_polars()["id"].to_list() == [1, 2, 3] and table.num_rows == 3
    assert table.to_arrow().num_rows == 3 and table.pending_query() is None
    assert len(runs) == 1
