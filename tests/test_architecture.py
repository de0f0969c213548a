"""The layering invariants of ARCHITECTURE.md, checked on the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        modules: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = modules
    return found


def test_language_layer_knows_no_lsp_engine_or_io_packages() -> None:
    # Polars, Arrow and prqlc are pure computation here (planning on empty frames); nothing does I/O.
    forbidden = {"pygls", "lsprotocol", "heddle_engine", "heddle_lsp", "heddle",
                 "subprocess", "socket", "os", "shutil", "pathlib", "urllib", "http"}
    offenders = {f: sorted(m & forbidden) for f, m in imported_modules("heddle_lang").items() if m & forbidden}
    assert offenders == {}


def test_only_the_language_server_imports_pygls_and_lsprotocol() -> None:
    for package in ("heddle_lang", "heddle_engine", "heddle"):
        offenders = {f: m for f, m in imported_modules(package).items() if m & {"pygls", "lsprotocol"}}
        assert offenders == {}, package


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    marker = "<!-- test-command -->"
    command = readme.split(marker, 1)[1].split("```", 2)[1].strip().removeprefix("sh").strip()
    assert command in ci


def test_the_sdk_and_the_python_worker_import_no_engine() -> None:
    # A plugin author's environment (and `plugin.serve()`) needs the SDK alone.
    for package in ("heddle/sdk", "heddle/core", "heddle/flight"):
        offenders = {f: m for f, m in imported_modules(package).items() if m & {"heddle_engine", "heddle_lsp"}}
        assert offenders == {}, package


def test_the_plugin_process_imports_no_checker() -> None:
    # It starts beside the language server on every start: the SDK and the catalog's data, not the analysis.
    code = ("import sys, heddle_engine.plugin_worker, heddle.sdk; "
            "print(sorted(m for m in sys.modules if m.startswith(('heddle_lang.semantic', 'heddle_lang.relational'))))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"
