"""`fhub/llm` against an OpenAI-compatible server started in the test (`llm_server`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from heddle.core.table import RowErrors, Table
from heddle_engine.catalog import load_catalog
from heddle_engine.modules.fhub import llm
from heddle_engine.modules.fhub.llm_output import parse_answer
from heddle_engine.run_folder import running_in
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from tests.engine.conftest import WriteFiles
from tests.engine.llm_server import MODEL, State, llm_server
from tests.engine.running import Recorder, run_file

pytest.importorskip("openai")

ROWS = pl.DataFrame({"user_id": [1, 2, 3], "amount": [12000.0, 15000.5, 20000.0]})
SCHEMA = {"type": "object", "properties": {"verdict": {"type": "string"}, "score": {"type": "number"},
                                           "flagged": {"type": "boolean"}}}


@pytest.fixture
def server() -> Iterator[tuple[str, State]]:
    with llm_server() as running:
        yield running


def client(base_url: str, **options: object) -> llm.Client:
    made = llm.client(llm.ClientConfig(base_url=base_url, **options))  # type: ignore[arg-type]
    made.chat().sleep = lambda seconds: None
    return made


def ask(made: llm.Client, frame: pl.DataFrame, folder: Path, **options: object) -> pl.DataFrame:
    config = llm.PromptConfig(**options).inject({"client": made})  # type: ignore[arg-type]
    with running_in(folder):
        return llm.prompt(config, Table.from_polars(frame)).to_polars()


def test_each_row_is_asked_and_answered_with_its_token_counts(server: tuple[str, State], tmp_path: Path) -> None:
    url, state = server
    out = ask(client(url), ROWS, tmp_path, system="Audit it.", user="{amount} EUR by {user_id}", temperature=0.0,
              seed=7, max_tokens=64)
    assert out["response"].to_list() == ["audit: 12000.0 EUR by 1", "audit: 15000.5 EUR by 2",
                                         "audit: 20000.0 EUR by 3"]
    assert out.schema["prompt_tokens"] == pl.Int64() and out["completion_tokens"].to_list() == [5, 5, 5]
    first = state.requests[0]
    assert first["messages"][0] == {"role": "system", "content": "Audit it."}
    assert (first["model"], first["temperature"], first["seed"], first["max_tokens"]) == (MODEL, 0.0, 7, 64)


def test_without_a_template_the_row_is_sent_as_json(server: tuple[str, State], tmp_path: Path) -> None:
    url, state = server
    ask(client(url), ROWS.head(1), tmp_path, usage=False)
    assert state.requests[0]["messages"] == [{"role": "user", "content": '{"user_id": 1, "amount": 12000.0}'}]


def test_a_json_schema_gives_typed_columns(server: tuple[str, State], tmp_path: Path) -> None:
    url, state = server
    out = ask(client(url), ROWS, tmp_path, json_schema=SCHEMA, user="{user_id}", usage=False)
    assert out.schema == pl.Schema({"user_id": pl.Int64(), "amount": pl.Float64(), "verdict": pl.String(),
                                    "score": pl.Float64(), "flagged": pl.Boolean()})
    assert out.row(0, named=True) == {"user_id": 1, "amount": 12000.0, "verdict": "about 1", "score": 0.5,
                                      "flagged": False}
    sent = state.requests[0]["response_format"]["json_schema"]
    assert sent["strict"] and sent["schema"]["required"] == ["verdict", "score", "flagged"]


def test_an_answer_that_does_not_fit_the_schema_says_why() -> None:
    columns = {"score": pl.Float64(), "verdict": pl.String()}
    assert parse_answer('{"score": 1, "verdict": "ok"}', columns) == {"score": 1, "verdict": "ok"}
    with pytest.raises(ValueError, match="lacks `verdict`"):
        parse_answer('{"score": 1}', columns)
    with pytest.raises(ValueError, match=r"`score` is \"high\", not a number"):
        parse_answer('{"score": "high", "verdict": "ok"}', columns)
    with pytest.raises(ValueError, match="not JSON"):
        parse_answer("Sure! Here it is", columns)


def test_an_answer_cut_at_max_tokens_says_so(server: tuple[str, State], tmp_path: Path) -> None:
    url, _ = server
    with pytest.raises(RowErrors) as caught:
        ask(client(url), ROWS.head(1), tmp_path, json_schema=SCHEMA, user="{user_id}", max_tokens=2)
    assert caught.value.reasons[0].startswith("the answer stopped at `max_tokens` (2 tokens) before its JSON was "
                                              "complete: raise `max_tokens`")


def test_streamed_answers_are_the_same(server: tuple[str, State], tmp_path: Path) -> None:
    url, state = server
    whole = ask(client(url, cache=False), ROWS, tmp_path, user="{user_id}")
    streamed = ask(client(url, cache=False), ROWS, tmp_path, user="{user_id}", stream=True)
    assert streamed.equals(whole)
    assert [r.get("stream") for r in state.requests] == [None] * 3 + [True] * 3


def test_429_then_200_is_retried_honouring_retry_after_with_no_duplicated_rows(server: tuple[str, State],
                                                                              tmp_path: Path) -> None:
    url, state = server
    state.fail_first = {"2": [429, 503]}
    state.retry_after = "0.25"
    made = client(url, cache=False)
    waits: list[float] = []
    made.chat().sleep = waits.append
    out = ask(made, ROWS, tmp_path, user="{user_id}")
    assert out["user_id"].to_list() == [1, 2, 3]
    assert out["response"].to_list() == ["audit: 1", "audit: 2", "audit: 3"]
    assert state.per_message == {"1": 1, "2": 3, "3": 1}
    assert waits == [0.25, 0.25]


def test_a_failed_row_goes_to_the_handler_with_the_endpoints_message(server: tuple[str, State],
                                                                     tmp_path: Path) -> None:
    url, _ = server
    frame = pl.DataFrame({"user_id": [1, 2], "note": ["fine", "REFUSE me"]})
    with pytest.raises(RowErrors) as caught:
        ask(client(url), frame, tmp_path, user="{note}")
    assert caught.value.output.to_polars()["user_id"].to_list() == [1]
    assert caught.value.failed.to_polars().to_dicts() == [{"user_id": 2, "note": "REFUSE me"}]
    assert caught.value.reasons == [f"{url} answered 400: this request is refused by the test server"]


def test_answers_are_cached_under_heddle_unless_turned_off(server: tuple[str, State], tmp_path: Path) -> None:
    url, state = server
    (tmp_path / "heddle.toml").write_text("", encoding="utf-8")
    first = ask(client(url), ROWS, tmp_path, user="{user_id}")
    again = ask(client(url), ROWS, tmp_path, user="{user_id}")
    assert again.equals(first) and len(state.requests) == 3
    assert len(list((tmp_path / ".heddle" / "cache" / "llm").rglob("*.json"))) == 3
    ask(client(url), ROWS, tmp_path, user="{user_id}", temperature=0.5)  # another request: not cached yet
    ask(client(url, cache=False), ROWS, tmp_path, user="{user_id}")
    ask(client(url), ROWS, tmp_path, user="{user_id}", cache=False)
    assert len(state.requests) == 12


def test_rows_are_sent_concurrently_up_to_the_limit(server: tuple[str, State], tmp_path: Path) -> None:
    url, state = server
    state.delay = 0.05
    frame = pl.DataFrame({"n": list(range(12))})
    ask(client(url, max_concurrency=3, cache=False), frame, tmp_path, user="{n}")
    assert state.most_in_flight == 3
    state.most_in_flight = 0
    ask(client(url, max_concurrency=3, cache=False), frame, tmp_path, user="{n}", concurrency=2)
    assert state.most_in_flight == 2


SEEDLIKE = '''import "fhub/llm" openai
import "std/io" io

step generate_audit = openai.prompt {
  system: "Generate a fraud audit."
  user: "{user_id}: {amount}"
}

handler failed {
  *
    | (from input select {user_id, error_msg})
    | io.write_csv { path: "out/failed.csv" }
}

workflow Audit {
  [{ user_id: 1, amount: 10.0 }, { user_id: 2, amount: 20.0 }]
    | generate_audit ? failed
    | io.write_csv { path: "out/audits.csv" }
}
'''


def test_without_a_client_the_step_follows_the_openai_environment(server: tuple[str, State], write_files: WriteFiles,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url, state = server
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    state.fail_first = {"2: 20.0": [429]}
    main = write_files({"main.he": SEEDLIKE, "heddle.toml": ""}) / "main.he"
    result = run_file(main, observers=[Recorder()])
    assert result.status == "succeeded", result.message
    audits = pl.read_csv(main.parent / "out" / "audits.csv")
    assert audits.select("user_id", "response").to_dicts() == [{"user_id": 1, "response": "audit: 1: 10.0"},
                                                               {"user_id": 2, "response": "audit: 2: 20.0"}]
    assert state.requests[0]["model"] == MODEL  # the endpoint's only model


def test_a_refused_row_reaches_the_handler_in_a_workflow(server: tuple[str, State], write_files: WriteFiles,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = server
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("OPENAI_MODEL", MODEL)
    text = SEEDLIKE.replace('"{user_id}: {amount}"', '"{user_id}: {amount} {note}"').replace(
        "{ user_id: 1, amount: 10.0 }, { user_id: 2, amount: 20.0 }",
        '{ user_id: 1, amount: 10.0, note: "ok" }, { user_id: 2, amount: 20.0, note: "REFUSE" }')
    main = write_files({"main.he": text, "heddle.toml": ""}) / "main.he"
    result = run_file(main)
    assert result.status == "succeeded", result.message
    assert pl.read_csv(main.parent / "out" / "audits.csv")["user_id"].to_list() == [1]
    failed = pl.read_csv(main.parent / "out" / "failed.csv").to_dicts()
    assert failed == [{"user_id": 2, "error_msg": f"the endpoint {url} (OPENAI_BASE_URL) answered 400: this request "
                       "is refused by the test server"}]


def test_the_checker_types_the_answer_and_the_template(tmp_path: Path) -> None:
    text = '''import "fhub/llm" openai
import "std/io" io

step classify = openai.prompt {
  user: "{amount} from {country}"
  json_schema: { type: "object", properties: { risk: { type: "string" }, score: { type: "integer" } } }
}

workflow W {
  [{ user_id: 1, amount: 10.0 }]
    | classify
    | io.print
}
'''
    (tmp_path / "main.he").write_text(text, encoding="utf-8")
    analysis = analyze(parse(text), load_catalog(tmp_path / "main.he"))
    messages = [d.message for d in analysis.diagnostics if d.is_error]
    assert messages == ["cannot type `classify`: the `user` template refers to `{country}`, a column the input does "
                        "not have (it has user_id, amount)"]
    fixed = text.replace(" from {country}", "")
    analysis = analyze(parse(fixed), load_catalog(tmp_path / "main.he"))
    assert [d for d in analysis.diagnostics if d.is_error] == []
    node = next(n for n in analysis.plan.workflows[0].nodes if n.label == "classify")
    assert [(c.name, str(c.dtype)) for c in node.output.columns] == [
        ("user_id", "Int64"), ("amount", "Float64"), ("risk", "String"), ("score", "Int64"),
        ("prompt_tokens", "Int64"), ("completion_tokens", "Int64")]


def test_an_unreachable_endpoint_fails_each_row_with_one_clear_message(tmp_path: Path) -> None:
    from tests.engine.clickhouse_servers import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    made = llm.client(llm.ClientConfig(base_url=url, api_key="sk-never-shown", max_retries=1, model=MODEL))
    made.resource_name = "model"
    made.chat().sleep = lambda seconds: None
    with pytest.raises(RowErrors) as caught:
        ask(made, ROWS.head(2), tmp_path)
    assert caught.value.reasons == [f"resource `model` ({url}): APIConnectionError: Connection error."] * 2
    assert made.chat().attempts == 4  # each row: the request and one retry


def test_reruns_and_replays_do_not_ask_twice(server: tuple[str, State], write_files: WriteFiles,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from heddle.cli.main import main

    url, state = server
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("OPENAI_MODEL", MODEL)
    main_he = write_files({"main.he": SEEDLIKE, "heddle.toml": ""}) / "main.he"
    assert main(["run", str(main_he)]) == 0
    assert len(state.requests) == 2
    assert main(["run", str(main_he)]) == 0  # a rerun: every answer from the cache
    monkeypatch.chdir(main_he.parent)  # `replay` finds the project's runs from here
    assert main(["replay", "last", "--from", "generate_audit"]) == 0
    assert len(state.requests) == 2
    capsys.readouterr()
