"""Neovim as a real LSP client of `heddle-lsp`: headless, with Neovim's own LSP client (0.7 and later).

One Neovim run (module fixture) opens a copy of examples/seeds/fraud_detection.he with a broken line and
an empty injection appended, inside a temporary copy of the examples project (so `heddle.toml` and the
plugins resolve), in a temporary folder. A Lua script detects the `heddle` filetype for `*.he`, starts
the venv's `heddle-lsp` with `vim.lsp.start_client` and attaches it with `vim.lsp.buf_attach_client`
(Debian bookworm's Neovim 0.7.2 has no `vim.lsp.start`), waits for diagnostics with `vim.wait`, asks
for completion right after an injection's `<` and for hover on a step name with
`vim.lsp.buf_request_sync` when the server advertises them, and writes everything as JSON files.

Skipped when `nvim` is not on PATH; CI installs it with scripts/ci/install-neovim.sh.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NVIM = shutil.which("nvim")
pytestmark = pytest.mark.skipif(
    NVIM is None, reason="nvim is not on PATH (CI installs Debian's neovim: scripts/ci/install-neovim.sh)")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT_SECONDS = 120
WAIT_MS = 60_000  # what the script waits for the server's answers at most

BROKEN_LINE = "step broken_step = kafka.no_such_function"
BROKEN_CODE = "HE3004"  # `kafka` (fhub/kafka) has no `no_such_function`
PROBE = ["handler completion_probe {", "  *", '    | <> kafka.produce { topic: "x" }', "}"]
HOVER_LINE = "    | generate_audit"

LUA = r"""
local params = vim.fn.json_decode([==[@PARAMS@]==])
local client_id = nil

local function write(name, value)
  vim.fn.writefile({ vim.fn.json_encode(value) }, params.out .. "/" .. name .. ".json")
end

local function request(buf, client, name, capability, method, row, col)
  local capabilities = client.server_capabilities or {}
  if not capabilities[capability] then
    write(name, { skipped = "the server does not advertise " .. capability .. " in its initialize result" })
    return
  end
  vim.api.nvim_win_set_cursor(0, { row, col })
  local position = vim.lsp.util.make_position_params()
  local responses, err = vim.lsp.buf_request_sync(buf, method, position, params.wait_ms)
  if responses == nil or responses[client_id] == nil then
    write(name, { error = { message = "no response: " .. tostring(err) } })
    return
  end
  local response = responses[client_id]
  write(name, { position = position.position, result = response.result, error = response.error })
end

