"""The code attrs generates for lsprotocol's types, kept between starts of the server (heddle_lsp/protocol_types.py):
compiled by the first start only, and the types the same."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from heddle.kept_code import CodeStore
from heddle_lsp.protocol_types import STORE, import_types
compiled = import_types()
from lsprotocol.types import Diagnostic, Position, Range
from pygls.protocol import default_converter
converter = default_converter()
value = Diagnostic(range=Range(Position(1, 2), Position(3, 4)), message="m", code="HE0001")
data = converter.unstructure(value)
assert converter.structure(data, Diagnostic) == value and value != Diagnostic(range=value.range, message="n")
assert data == {"range": {"start": {"line": 1, "character": 2}, "end": {"line": 3, "character": 4}},
                "message": "m", "code": "HE0001"}, data
print(compiled, CodeStore(STORE).path.exists())
print(sorted((k, repr(v)) for k, v in Diagnostic.__init__.__annotations__.items()))
"""

PLAIN = """
from lsprotocol.types import Diagnostic
print(sorted((k, repr(v)) for k, v in Diagnostic.__init__.__annotations__.items()))
"""


def start(prefix: Path, **environment: str) -> tuple[int, bool]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(prefix), **environment)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stderr
    counts, annotations = done.stdout.splitlines()
    plain = subprocess.run([sys.executable, "-c", PLAIN], capture_output=True, text=True, check=True, timeout=120)
    assert annotations == plain.stdout.strip()  # the same code as attrs' own compiling makes
    compiled, exists = counts.split()
    return int(compiled), exists == "True"


def test_the_first_start_compiles_and_keeps_the_code_the_next_compiles_nothing(tmp_path: Path) -> None:
    compiled, kept = start(tmp_path)
    assert compiled > 500 and kept
    assert start(tmp_path) == (0, True)


def test_nothing_is_kept_where_python_writes_no_bytecode(tmp_path: Path) -> None:
    compiled, kept = start(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert compiled > 500 and not kept
    assert start(tmp_path, PYTHONDONTWRITEBYTECODE="1")[0] == compiled


CONVERTER_PROBE = """
from heddle.kept_code import CodeStore
from heddle_lsp.protocol_types import CONVERTER_STORE, import_types, keep_converter_code
import_types()
store = CodeStore(CONVERTER_STORE)
keep_converter_code(store)
from lsprotocol import types as lsp
from pygls.protocol import default_converter
converter = default_converter()
params = converter.structure({"processId": 7, "rootUri": None, "capabilities": {
    "textDocument": {"hover": {"contentFormat": ["markdown"]},
                     "completion": {"completionItem": {"snippetSupport": True}}},
    "general": {"positionEncodings": ["utf-16"]}}}, lsp.InitializeParams)
published = converter.unstructure(lsp.PublishDiagnosticsParams(uri="file:///a.he", version=2, diagnostics=[
    lsp.Diagnostic(range=lsp.Range(lsp.Position(0, 1), lsp.Position(0, 2)), message="m", code="HE0001",
                   severity=lsp.DiagnosticSeverity.Error)]))
print(store.added)
store.save()
print(repr(params))
print(sorted(published.items()))
"""


def test_the_converters_code_is_kept_and_converts_as_cattrs_own(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", CONVERTER_PROBE], capture_output=True, text=True, check=True,
                           timeout=120, env=env).stdout.splitlines() for _ in range(2)]
    plain = CONVERTER_PROBE.replace("keep_converter_code(store)", "")
    own = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, check=True, timeout=120,
                         env={**env, "PYTHONPYCACHEPREFIX": str(tmp_path / "plain")}).stdout.splitlines()
    assert int(runs[0][0]) > 10 and runs[1][0] == "0" and own[0] == "0"  # compiled once, then kept
    assert runs[0][1:] == runs[1][1:] == own[1:]
    assert "'code': 'HE0001'" in runs[1][2] and "snippet_support=True" in runs[1][1]
