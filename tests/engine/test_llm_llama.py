"""Opt-in: `fhub/llm` against a real llama.cpp `llama-server` with a small GGUF model (gemma3 270M).

Takes minutes (and about 15 more the first time, to build the server): set `HEDDLE_LLAMA=1` to run it
(`scripts/llama-server.sh` builds the server and the model once into ~/.cache/heddle-llama), or point
`HEDDLE_LLAMA_SERVER` and `HEDDLE_LLAMA_MODEL` at a built `llama-server` and a `.gguf` file. The model is tiny:
these tests check the structure of its answers (columns, types, token counts, streaming, a JSON schema),
never their wording. Figures are printed (`pytest -s`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from heddle.core.table import Table
from heddle_engine.modules.fhub import llm
from heddle_engine.run_folder import running_in
from tests.engine.clickhouse_servers import free_port
from tests.engine.conftest import WriteFiles
from tests.engine.llama_server import llama_server
from tests.engine.running import run_file

pytestmark = pytest.mark.skipif(
    not os.environ.get("HEDDLE_LLAMA") and not os.environ.get("HEDDLE_LLAMA_SERVER"),
    reason="opt-in: set HEDDLE_LLAMA=1 (builds llama-server once, ~15 min) or HEDDLE_LLAMA_SERVER/_MODEL")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with llama_server(free_port()) as base_url:
        yield base_url


ROWS = pl.DataFrame({"user_id": [1, 2, 3, 4], "amount": [12000.0, 15500.0, 99000.0, 10250.5],
                     "country": ["FR", "US", "DE", "BR"]})


def ask(base_url: str, folder: Path, **options: object) -> tuple[pl.DataFrame, float]:
    made = llm.client(llm.ClientConfig(base_url=base_url, max_concurrency=2, cache=False, timeout=120.0))
    config = llm.PromptConfig(**options).inject({"client": made})  # type: ignore[arg-type]
    started = time.perf_counter()
    with running_in(folder):
        out = llm.prompt(config, Table.from_polars(ROWS)).to_polars()
    return out, time.perf_counter() - started


def figures(label: str, out: pl.DataFrame, seconds: float) -> None:
    tokens = int(out["completion_tokens"].sum())
    print(f"\n  {label}: {out.height} rows in {seconds:.2f} s = {out.height / seconds:.2f} rows/s, "
          f"{tokens} completion tokens = {tokens / seconds:.1f} tokens/s")


def test_text_answers_with_token_counts(endpoint: str, tmp_path: Path) -> None:
    out, seconds = ask(endpoint, tmp_path, system="Write one short sentence auditing the transaction.",
                       user="{amount} EUR by user {user_id} from {country}", temperature=0.0, seed=42,
                       max_tokens=40)
    figures("text", out, seconds)
    assert out["user_id"].to_list() == [1, 2, 3, 4]
    assert all(isinstance(t, str) and t.strip() for t in out["response"].to_list())
    assert (out["prompt_tokens"] > 0).all() and (out["completion_tokens"] > 0).all()
    again, _ = ask(endpoint, tmp_path, system="Write one short sentence auditing the transaction.",
                   user="{amount} EUR by user {user_id} from {country}", temperature=0.0, seed=42, max_tokens=40,
                   stream=True)
    assert again["user_id"].to_list() == [1, 2, 3, 4]
    assert all(isinstance(t, str) and t.strip() for t in again["response"].to_list())


def test_a_json_schema_gives_typed_columns(endpoint: str, tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"risk": {"type": "string", "enum": ["low", "high"]},
                                               "score": {"type": "integer"}}}
    out, seconds = ask(endpoint, tmp_path, system="Rate the fraud risk of the transaction.",
                       user="{amount} EUR by user {user_id} from {country}", json_schema=schema, temperature=0.0,
                       seed=42, max_tokens=400)
    figures("json schema", out, seconds)
    assert out.schema["risk"] == pl.String() and out.schema["score"] == pl.Int64()
    assert set(out["risk"].to_list()) <= {"low", "high"}


def test_a_workflow_with_the_seeds_environment_fallback(endpoint: str, write_files: WriteFiles,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", endpoint)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)  # the endpoint's only model
    main = write_files({"heddle.toml": "", "main.he": '''import "fhub/llm" openai
import "std/io" io

step generate_audit = openai.prompt {
  system: "Analyze transaction, location, and velocity score. Generate a fraud audit text report."
  max_tokens: 48
  temperature: 0.0
}

workflow Audit {
  [{ user_id: 1, amount: 12000.0, country: "FR", velocity_score: 0.9 }]
    | generate_audit
    | io.write_json { path: "out/audits.json" }
}
'''}) / "main.he"
    started = time.perf_counter()
    result = run_file(main)
    assert result.status == "succeeded", result.message
    audits = pl.read_json(main.parent / "out" / "audits.json")
    print(f"\n  workflow: 1 audit in {time.perf_counter() - started:.2f} s")
    assert audits["response"][0].strip()
