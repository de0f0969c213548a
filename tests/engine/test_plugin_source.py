"""Reading plugin sources without running them (`heddle_engine.plugin_source`), and the editor's catalog that
falls back to that reading when a plugin cannot be imported."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from heddle_engine.catalog import EngineCatalog, load_catalog
from heddle_engine.loading import find_module_file
from heddle_engine.plugin_source import read_plugin_file, read_plugin_source
from heddle_engine.source_spec import module_spec_from_source
from heddle_lang.catalog_data import module_from_data, module_to_data

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = ROOT / "examples"
PLUGINS = sorted((EXAMPLES / "plugins").glob("*.py"))
# The example project's plugin paths, by file.
PATHS = {"fraud.py": "fraud-score/detect", "email_validate.py": "email/validate", "security.py": "security",
         "credit.py": "shop/credit"}


def name_at(path: Path | str, line: int, column: int | None, end: int | None) -> str:
    return Path(path).read_text(encoding="utf-8").splitlines()[line - 1][column:end]


@pytest.mark.parametrize("file", PLUGINS, ids=lambda p: p.name)
def test_the_examples_read_statically_as_the_sdk_reads_them(file: Path) -> None:
    source = read_plugin_file(file, "plugin")
    assert source is not None
    if file.name not in PATHS:
        assert source.functions == () and source.plugin is None
        return
    real = load_catalog(EXAMPLES).module(PATHS[file.name])
    assert real is not None and source.problems == ()
    static = module_spec_from_source(source, real.path, "not imported")
    assert static.namespace == real.namespace and set(static.functions) == set(real.functions)
    assert set(static.resources) == set(real.resources)
    for name, function in real.functions.items():
        read = static.functions[name]
        assert (read.config, read.input, read.takes_input, read.resources, read.doc) == \
            (function.config, function.input, function.takes_input, function.resources, function.doc)
        assert read.output is None  # never guessed
        assert function.location is not None and read.location is not None
        assert read.location.line == function.location.line
        own = source.function(name)
        assert own is not None
        assert name_at(file, read.location.line, read.location.column, read.location.end_column) == own.python_name
    for name, resource in real.resources.items():
        assert static.resources[name].config == resource.config


def test_fraud_config_fields_keep_their_annotation_default_and_doc() -> None:
    source = read_plugin_file(EXAMPLES / "plugins" / "fraud.py")
    assert source is not None
    fields = source.attributes("ProcessConfig")
    assert fields is not None
    assert [(f.name, f.annotation, f.default, f.doc) for f in fields] == [
        ("threshold", "float", "0.8", "A score at or above it flags the transaction."),
        ("high_amount", "float", "50_000.0", "The amount at which the score reaches 1."),
        ("max_amount", "float", "1_000_000.0",
         "An amount above it is a data error, not a transaction to score: the row fails."),
    ]
    process = source.function("process")
    assert process is not None
    assert process.decorators == ('plugin.step(name="process", passthrough=True)',)
    assert [(p.name, p.annotation) for p in process.parameters] == [("config", "ProcessConfig"),
                                                                     ("input", "Transactions")]
    assert process.returns == "Scored"
    assert [a.name for a in source.attributes("Transactions") or ()] == ["user_id", "amount"]


TRICKY = '''"""Tricky."""
import functools
from heddle.sdk import Plugin as P
from heddle.core.step import StepConfig
from typing import NotRequired, TypedDict

tools = P("tools", doc="Tools of the trade.")
alias = tools
step = tools.step


class Base(StepConfig[None]):
    level: int


class Options(Base):
    name: str | None = None
    """Who."""
    secret: Secret


class Keys(TypedDict, total=False):
    n: int
    m: list[str]


@alias.step(name="renamed", takes_input=False)
def original(config: Options):
    """Registered under another name."""
    def helper() -> None:
        pass


@functools.cache
@step("positional", resources={"db": "sql.connection", "cache": ("store", False)})
async def asynchronous(config: Keys, input: "Table") -> "Table":
    return input


def factory():
    @tools.step(name="inner")
    def inner(config: dict, input: Table) -> Table:
        return input


if True:
    @tools.resource(name="store")
    def store(config: Keys) -> object:
        return object()


def ωmega(config: dict, input: Table) -> Table:
    return input


@tools.step()
def ωmega_step(config: dict, input: Table) -> Table:
    return input
'''


def test_tricky_declarations_are_read() -> None:
    source = read_plugin_source(TRICKY, "tricky.py")
    assert source.plugin == "tools" and source.namespace == "tools" and source.plugin_doc == "Tools of the trade."
    assert [(f.kind, f.name, f.python_name) for f in source.functions] == [
        ("step", "renamed", "original"), ("step", "positional", "asynchronous"), ("resource", "store", "store"),
        ("step", "ωmega_step", "ωmega_step")]  # not `inner` (registered only when `factory` runs), not `helper`
    renamed, positional, store, omega = source.functions
    assert renamed.doc == "Registered under another name." and not renamed.is_async
    assert positional.is_async and positional.decorators[0] == "functools.cache"
    assert positional.options["resources"] == '{"db": "sql.connection", "cache": ("store", False)}'
    assert store.location.line == TRICKY.splitlines().index("    def store(config: Keys) -> object:") + 1
    assert (store.location.column, store.location.end_column) == (8, 13)
    line = TRICKY.splitlines()[omega.location.line - 1]
    assert line[omega.location.column:omega.location.end_column] == "ωmega_step"  # columns in code points

    spec = module_spec_from_source(source, "my/tools", "ImportError: no")
    assert spec.import_error == "ImportError: no" and spec.doc == "Tools of the trade."
    options = spec.functions["renamed"]
    assert not options.takes_input  # `takes_input=False` wins
    assert [(f.name, str(f.type), f.required, f.doc, f.secret) for f in options.config.fields] == [
        ("level", "int", True, "", False), ("name", "str | null", False, "Who.", False),
        ("secret", "str", True, "", True)]
    asynchronous = spec.functions["positional"]
    assert asynchronous.takes_input and not asynchronous.config.open
    assert [(f.name, str(f.type), f.required) for f in asynchronous.config.fields] == [
        ("n", "int", False), ("m", "list[str]", False)]  # total=False
    assert [(s.key, s.kind, s.required) for s in asynchronous.resources] == [
        ("db", "sql.connection", True), ("cache", "tools.store", False)]
    assert spec.resources["store"].kind == "tools.store"


def test_a_syntax_error_costs_only_what_it_breaks() -> None:
    text = TRICKY.replace("class Keys(TypedDict, total=False):", "class Keys(TypedDict, total=False:")
    text += ("\ndef broken(:\n    pass\n\n@tools.step(name='after')\ndef after(config: dict, input: Table) -> Table:\n"
             "    return input\n")
    source = read_plugin_source(text, "broken.py")
    assert source.problems and source.problems[0].startswith("line ")
    names = [f.name for f in source.functions]
    assert "renamed" in names and "after" in names


def test_a_config_whose_base_comes_from_elsewhere_stays_open() -> None:
    text = ("from heddle.sdk.plugin import Plugin\nfrom other import Shared\nplugin = Plugin('p')\n"
            "class C(Shared):\n    a: int\n@plugin.step(name='s')\ndef s(config: C, input: Rows) -> Rows:\n"
            "    pass\n")
    spec = module_spec_from_source(read_plugin_source(text, "p.py"), "p", "x")
    function = spec.functions["s"]
    assert function.config.open and function.takes_input and function.input.open and not function.input.columns


def test_plain_modules_and_several_plugins() -> None:
    plain = ("from heddle.core.table import Table\nclass Rows(Table):\n    id: int\n"
             "def clean(input: Rows) -> Rows:\n    return input\ndef helper(x: int) -> int:\n    return x\n"
             "def _private(input: Rows) -> Rows:\n    return input\n")
    source = read_plugin_source(plain, "/p/cleaning.py")
    assert source.plugin is None and source.namespace == "cleaning"
    assert [f.name for f in source.functions] == ["clean"]
    several = "from heddle.sdk.plugin import Plugin\na = Plugin('a')\nb = Plugin('b')\n" \
              "@b.step(name='x')\ndef x(config: dict, input: T) -> T:\n    pass\n"
    assert read_plugin_source(several, "s.py").functions == ()
    assert [f.name for f in read_plugin_source(several, "s.py", "b").functions] == ["x"]
    assert read_plugin_source(several, "s.py", "c").problems == ("the module binds no Plugin to `c`",)


def test_reading_never_raises() -> None:
    texts = [p.read_text(encoding="utf-8") for p in PLUGINS] + [TRICKY]
    generator = random.Random(7)
    alphabet = "@()[]{}:=,.'\"\\\n\t #ab"
    for text in texts:
        for cut in range(0, len(text), 37):
            read_plugin_source(text[:cut], "cut.py")
        for _ in range(40):
            chars = list(text)
            for _ in range(5):
                chars.insert(generator.randrange(len(chars) + 1), generator.choice(alphabet))
            read_plugin_source("".join(chars), "mutated.py")
    for odd in ("", "\x00", "@", "@@@\n", "(" * 5000, "def", "class", "\ufeff", "@plugin.step(" * 300):
        read_plugin_source(odd, "odd.py")


def test_module_files_are_found_without_importing(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("raise SystemExit('never run')\n")
    (tmp_path / "pkg" / "mod.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    assert find_module_file("pkg.mod", [tmp_path]) == tmp_path / "pkg" / "mod.py"
    assert find_module_file("pkg.sub", [tmp_path]) == tmp_path / "pkg" / "sub" / "__init__.py"
    assert find_module_file("pkg.nothing", [tmp_path]) is None
    assert find_module_file("../etc", [tmp_path]) is None


def test_locations_and_import_errors_travel_as_data() -> None:
    source = read_plugin_source(TRICKY, "tricky.py")
    spec = module_spec_from_source(source, "my/tools", "ImportError: no")
    back = module_from_data(module_to_data(spec), lambda path, name: (None, None))
    assert back == spec


# --- the editor's catalog ---------------------------------------------------------------------------------


PLUGIN = '''"""Scores."""
{imports}
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="scores")


class Rows(Table):
    id: int


@plugin.step(name="score", passthrough=True)
def score(config: dict, input: Rows) -> Rows:
    """Score each row."""
    return input
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "heddle.toml").write_text('[modules]\n"my/scores" = "lib.scores:plugin"\n')
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "__init__.py").write_text("")
    return tmp_path


@pytest.fixture
def editor(project: Path) -> Iterator[EngineCatalog]:
    catalog = load_catalog(project, isolated=True)
    yield catalog
    assert catalog.plugins is not None
    catalog.plugins.close()


def test_the_editor_reads_a_plugin_it_cannot_import_from_its_source(project: Path, editor: EngineCatalog) -> None:
    (project / "lib" / "scores.py").write_text(PLUGIN.format(imports="import heddle_test_missing_dependency\n"))
    module = editor.module("my/scores")
    assert module is not None and editor.load_error("my/scores") is None
    assert "No module named 'heddle_test_missing_dependency'" in module.import_error
    assert module.functions["score"].doc == "Score each row."
    # `heddle check` and `heddle run` import in process: there, it stays an error.
    cli = load_catalog(project)
    assert cli.module("my/scores") is None
    assert "heddle_test_missing_dependency" in (cli.load_error("my/scores") or "")


def test_the_editor_locates_names_in_the_file_as_it_is_now(project: Path, editor: EngineCatalog) -> None:
    plugin = project / "lib" / "scores.py"
    plugin.write_text(PLUGIN.format(imports=""))
    module = editor.module("my/scores")
    assert module is not None and module.import_error == ""
    location = module.functions["score"].location
    assert location is not None and location.path == str(plugin)
    assert name_at(plugin, location.line, location.column, location.end_column) == "score"
    plugin.write_text(PLUGIN.format(imports="\n\n# moved down\n"))
    os.utime(plugin, ns=(plugin.stat().st_atime_ns, plugin.stat().st_mtime_ns + 1_000_000_000))
    moved = editor.module("my/scores")
    assert moved is not None
    new = moved.functions["score"].location
    assert new is not None and new.line == location.line + 3
    assert name_at(plugin, new.line, new.column, new.end_column) == "score"
    assert editor.plugins is not None and editor.plugins.starts == 1  # the source is read again, not imported
