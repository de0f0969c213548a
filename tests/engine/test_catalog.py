"""`EngineCatalog`: built-ins, heddle.toml mappings and aliases, entry points, lazy loading, load errors."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from heddle_engine.catalog import EngineCatalog, find_project, load_catalog
from heddle_engine.modules import BUILTIN_MODULES
from heddle_engine.project import read_project
from tests.engine.conftest import WriteFiles

ROOT = Path(__file__).parent.parent.parent

PLUGIN = '''
    """Greetings."""
    from heddle.core.table import Table
    from heddle.sdk.plugin import Plugin

    plugin = Plugin(namespace="greet")
    IMPORTS = globals().setdefault("IMPORTS", 0) + 1

    @plugin.step(name="hello")
    def hello(config: dict, input: Table) -> Table:
        raise AssertionError("never run by the catalog")
'''


def test_builtins_without_a_project(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    assert catalog.project is None
    assert list(catalog.paths()) == sorted(BUILTIN_MODULES)
    for path in BUILTIN_MODULES:
        spec = catalog.module(path)
        assert spec is not None and spec.path == path, path
        assert catalog.load_error(path) is None
    assert catalog.module("nope/nothing") is None
    assert catalog.load_error("nope/nothing") is None


def test_project_modules_aliases_and_errors(write_files: WriteFiles) -> None:
    root = write_files({
        "heddle.toml": '''
            [modules]
            "greet/hello" = "greetpkg.plugin_mod:plugin"
            "greet/whole" = "greetpkg.plugin_mod"
            "database/postgresql" = "fhub/postgresql"
            "broken/import" = "greetpkg.broken:plugin"
            "broken/attribute" = "greetpkg.plugin_mod:plugn"
            "broken/alias" = "fhub/postgresq"
            "broken/value" = 3
            "broken/not-a-plugin" = "greetpkg.plugin_mod:IMPORTS"
            "cycle/a" = "cycle/b"
            "cycle/b" = "cycle/a"
        ''',
        "greetpkg/__init__.py": "",
        "greetpkg/plugin_mod.py": PLUGIN,
        "greetpkg/broken.py": "import polars\n\nraise RuntimeError('no configuration found')\n",
        "workflows/nested/flow.he": "",
    })
    catalog = load_catalog(root / "workflows" / "nested" / "flow.he")
    assert catalog.root == root.resolve()
    assert {"greet/hello", "database/postgresql", "broken/value", "std/io"} <= set(catalog.paths())

    hello = catalog.module("greet/hello")
    assert hello is not None and hello.members == ["hello"] and hello.doc == "Greetings."
    assert catalog.module("greet/whole") == dataclasses.replace(hello, path="greet/whole")

    postgres = catalog.module("database/postgresql")
    assert postgres is not None and postgres.path == "database/postgresql" and postgres.namespace == "postgresql"
    assert postgres.resources["connection"].kind == "postgresql.connection"

    assert catalog.module("broken/import") is None
    assert catalog.load_error("broken/import") == "RuntimeError: no configuration found (greetpkg/broken.py:3)"
    assert catalog.load_error("broken/attribute") == (
        "AttributeError: module 'greetpkg.plugin_mod' has no attribute 'plugn'")
    assert catalog.load_error("broken/alias") == (
        "heddle.toml maps `broken/alias` to `fhub/postgresq`, which is no known module path")
    assert re.fullmatch(r".*heddle\.toml: the module `broken/value` must map to a string .*",
                        catalog.load_error("broken/value") or "")
    assert catalog.load_error("broken/not-a-plugin") == (
        "TypeError: `broken/not-a-plugin` names a int, not a Plugin or a Python module")
    assert catalog.load_error("cycle/a") is not None and "cycle" in catalog.load_error("cycle/a")  # type: ignore[operator]
    assert catalog.problems == []


def test_modules_are_imported_once_on_first_use(write_files: WriteFiles) -> None:
    root = write_files({
        "heddle.toml": '[modules]\n"greet/hello" = "lazy_greet:plugin"\n',
        "lazy_greet.py": PLUGIN,
    })
    catalog = load_catalog(root)
    assert "lazy_greet" not in sys.modules
    assert "greet/hello" in catalog.paths()
    assert "lazy_greet" not in sys.modules  # listing paths imports nothing
    first = catalog.module("greet/hello")
    assert catalog.module("greet/hello") is first
    assert sys.modules["lazy_greet"].IMPORTS == 1
    assert str(root) not in sys.path  # the project root is on sys.path only while importing


def test_a_faulty_project_file_is_reported_not_raised(write_files: WriteFiles) -> None:
    root = write_files({"heddle.toml": "[modules\n"})
    catalog = load_catalog(root)
    assert len(catalog.problems) == 1 and "heddle.toml" in catalog.problems[0]
    assert catalog.module("std/io") is not None


def test_find_project(write_files: WriteFiles) -> None:
    root = write_files({"heddle.toml": "", "a/b/c.he": ""})
    assert find_project(root / "a" / "b" / "c.he") == root.resolve()
    assert find_project(root / "a") == root.resolve()
    assert find_project(root.parent) is None or find_project(root.parent) != root.resolve()


def test_two_projects_with_the_same_package_name_in_one_process(write_files: WriteFiles, tmp_path: Path) -> None:
    for name in ("one", "two"):
        write_files({
            f"{name}/heddle.toml": f'[modules]\n"shared/{name}" = "sharedpkg.mod:plugin"\n',
            f"{name}/sharedpkg/__init__.py": "",
            f"{name}/sharedpkg/mod.py": PLUGIN.replace('"greet"', f'"{name}"'),
        })
    one = load_catalog(tmp_path / "one").module("shared/one")
    two = load_catalog(tmp_path / "two").module("shared/two")
    assert (one and one.namespace, two and two.namespace) == ("one", "two")


def test_entry_points_of_installed_packages(write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    site = write_files({
        "site/acme_geo.py": PLUGIN.replace('"greet"', '"geo"'),
        "site/acme_geo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: acme-geo\nVersion: 1.0\n",
        "site/acme_geo-1.0.dist-info/entry_points.txt": (
            "[heddle.modules]\nacme/geo = acme_geo:plugin\nstd/io = acme_geo:plugin\nacme/broken = acme_nope\n"),
    }) / "site"
    monkeypatch.syspath_prepend(str(site))
    catalog = EngineCatalog()
    assert {"acme/geo", "acme/broken"} <= set(catalog.paths())
    geo = catalog.module("acme/geo")
    assert geo is not None and geo.namespace == "geo" and geo.path == "acme/geo"
    assert catalog.load_error("acme/broken") == "ModuleNotFoundError: No module named 'acme_nope'"
    io = catalog.module("std/io")
    assert io is not None and io.namespace == "io"  # a built-in path is not taken over by a package
    assert "acme/geo" not in EngineCatalog(entry_points=False).paths()


def test_the_project_mapping_wins_over_builtins(write_files: WriteFiles) -> None:
    root = write_files({"heddle.toml": '[modules]\n"std/io" = "my_io:plugin"\n', "my_io.py": PLUGIN})
    spec = EngineCatalog(read_project(root)).module("std/io")
    assert spec is not None and spec.namespace == "greet"


def test_the_examples_resolve_every_import_of_the_seed_programs() -> None:
    catalog = load_catalog(ROOT / "examples" / "seeds")
    imports = {m for path in (ROOT / "examples").rglob("*.he")
               for m in re.findall(r'^import "([^"]+)"', path.read_text(encoding="utf-8"), re.MULTILINE)}
    assert imports >= {"fhub/kafka", "fhub/postgresql", "fhub/clickhouse", "fhub/llm", "fraud-score/detect",
                       "std/io", "database/postgresql", "email/validate"}
    for path in sorted(imports | {"security", "local/security"}):
        assert catalog.module(path) is not None, (path, catalog.load_error(path))
