"""`Plugin` declarations: resource slots and kinds, inference hooks, parameters, modules as plugins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

import polars as pl
import pytest

from heddle.core.table import Table
from heddle.sdk import module_spec
from heddle.sdk.plugin import Plugin
from heddle_lang.catalog import InferenceError, ResourceSlot
from heddle_lang.types import Schema
from tests.sdk.conftest import LoadModule


def test_resource_slots_are_qualified_by_the_namespace() -> None:
    plugin = Plugin(namespace="shop")

    @plugin.resource(name="connection", doc="The shop's database.")
    def connection(config: dict[str, object]) -> object:
        raise AssertionError

    @plugin.step(name="orders", resources={"connection": "connection", "cache": ("redis.client", False)})
    def orders(config: dict[str, object]) -> Table:
        raise AssertionError

    spec = module_spec(plugin, "shop/orders")
    assert spec.functions["orders"].resources == (
        ResourceSlot("connection", "shop.connection", required=True, doc="The shop's database."),
        ResourceSlot("cache", "redis.client", required=False),
    )
    assert spec.functions["orders"].slot("cache") == ResourceSlot("cache", "redis.client", required=False)
    assert spec.resources["connection"].doc == "The shop's database."
    assert not spec.functions["orders"].takes_input


def test_a_single_resource_of_another_namespace_is_keyed_by_its_name() -> None:
    plugin = Plugin(namespace="shop")

    @plugin.step(name="cached", resource="redis.client")
    def cached(config: dict[str, object], input: Table) -> Table:
        return input

    assert module_spec(plugin, "shop").functions["cached"].resources == (ResourceSlot("client", "redis.client"),)


def test_a_slot_of_an_undeclared_kind_of_the_same_namespace_is_an_error() -> None:
    plugin = Plugin(namespace="shop")

    @plugin.step(name="orders", resource="conection")
    def orders(config: dict[str, object]) -> Table:
        raise AssertionError

    with pytest.raises(ValueError, match=r"kind `shop\.conection`, which plugin `shop` does not declare"):
        module_spec(plugin, "shop")


def test_a_step_config_may_not_take_the_retry_key_every_call_has() -> None:
    plugin = Plugin(namespace="shop")

    class Options(TypedDict):
        retry: int

    @plugin.step(name="orders")
    def orders(config: Options) -> Table:
        raise AssertionError

    with pytest.raises(TypeError, match="may not have a key `retry`"):
        module_spec(plugin, "shop")


def test_declaration_mistakes_fail_at_registration() -> None:
    plugin = Plugin(namespace="shop")
    with pytest.raises(TypeError, match="either `resource=` or `resources=`"):
        plugin.step(name="s", resource="a", resources={"b": "b"})
    with pytest.raises(TypeError, match="with parentheses"):
        plugin.step(lambda config: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"resources\['b'\]"):
        plugin.step(name="s", resources={"b": ("kind", "yes")})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="plugin namespace"):
        Plugin(namespace="has space")

    @plugin.step(name="twice")
    def first(config: dict[str, object], input: Table) -> Table:
        return input

    with pytest.raises(ValueError, match="already has a step named `twice`"):
        plugin.step(name="twice")(first)


def test_docs_come_from_the_decorator_or_the_docstring() -> None:
    plugin = Plugin(namespace="docs", doc="Documented steps.")

    @plugin.step(name="a")
    def a(config: dict[str, object], input: Table) -> Table:
        """From the docstring."""
        return input

    @plugin.step(name="b", doc="From the decorator.")
    def b(config: dict[str, object], input: Table) -> Table:
        """Not this."""
        return input

    spec = module_spec(plugin, "docs")
    assert (spec.doc, spec.functions["a"].doc, spec.functions["b"].doc) == (
        "Documented steps.", "From the docstring.", "From the decorator.")


def test_inference_hooks_and_parameters() -> None:
    plugin = Plugin(namespace="infer")

    def columns(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
        names = config.get("columns")
        if not isinstance(names, list):
            raise InferenceError("`columns` must be a list")
        return Schema.of(dict.fromkeys(names, pl.String()))

    def as_mapping(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
        return {"n": pl.Int64()}  # type: ignore[return-value]

    def broken(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
        return "nope"  # type: ignore[return-value]

    @plugin.step(name="pick", infer=columns, parameters=lambda config: [str(config.get("param"))])
    def pick(config: dict[str, object]) -> Table:
        raise AssertionError

    @plugin.step(name="count", infer=as_mapping, parameters=("since",))
    def count(config: dict[str, object], input: Table) -> Table:
        raise AssertionError

    @plugin.step(name="broken", infer=broken)
    def broken_step(config: dict[str, object], input: Table) -> Table:
        raise AssertionError

    functions = module_spec(plugin, "infer").functions
    pick_spec = functions["pick"]
    assert pick_spec.infer is not None
    assert pick_spec.infer({"columns": ["a", "b"]}, None) == Schema.of({"a": pl.String(), "b": pl.String()})
    with pytest.raises(InferenceError, match="must be a list"):
        pick_spec.infer({}, None)
    assert pick_spec.parameters_for({"param": "user_id"}) == ("user_id",)
    assert functions["count"].parameters == ("since",)
    assert functions["count"].parameters_for({}) == ("since",)
    assert functions["count"].infer({}, None) == Schema.of({"n": pl.Int64()})  # type: ignore[misc]
    with pytest.raises(InferenceError, match="returned str, not a Schema"):
        functions["broken"].infer({}, None)  # type: ignore[misc]


def test_a_module_that_creates_one_plugin_is_that_plugin(load_module: LoadModule) -> None:
    module = load_module('''
        """The module's doc."""
        from heddle.core.table import Table
        from heddle.sdk.plugin import Plugin

        plugin = Plugin(namespace="one")

        @plugin.step(name="step")
        def step(config: dict, input: Table) -> Table:
            return input

        def helper(input: Table) -> Table:  # not registered: not part of the plugin
            return input
    ''')
    spec = module_spec(module, "one")
    assert spec.members == ["step"]
    assert spec.doc == "The module's doc."
    assert spec.location is not None and spec.location.line == 6  # the source starts with a blank line


def test_a_module_with_two_plugins_must_name_one(load_module: LoadModule) -> None:
    module = load_module('''
        from heddle.sdk.plugin import Plugin

        first = Plugin(namespace="first")
        second = Plugin(namespace="second")
    ''')
    with pytest.raises(TypeError, match="several plugins"):
        module_spec(module, "two")


def test_a_plain_module_maps_its_public_table_functions(load_module: LoadModule) -> None:
    module = load_module('''
        """Helpers."""
        from __future__ import annotations

        from typing import TYPE_CHECKING, TypedDict

        from heddle.core.table import Table
        from heddle.sdk.contracts import is_table_type  # imported functions are not the module's

        if TYPE_CHECKING:
            from somewhere import Unresolvable


        class Emails(Table):
            email: str


        class Limit(TypedDict):
            n: int


        def head(config: Limit, input: Emails) -> Table:
            """The first rows."""
            return Table.from_polars(input.to_polars().head(config["n"]))


        def source(config: Limit) -> Table:  # takes no table: not a step of a plain module
            raise AssertionError


        def _private(input: Table) -> Table:
            return input


        def untyped(x: Unresolvable) -> int:
            return 1
    ''')
    spec = module_spec(module, "helpers")
    assert list(spec.functions) == ["head"]
    head = spec.functions["head"]
    assert head.doc == "The first rows."
    assert head.input == Schema.of({"email": pl.String()}, open=True)
    assert [f.name for f in head.config.fields] == ["n"]
    assert spec.doc == "Helpers."
