"""`fhub/llm`: ask a language model (an OpenAI-compatible chat API) about each row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import polars as pl

from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.fhub.settings import Settings
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Schema

plugin = Plugin(namespace="llm")


class ClientConfig(ResourceConfig):
    base_url: str = "https://api.openai.com/v1"
    api_key: Annotated[str | None, Secret] = None
    model: str | None = None
    """The model used when a step names none."""


class Client(Settings[ClientConfig]):
    """The settings of an API client; the engine opens it when a step first needs it."""


@plugin.resource(name="client")
def client(config: ClientConfig) -> Client:
    """An OpenAI-compatible chat completions endpoint."""
    return Client(config)


class PromptConfig(StepConfig[ClientConfig]):
    system: str
    """The instructions; each row is sent as the user message."""
    model: str | None = None
    temperature: float | None = None
    output_column: str = "response"
    """The column that receives the model's answer."""


class Answered(Table):
    response: str


def prompt_schema(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
    column = config.get("output_column", "response")
    if not isinstance(column, str):
        column = "response"  # a mistyped value is reported as a config error
    if not column:
        raise InferenceError("`output_column` must name a column, not be empty")
    base = input_schema if input_schema is not None else Schema.unknown()
    return base.extended(Schema.of({column: pl.String()}))


@plugin.step(name="prompt", resources={"client": ("client", False)}, passthrough=True, infer=prompt_schema)
def prompt(config: PromptConfig, input: Table) -> Answered:
    """Ask the model about each row; its answer lands in `output_column`. `<client=...>` is optional."""
    raise NotImplementedError("llm.prompt needs a model endpoint: running connectors arrives with the engine")