local function main()
  vim.cmd("autocmd BufRead,BufNewFile *.he setfiletype heddle")
  vim.cmd("doautocmd BufRead")  -- the file was loaded before this script ran: detect its type now
  local buf = vim.api.nvim_get_current_buf()
  client_id = vim.lsp.start_client({
    name = "heddle-lsp",
    cmd = params.cmd,
    cmd_cwd = params.root,
    root_dir = params.root,
  })
  assert(client_id ~= nil, "vim.lsp.start_client returned nil")
  assert(vim.lsp.buf_attach_client(buf, client_id), "vim.lsp.buf_attach_client failed")
  local client = vim.lsp.get_client_by_id(client_id)
  assert(vim.wait(params.wait_ms, function() return client.initialized end, 20), "the server did not initialize")
  local arrived = vim.wait(params.wait_ms, function() return #vim.diagnostic.get(buf) > 0 end, 20)
  local diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(diagnostics, {
      lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      severity = d.severity, code = d.code, source = d.source, message = d.message,
    })
  end
  write("diagnostics", { arrived = arrived, items = diagnostics })
  write("state", {
    filetype = vim.bo[buf].filetype,
    attached = vim.lsp.buf_is_attached(buf, client_id),
    client = client.name,
    capabilities = vim.tbl_keys(client.server_capabilities or {}),
    nvim = tostring(vim.version().major) .. "." .. vim.version().minor .. "." .. vim.version().patch,
  })
  request(buf, client, "completion", "completionProvider", "textDocument/completion",
          params.completion[1], params.completion[2])
  request(buf, client, "hover", "hoverProvider", "textDocument/hover", params.hover[1], params.hover[2])
end

local ok, err = pcall(main)
if not ok then
  write("error", { message = tostring(err) })
end
if client_id ~= nil then
  vim.lsp.stop_client(client_id)
  vim.wait(3000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
end
vim.cmd("qa!")
"""


@dataclass(frozen=True)
class Run:
    text: list[str]  # the lines of the file Neovim edited
    out: Path
    seconds: float
    stdout: str
    stderr: str

    def result(self, name: str) -> Any:
        path = self.out / f"{name}.json"
        if not path.exists():
            error = self.out / "error.json"
            detail = json.loads(error.read_text())["message"] if error.exists() else "no error was written"
            pytest.fail(f"Neovim wrote no {name}.json: {detail}\nstdout: {self.stdout}\nstderr: {self.stderr}")
        return json.loads(path.read_text(encoding="utf-8"))

    def line_of(self, needle: str) -> int:
        """The 0-based number of the line that starts with `needle`."""
        return next(i for i, line in enumerate(self.text) if line.startswith(needle))


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "heddle-lsp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "heddle_lsp"]


@pytest.fixture(scope="module")
def nvim_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    assert NVIM is not None
    base = tmp_path_factory.mktemp("neovim")
    project = base / "project"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns("__pycache__"))
    source = (EXAMPLES / "seeds" / "fraud_detection.he").read_text(encoding="utf-8").rstrip("\n")
    text = [*source.split("\n"), "", BROKEN_LINE, "", *PROBE]
    document = project / "pipeline.he"
    document.write_text("\n".join(text) + "\n", encoding="utf-8")
    out = base / "out"
    out.mkdir()

    probe = next(i for i, line in enumerate(text) if line.startswith("    | <>"))
    hover = next(i for i, line in enumerate(text) if line == HOVER_LINE)
    params = {
        "out": str(out),
        "root": str(project),
        "cmd": server_command(),
        "wait_ms": WAIT_MS,
        # Neovim cursors: 1-based row, 0-based byte column. Right after `<`; inside the step's name.
        "completion": [probe + 1, text[probe].index("<") + 1],
        "hover": [hover + 1, text[hover].index("generate_audit") + 3],
    }
    script = base / "heddle.lua"
    script.write_text(LUA.replace("@PARAMS@", json.dumps(params)), encoding="utf-8")

    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(base / name.lower())  # Neovim's log and state stay in the temporary folder
    start = time.perf_counter()
    completed = subprocess.run(
        [NVIM, "--headless", "--clean", "-u", "NONE", str(document), "-c", f"luafile {script}"],
        cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
    )
    seconds = time.perf_counter() - start
    return Run(text, out, seconds, completed.stdout, completed.stderr)


def test_the_buffer_gets_the_heddle_filetype_and_the_server(nvim_run: Run) -> None:
    state = nvim_run.result("state")
    assert state["filetype"] == "heddle"
    assert state["attached"] is True
    assert "textDocumentSync" in state["capabilities"]


def test_diagnostics_include_the_broken_line(nvim_run: Run) -> None:
    diagnostics = nvim_run.result("diagnostics")
    assert diagnostics["arrived"], "no diagnostics arrived"
    line = nvim_run.line_of(BROKEN_LINE)
    found = [d for d in diagnostics["items"] if d["code"] == BROKEN_CODE]
    assert [(d["lnum"], d["col"]) for d in found] == [(line, BROKEN_LINE.index("no_such_function"))], diagnostics
    (broken,) = found
    assert broken["severity"] == 1  # vim.diagnostic.severity.ERROR
    assert broken["source"] == "heddle"
    assert "no_such_function" in broken["message"]


def _answer(nvim_run: Run, name: str) -> Any:
    answer = nvim_run.result(name)
    if "skipped" in answer:
        pytest.skip(f"{name} not checked: {answer['skipped']}")
    assert answer.get("error") is None, answer
    return answer


def test_completion_right_after_an_injection_opener_offers_the_slot(nvim_run: Run) -> None:
    answer = _answer(nvim_run, "completion")
    probe = nvim_run.line_of("    | <>")
    assert answer["position"] == {"line": probe, "character": nvim_run.text[probe].index("<") + 1}
    result = answer.get("result") or []
    items = result["items"] if isinstance(result, dict) else result
    labels = [item["label"] for item in items]
    assert any("broker" in label for label in labels), labels  # kafka.produce takes a `broker` resource


def test_hover_on_a_step_name_describes_the_step(nvim_run: Run) -> None:
    answer = _answer(nvim_run, "hover")
    result = answer.get("result")
    assert result, answer
    contents = result["contents"]
    if isinstance(contents, dict):
        text = contents["value"]
    elif isinstance(contents, list):
        text = "\n".join(part if isinstance(part, str) else part["value"] for part in contents)
    else:
        text = contents
    assert "generate_audit" in text, text
