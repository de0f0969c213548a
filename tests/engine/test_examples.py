"""The example plugins: their contracts, and their bodies on real rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from heddle.core.table import RowErrors, Table
from heddle_engine.catalog import load_catalog
from heddle_engine.loading import load_target
from heddle_lang.types import Schema

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
CATALOG = load_catalog(EXAMPLES)


def test_fraud_contract_and_scores() -> None:
    spec = CATALOG.module("fraud-score/detect")
    assert spec is not None
    process = spec.functions["process"]
    assert process.input == Schema.of({"user_id": pl.Int64(), "amount": pl.Float64()}, open=True)
    assert (process.passthrough, process.output) == (True, Schema.of({"fraud_score": pl.Float64(),
                                                                       "is_fraud": pl.Boolean()}))
    fraud = load_target("plugins.fraud", EXAMPLES)
    rows = Table.from_polars(pl.DataFrame({"user_id": [1, 2, 3], "amount": [12_000.0, 45_000.0, 90_000.0]}))
    scored = fraud.process(fraud.ProcessConfig(), rows).to_polars()  # type: ignore[attr-defined]
    assert scored.columns == ["user_id", "amount", "fraud_score", "is_fraud"]
    assert scored["fraud_score"].to_list() == pytest.approx([0.24, 0.9, 1.0])
    assert scored["is_fraud"].to_list() == [False, True, True]
    odd = Table.from_polars(pl.DataFrame({"user_id": [1, None, 3], "amount": [12_000.0, 20_000.0, 5e6]}))
    with pytest.raises(RowErrors) as failed:
        fraud.process(fraud.ProcessConfig(), odd)  # type: ignore[attr-defined]
    assert failed.value.output.to_polars()["user_id"].to_list() == [1]
    assert failed.value.failed.to_polars()["user_id"].to_list() == [None, 3]
    assert failed.value.reasons == ["a transaction without user_id cannot be scored",
                                    "transaction of user 3: amount 5000000.0 exceeds any card limit (1000000.0)"]


def test_email_contract_and_checks() -> None:
    spec = CATALOG.module("email/validate")
    assert spec is not None
    exists = spec.functions["exists"]
    assert exists.input == Schema.of({"id": pl.Int64(), "email": pl.String()}, open=True)
    assert (exists.passthrough, exists.output) == (True, Schema.of({"exists": pl.Boolean()}))
    validate = load_target("plugins.email_validate", EXAMPLES)
    emails = ["ada@example.com", "bob.smith+tag@mail.example.org", "no-at-sign.example.com", "a@b", "x..y@example.com",
              ".x@example.com", "x@-bad.com", None]
    table = Table.from_polars(pl.DataFrame({"id": range(len(emails)), "email": emails}))
    checked = validate.exists({}, table).to_polars()  # type: ignore[attr-defined]
    assert checked["exists"].to_list() == [True, True, False, False, False, False, False, False]
