"""The overview's two SDK snippets, verbatim in examples/, register and read as the expected modules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from heddle.sdk import module_spec
from heddle.sdk.plugin import Plugin
from heddle_lang.catalog import ResourceSlot, SourceLocation
from heddle_lang.types import ConfigSchema, Field, Schema, ValueType
from tests.sdk.conftest import LoadModule

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = ROOT / "examples"
OVERVIEW = ROOT.parent / "shared" / "seeds" / "000_a92c793b875f9efa.txt"


def import_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def name_of(path: Path, function: str) -> SourceLocation:
    """Where `def function` is, with the range of the function's name on that line."""
    line = line_of(path, f"def {function}")
    column = path.read_text(encoding="utf-8").splitlines()[line - 1].index(function)
    return SourceLocation(str(path), line, column, column + len(function))


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


@pytest.mark.skipif(not OVERVIEW.exists(), reason="the seeds are not beside the repository")
def test_example_files_are_the_overview_snippets_verbatim() -> None:
    overview = OVERVIEW.read_text(encoding="utf-8")
    assert (EXAMPLES / "local" / "security.py").read_text(encoding="utf-8").rstrip("\n") in overview
    assert (EXAMPLES / "plugins" / "security.py").read_text(encoding="utf-8").rstrip("\n") in overview


def test_sdk_snippet_registers_a_resource_and_a_step() -> None:
    path = EXAMPLES / "plugins" / "security.py"
    module = import_file(path, "seed_sdk_snippet")
    assert isinstance(module.plugin, Plugin)
    spec = module_spec(module.plugin, "security")

    assert spec.path == "security"
    assert spec.namespace == "security"
    assert spec.members == ["hash", "vault"]
    assert spec.location == SourceLocation(str(path), line_of(path, "plugin = Plugin("))

    vault = spec.resources["vault"]
    assert vault.kind == "security.vault"
    assert vault.config == ConfigSchema((Field("api_key", ValueType("str"), required=True),))
    assert vault.location == name_of(path, "init_vault")

    step = spec.functions["hash"]
    assert step.config == ConfigSchema((Field("algorithm", ValueType("str"), required=True),))
    assert step.resources == (ResourceSlot("vault", "security.vault", required=True),)
    assert step.takes_input
    # CredentialsTable and SecureTable declare no columns: the contract is unknown
    assert step.input == Schema.unknown()
    assert step.output == Schema.unknown()
    assert not step.passthrough
    assert step.location == name_of(path, "hash_password")


def test_sdk_snippet_as_a_whole_module_is_its_plugin() -> None:
    module = import_file(EXAMPLES / "plugins" / "security.py", "seed_sdk_snippet_module")
    assert module_spec(module, "security") == module_spec(module.plugin, "security")


def test_plain_python_module_snippet_maps_its_table_functions() -> None:
    path = EXAMPLES / "local" / "security.py"
    module = import_file(path, "seed_local_snippet")
    spec = module_spec(module, "local/security")

    assert spec.namespace == "seed_local_snippet"
    assert spec.resources == {}
    assert list(spec.functions) == ["hash_password"]
    function = spec.functions["hash_password"]
    assert function.config == ConfigSchema((Field("algorithm", ValueType("str")), Field("rounds", ValueType("int"))))
    assert function.resources == ()
    assert function.takes_input
    assert function.input == Schema.unknown()
    assert function.output == Schema.unknown()
    assert function.location == name_of(path, "hash_password")
    assert spec.location == SourceLocation(str(path), 1)


def test_registering_never_runs_a_step(load_module: LoadModule) -> None:
    module = load_module('''
        from heddle.core.table import Table
        from heddle.sdk.plugin import Plugin

        plugin = Plugin(namespace="boom")
        calls = []

        @plugin.resource(name="conn")
        def conn(config: dict) -> object:
            calls.append("conn")
            raise AssertionError("a resource initializer ran at import")

        @plugin.step(name="explode", resource="conn")
        def explode(config: dict, input: Table) -> Table:
            calls.append("explode")
            raise AssertionError("a step ran at import")
    ''')
    spec = module_spec(module.plugin, "boom")
    assert sorted(spec.members) == ["conn", "explode"]
    assert module.calls == []


def test_the_sdk_snippet_run_as_a_program_serves_its_plugin() -> None:
    """`python examples/plugins/security.py` — the overview's `plugin.serve()`, verbatim — listens on 127.0.0.1 on
    a free port, prints where, and describes the plugin as the SDK reads it in process."""
    import os
    import subprocess

    from heddle.flight.protocol import listening_address
    from heddle_engine.workers.client import WorkerClient
    from heddle_lang.catalog_data import module_from_data

    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDDLE_WORKER")}
    path = EXAMPLES / "plugins" / "security.py"
    process = subprocess.Popen([sys.executable, str(path)], cwd=EXAMPLES, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        address = listening_address(process.stdout.readline())
        assert address is not None and address.startswith("grpc://127.0.0.1:")
        client = WorkerClient(address)
        assert client.action("health")["modules"] == ["security"]
        described = client.action("describe", {"path": "security"})["modules"][0]["module"]
        module = import_file(path, "seed_sdk_snippet_served")
        assert module_from_data(described, lambda *_: (None, None)) == module_spec(module.plugin, "security")
        assert client.action("shutdown") == {"status": "stopping"}
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
