"""Config schemas from TypedDicts and config classes; config objects at run time."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pytest

from heddle.core.config import Secret
from heddle.core.resource import ResourceConfig
from heddle.core.step import StepConfig
from heddle.sdk.config_schema import config_schema, value_type_of
from heddle_lang.types import ANY, ConfigSchema, Field, ValueType


class Retry(TypedDict):
    attempts: int
    backoff: NotRequired[float]


class Options(TypedDict, total=False):
    verbose: bool


class ServerConfig(ResourceConfig):
    host: str
    """Where the server listens."""
    port: int = 5432
    password: Annotated[str, Secret]
    token: Secret | None = None
    sslmode: Literal["disable", "require"] | None = None
    tags: list[str] = []  # noqa: RUF012 - copied per instance
    limits: dict[str, int] = {}  # noqa: RUF012
    retry: Retry | None = None
    extra: Any = None


class SearchConfig(StepConfig[ServerConfig]):
    query: str
    server: ServerConfig | None = None


def test_typeddict_required_keys() -> None:
    assert config_schema(Retry) == ConfigSchema((
        Field("attempts", ValueType("int")), Field("backoff", ValueType("float"), required=False)))
    assert config_schema(Options) == ConfigSchema((Field("verbose", ValueType("bool"), required=False),))


def test_config_class_defaults_optionals_secrets_and_docs() -> None:
    schema = config_schema(ServerConfig)
    assert [f.name for f in schema.fields] == ["host", "port", "password", "token", "sslmode", "tags", "limits",
                                               "retry", "extra"]
    assert schema.get("host") == Field("host", ValueType("str"), doc="Where the server listens.")
    assert schema.get("port") == Field("port", ValueType("int"), required=False, default=5432)
    assert schema.get("password") == Field("password", ValueType("str"), secret=True)
    assert schema.get("token") == Field("token", ValueType("str", nullable=True), required=False, secret=True)
    assert schema.get("sslmode") == Field("sslmode", ValueType("str", nullable=True), required=False)
    assert schema.get("tags") == Field("tags", ValueType("list", item=ValueType("str")), required=False, default=[])
    assert schema.get("limits") == Field("limits", ValueType("dict", item=ValueType("int")), required=False,
                                         default={})
    assert schema.get("retry") == Field("retry", ValueType("record", record=config_schema(Retry), nullable=True),
                                        required=False)
    assert schema.get("extra") == Field("extra", ANY, required=False)
    assert not schema.open


def test_step_config_excludes_the_injected_resource() -> None:
    schema = config_schema(SearchConfig)
    assert [f.name for f in schema.fields] == ["query", "server"]
    assert schema.get("server") is not None
    assert schema.get("server").type.record == config_schema(ServerConfig)  # type: ignore[union-attr]


@pytest.mark.parametrize("annotation", [dict, dict[str, Any], Any])
def test_mappings_accept_any_key(annotation: object) -> None:
    assert config_schema(annotation) == ConfigSchema(open=True)


def test_value_types() -> None:
    assert str(value_type_of(list[dict[str, float]])) == "list[dict[str, float]]"
    assert value_type_of(int | str) == ANY
    assert value_type_of(int | str | None) == ValueType("any", nullable=True)


def test_not_a_config_type() -> None:
    with pytest.raises(TypeError, match="a config must be"):
        config_schema(int)


def test_injected_names_are_reserved() -> None:
    class Clash(StepConfig[ServerConfig]):
        resource: str

    with pytest.raises(TypeError, match="`resource` is reserved"):
        config_schema(Clash)


def test_config_objects_at_run_time() -> None:
    config = ServerConfig(host="db", password="hunter2", retry={"attempts": 3})
    assert (config.host, config.port, config.token, config.tags) == ("db", 5432, None, [])
    assert config.tags is not ServerConfig.tags  # mutable defaults are copied
    assert isinstance(config.password, Secret) and config.password == "hunter2"
    assert "hunter2" not in repr(config)
    assert ServerConfig.from_mapping({"host": "db", "password": "x"}) == ServerConfig(host="db", password="x")
    with pytest.raises(TypeError, match="needs the key 'host'"):
        ServerConfig(password="x")
    with pytest.raises(TypeError, match="has no key 'hots'"):
        ServerConfig(hots="db", password="x")


def test_nested_config_classes_are_built_from_mappings() -> None:
    config = SearchConfig(query="q", server={"host": "h", "password": "p"})
    assert config.server == ServerConfig(host="h", password="p")


def test_injected_resources() -> None:
    config = SearchConfig(query="q")
    with pytest.raises(RuntimeError, match="exactly one injected resource"):
        _ = config.resource
    server = object()
    assert config.inject({"server": server}).resource is server
    assert config.resources == {"server": server}
    config.inject({"a": 1, "b": 2})
    with pytest.raises(RuntimeError, match=r"config\.resources"):
        _ = config.resource
