"""Plugins imported and asked in a process of their own: specs as data, hooks by request, failures as values."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from heddle_engine import plugin_boot, plugin_process
from heddle_engine.catalog import EngineCatalog, load_catalog
from heddle_engine.plugin_process import PluginProcess
from heddle_engine.project import read_project
from heddle_lang.catalog import InferenceError
from heddle_lang.catalog_data import module_from_data, module_to_data, schema_from_data, schema_to_data
from heddle_lang.types import Schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

PLUGIN = '''import os
import time

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Schema
import polars as pl

if os.environ.get("EXIT_AT_IMPORT"):
    os._exit(3)

plugin = Plugin(namespace="tools")


def _infer(config, input):
    if config.get("hang"):
        time.sleep(60)
    if config.get("die"):
        os._exit(4)
    if config.get("refuse"):
        raise InferenceError("no thanks")
    return Schema.of({"pid": pl.Int64(), "n": pl.List(pl.Struct({"a": pl.Datetime("ms", "UTC")}))})


@plugin.step(name="probe", infer=_infer)
def probe(config: dict) -> Table:
    raise AssertionError("never run while checking")
'''


def project(tmp_path: Path) -> Path:
    (tmp_path / "toolbox").mkdir()
    (tmp_path / "heddle.toml").write_text('[modules]\n"my/tools" = "toolbox.tools:plugin"\n')
    (tmp_path / "toolbox" / "__init__.py").write_text("")
    (tmp_path / "toolbox" / "tools.py").write_text(PLUGIN)
    return tmp_path


def test_specs_round_trip_through_data_for_every_example_module() -> None:
    catalog = load_catalog(EXAMPLES)
    for path in catalog.paths():
        module = catalog.module(path)
        assert module is not None, catalog.load_error(path)
        assert module_from_data(module_to_data(module), lambda *_: (None, None)) == module


def test_schemas_keep_exact_dtypes_unknowns_and_openness() -> None:
    schema = Schema.of({"a": pl.Decimal(10, 2), "b": None, "c": pl.Array(pl.Float32, 3), "d": pl.Categorical()},
                       open=True)
    assert schema_from_data(schema_to_data(schema)) == schema
    assert schema_from_data(schema_to_data(Schema.unknown())) == Schema.unknown()


def test_the_server_side_catalog_never_imports_plugins(tmp_path: Path) -> None:
    root = project(tmp_path)
    catalog = load_catalog(root, isolated=True)
    try:
        module = catalog.module("my/tools")
        assert module is not None and "probe" in module.functions
        assert "toolbox.tools" not in sys.modules
        probe = module.functions["probe"]
        assert probe.infer is not None
        assert probe.infer({}, None).names == ["pid", "n"]
        with pytest.raises(InferenceError, match="no thanks"):
            probe.infer({"refuse": True}, None)
        assert catalog.module("std/io") is not None  # built-ins load in this process
        assert catalog.plugins is not None and catalog.plugins.starts == 1
    finally:
        assert catalog.plugins is not None
        catalog.plugins.close()


def test_a_hook_that_kills_or_hangs_the_process_costs_one_answer(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugin_process, "ANSWER_SECONDS", 1.0)
    plugins = PluginProcess(project(tmp_path))
    catalog = EngineCatalog(read_project(tmp_path), plugins=plugins)
    try:
        module = catalog.module("my/tools")
        assert module is not None and module.functions["probe"].infer is not None
        infer = module.functions["probe"].infer
        with pytest.raises(InferenceError, match="exited"):
            infer({"die": True}, None)
        with pytest.raises(InferenceError, match="did not answer in time"):
            infer({"hang": True}, None)
        assert infer({}, None).names == ["pid", "n"]  # a fresh process answers
        assert plugins.starts == 3
    finally:
        plugins.close()


def test_a_plugin_that_exits_while_importing_is_read_from_its_source(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXIT_AT_IMPORT", "1")
    catalog = load_catalog(project(tmp_path), isolated=True)
    try:
        module = catalog.module("my/tools")
        assert module is not None and "probe" in module.functions
        assert "exited (status 3)" in module.import_error
        assert catalog.load_error("my/tools") is None
    finally:
        assert catalog.plugins is not None
        catalog.plugins.close()


def test_a_process_started_early_is_the_one_the_catalog_of_its_project_asks(tmp_path: Path) -> None:
    root = project(tmp_path).resolve()
    plugin_boot.start_early(root / "toolbox")  # as the language server, started in a folder of the project
    early = plugin_boot.adopt(root)
    assert early is not None and early.starts == 1
    plugin_boot._EARLY[root] = early  # given back: the catalog adopts it
    catalog = load_catalog(root, isolated=True)
    try:
        module = catalog.module("my/tools")
        assert module is not None and "probe" in module.functions
        assert catalog.plugins is not None and catalog.plugins.starts == 1  # no second process
        assert plugin_boot.adopt(root) is None
    finally:
        catalog.close()


def test_a_process_started_early_for_no_project_or_none_of_the_workspace_is_stopped(tmp_path: Path) -> None:
    plugin_boot.start_early(tmp_path)  # no heddle.toml
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "heddle.toml").write_text("[modules]\n")
    plugin_boot.start_early(tmp_path / "plain")  # maps no module
    assert plugin_boot.adopt(tmp_path.resolve()) is None and plugin_boot.adopt((tmp_path / "plain").resolve()) is None
    (tmp_path / "other").mkdir()
    root = project(tmp_path / "other").resolve()
    plugin_boot.start_early(root)
    early = plugin_boot._EARLY[root]
    plugin_boot.stop_unadopted()
    assert plugin_boot.adopt(root) is None
    assert early.ask({"op": "load", "path": "my/tools"}, 60.0)["module"]  # a question starts it again, as ever
    assert early.starts == 2
    early.close()
