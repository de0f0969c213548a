"""`fhub/llm`: ask a language model about each row, through an OpenAI-compatible chat API.

```heddle
import "fhub/llm" openai

resource model = openai.client {
  base_url: "http://127.0.0.1:8080/v1"
  model: "gemma3"
  max_concurrency: 8
}

step classify = <client=model> openai.prompt {
  system: "Classify the transaction's risk."
  user: "{amount} EUR by user {user_id} from {country}"
  json_schema: { type: "object", properties: { risk: { type: "string" }, score: { type: "number" } } }
  temperature: 0.0
}
```

Any OpenAI-compatible endpoint serves (llama.cpp's server, vLLM, Ollama, a hosted API), through the official
`openai` library (`pip install 'heddle-lang[llm]'`). Without `<client=...>` the step follows that library's
environment: `OPENAI_BASE_URL`, `OPENAI_API_KEY`, and the model from `OPENAI_MODEL` or, when the endpoint
offers only one, that one.

Each row becomes one request: `system`, then the user message — the `user` template filled with the row's
columns, or the row as JSON. The answer lands in `output_column`; with `json_schema` the endpoint is asked
for JSON of that schema and each property becomes a typed column instead (known before running). Token
counts land in `prompt_tokens` and `completion_tokens` (`usage: false` leaves them out). A row whose request
fails (after retries: see `llm_client`) or whose answer does not fit the schema goes to the stage's handler
with the reason; the other rows go on. Answers are cached under `.heddle/cache/llm/` (`cache: false` on the
client or the step turns it off).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Annotated, Any

import polars as pl

from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.fhub.llm_client import DEFAULT_BASE_URL, Answer, ChatClient, Endpoint, LLMError
from heddle_engine.modules.fhub.llm_output import (
    parse_answer,
    schema_columns,
    strict_schema,
    template_columns,
    user_message,
)
from heddle_engine.modules.fhub.settings import Settings
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Schema

plugin = Plugin(namespace="llm")
USAGE_COLUMNS = {"prompt_tokens": pl.Int64(), "completion_tokens": pl.Int64()}


class ClientConfig(ResourceConfig):
    base_url: str = DEFAULT_BASE_URL
    """The endpoint's API root, e.g. `http://127.0.0.1:8080/v1` for llama.cpp's server."""
    api_key: Annotated[str | None, Secret] = None
    """Write `"env:OPENAI_API_KEY"` to read it from the environment; local servers need none."""
    model: str | None = None
    """The model used when a step names none (default: the endpoint's only model)."""
    timeout: float = 60.0
    """Seconds one request may take."""
    max_concurrency: int = 4
    """Requests in flight at once, for every step using this client."""
    max_retries: int = 5
    """Retries of a request answered 429, 408, 409 or 5xx, or that lost its connection."""
    cache: bool = True
    """Keep answers under `.heddle/cache/llm/`, so reruns and replays do not ask again."""


class Client(Settings[ClientConfig]):
    """An OpenAI-compatible endpoint; its `openai` client is made when a step first needs it."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(config)
        self._chat: ChatClient | None = None

    def chat(self) -> ChatClient:
        if self._chat is None:
            config = self.config
            named = f"resource `{self.resource_name}` ({config.base_url})" if self.resource_name else config.base_url
            self._chat = ChatClient(Endpoint(config.base_url, config.api_key, config.model, config.timeout,
                                             config.max_concurrency, config.max_retries, config.cache), named)
        return self._chat


@plugin.resource(name="client")
def client(config: ClientConfig) -> Client:
    """An OpenAI-compatible chat completions endpoint."""
    return Client(config)


class PromptConfig(StepConfig[ClientConfig]):
    system: str | None = None
    """The instructions (the system message)."""
    user: str | None = None
    """The user message: a template over the row's columns (`"{amount} EUR from {country}"`); default: the
    row as JSON."""
    output_column: str = "response"
    """The column that receives the answer's text (without `json_schema`)."""
    json_schema: dict[str, Any] | None = None
    """Ask for JSON of this schema (an object): each property becomes a typed column."""
    model: str | None = None
    temperature: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    concurrency: int | None = None
    """Requests of this step in flight at once (at most the client's `max_concurrency`)."""
    stream: bool = False
    """Receive each answer as a stream of chunks (server-sent events)."""
    usage: bool = True
    """Add the `prompt_tokens` and `completion_tokens` columns."""
    cache: bool | None = None
    """Use the response cache (default: the client's `cache`, on without a client)."""


def prompt_schema(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
    base = input_schema if input_schema is not None else Schema.unknown()
    added = _added_columns(config)
    template = config.get("user")
    if isinstance(template, str):
        for name in template_columns(template):
            if input_schema is not None and not base.open and name not in base:
                raise InferenceError(f"the `user` template refers to `{{{name}}}`, a column the input does not have "
                                     f"(it has {', '.join(base.names) or 'none'})")
    clash = [name for name in added if name in base]
    if clash:
        names = ", ".join(f"`{c}`" for c in clash)
        raise InferenceError(f"the input already has {names}: the answer's columns would replace "
                             f"{'it' if len(clash) == 1 else 'them'} (rename the column, or set `output_column`)")
    return base.extended(Schema.of(added))


def _added_columns(config: Mapping[str, object]) -> dict[str, pl.DataType]:
    schema = config.get("json_schema")
    if schema is not None:
        added = dict(schema_columns(schema))
    else:
        column = config.get("output_column", "response")
        if not isinstance(column, str):
            column = "response"  # a mistyped value is reported as a config error
        if not column:
            raise InferenceError("`output_column` must name a column, not be empty")
        added = {column: pl.String()}
    if config.get("usage", True) is not False:
        added.update(USAGE_COLUMNS)
    return added


@plugin.step(name="prompt", resources={"client": ("client", False)}, passthrough=True, infer=prompt_schema)
def prompt(config: PromptConfig, input: Table) -> Table:
    """Ask the model about each row; its answer lands in `output_column` (or the schema's columns). `<client=...>`
    is optional: without it the `openai` library's environment says where to ask."""
    injected = config.resources.get("client")
    if injected is not None and not isinstance(injected, Client):
        raise TypeError(f"llm.prompt needs an llm.client, not {type(injected).__name__}")
    chat = injected.chat() if isinstance(injected, Client) else _environment_client()
    frame = input.to_polars()
    added = _added_columns(config.to_dict())
    columns = schema_columns(config.json_schema) if config.json_schema is not None else None
    model = chat.model(config.model)
    requests = [_request(config, model, row) for row in frame.iter_rows(named=True)]
    cache = config.cache if config.cache is not None else chat.endpoint.cache
    answers = chat.complete_all(requests, cache=cache, stream=config.stream, concurrency=config.concurrency)
    values: dict[str, list[object]] = {name: [] for name in added}
    good: list[int] = []
    failed: list[int] = []
    reasons: list[str] = []
    for index, answer in enumerate(answers):
        try:
            row = _row(answer, columns, config.output_column)
        except (LLMError, ValueError) as error:
            failed.append(index)
            reasons.append(str(error))
            continue
        assert isinstance(answer, Answer)
        if config.usage:
            row.update(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)
        for name in added:
            values[name].append(row.get(name))
        good.append(index)
    output = frame[good].with_columns(pl.Series(n, values[n], dtype=d, strict=False) for n, d in added.items())
    if failed:
        raise RowErrors(Table.from_polars(output), Table.from_polars(frame[failed]), reasons)
    return Table.from_polars(output)


def _request(config: PromptConfig, model: str, row: Mapping[str, object]) -> dict[str, object]:
    messages = [{"role": "system", "content": config.system}] if config.system else []
    messages.append({"role": "user", "content": user_message(config.user, row)})
    request: dict[str, object] = {"model": model, "messages": messages}
    for key in ("temperature", "seed", "max_tokens"):
        value = getattr(config, key)
        if value is not None:
            request[key] = value
    if config.json_schema is not None:
        request["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "row", "strict": True, "schema": strict_schema(config.json_schema)}}
    return request


def _row(answer: Answer | LLMError, columns: Mapping[str, pl.DataType] | None, output: str) -> dict[str, object]:
    if isinstance(answer, LLMError):
        raise answer
    if columns is None:
        return {output: answer.content}
    try:
        return parse_answer(answer.content, columns)
    except ValueError as error:
        if answer.finish_reason == "length":
            raise ValueError(f"the answer stopped at `max_tokens` ({answer.completion_tokens} tokens) before its JSON "
                             f"was complete: raise `max_tokens` ({error})") from None
        raise


_ENVIRONMENT: dict[Endpoint, ChatClient] = {}
_ENVIRONMENT_LOCK = threading.Lock()


def _environment_client() -> ChatClient:
    """The client the `openai` library's environment describes, one per distinct environment."""
    endpoint = Endpoint.from_environment()
    with _ENVIRONMENT_LOCK:
        found = _ENVIRONMENT.get(endpoint)
        if found is None:
            named = f"the endpoint {endpoint.base_url} (OPENAI_BASE_URL)"
            found = _ENVIRONMENT[endpoint] = ChatClient(endpoint, named)
        return found
