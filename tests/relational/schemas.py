"""Realistic schemas for the seed programs' relational blocks."""

from __future__ import annotations

import polars as pl

from heddle_lang.types import Schema

# Spec §8 examples: `fetch_users` runs "SELECT id, name, email FROM users …".
USERS = Schema.of({"id": pl.Int64(), "name": pl.String(), "email": pl.String()})
# After `(from input select id, email) | email_validate.exists`: the validation adds a flag.
VALIDATED = Schema.of({"id": pl.Int64(), "email": pl.String(), "exists": pl.Boolean()})
# Overview: the Kafka transactions, the user data and risk-profile lookups.
TRANSACTIONS = Schema.of({"user_id": pl.Int64(), "amount": pl.Float64(), "country": pl.String()})
SCORED = Schema.of({"user_id": pl.Int64(), "amount": pl.Float64(), "fraud_score": pl.Float64()})
USER_DATA = Schema.of({"user_id": pl.Int64(), "country": pl.String()})
RISK_PROFILE = Schema.of({"user_id": pl.Int64(), "velocity_score": pl.Float64()})
ACTIVE_USERS = Schema.of({"id": pl.Int64(), "username": pl.String()})
ERROR_CONTEXT = Schema.of({"error_msg": pl.String(), "stack_trace": pl.String(), "payload": pl.String()})

# The brief's reference pair.
INPUT = Schema.of({"user_id": pl.Int64(), "amount": pl.Float64(), "country": pl.String()})
EXAMPLE = {"input": INPUT, "users": Schema.of({"id": pl.Int64(), "name": pl.String(), "email": pl.String()})}
