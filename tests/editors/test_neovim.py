"""Neovim with the plugin folder editors/neovim/ as a real LSP client of `heddle-lsp`, headless.

One run (module fixture) per Neovim: the `nvim` on PATH (Debian bookworm's 0.7.2 in CI); 0.10 (Debian
trixie's) and 0.11+ (Debian forky's 0.12) from scripts/ci/install-neovim-debian.sh, found through
$HEDDLE_NVIM_010 and $HEDDLE_NVIM_011 or the script's default folders. Each is skipped, saying why, when
it is not there. A run starts Neovim with an init file that does what a user's does: put editors/neovim/ on 'runtimepath' and call
`require("heddle").setup({ cmd = ... })`. Neovim opens `pipeline.he` of the workspace
(tests/editors/workspace.py); the plugin's ftdetect gives it the `heddle` filetype, and setup() starts
the server (0.7: vim.lsp.start_client + buf_attach_client; 0.10: vim.lsp.start; 0.11+: vim.lsp.enable).
A probe script waits for the client and the diagnostics with `vim.wait`, asks for completion right after
an injection's `<` and for hover on a step name with `vim.lsp.buf_request_sync` when the server
advertises them, edits the broken line and collects the new diagnostics, and writes everything as JSON
files. From 0.10 on, the init file first compiles the tree-sitter parser with the plugin's `build()` into
a folder on 'runtimepath', and the probe checks that highlighting started.

A second, short run checks the registrations with nvim-lspconfig and nvim-treesitter (master) against
stand-ins of the two tables they fill (neither plugin can be installed here), and a plain test keeps the
plugin's queries identical to the grammar's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.editors.workspace import (
    BROKEN_CODE,
    BROKEN_LINE,
    HOVER_WORD,
    REPO,
    Workspace,
    make_workspace,
    server_command,
)

PLUGIN = REPO / "editors" / "neovim"
GRAMMAR = REPO / "tree-sitter-heddle"
NVIM_010_DEFAULT = REPO / ".cache" / "nvim-0.10" / "bin" / "nvim"
NVIM_011_DEFAULT = REPO / ".cache" / "nvim-0.12" / "bin" / "nvim"
TIMEOUT_SECONDS = 180
WAIT_MS = 60_000  # what the probe waits for the server's answers at most
SETTLE_MS = 5_000  # after an edit's first diagnostic, how long the probe waits for a duplicate
BROKEN_NAME = "no_such_function"
EDITED_NAME = "other_missing_function"


@dataclass(frozen=True)
class Neovim:
    label: str
    path: str | None  # None: not installed here
    missing: str  # why it is skipped when not installed
    treesitter: bool  # whether the run builds the parser and checks highlighting


def neovim_on_path() -> Neovim:
    return Neovim("PATH", shutil.which("nvim"),
                  "nvim is not on PATH (CI installs Debian's neovim: scripts/ci/install-neovim.sh)", False)


def installed_neovim(label: str, variable: str, default: Path, suite: str) -> Neovim:
    """An nvim named by `variable`, else the one scripts/ci/install-neovim-debian.sh puts in `default`."""
    configured = os.environ.get(variable)
    if configured:
        found = configured if Path(configured).is_file() else None
        missing = f"{variable}={configured} is not a file"
    else:
        found = str(default) if default.is_file() else None
        missing = (f"Neovim {label} is not installed: run scripts/ci/install-neovim-debian.sh {suite} (into "
                   f"{default.parent.parent}) or set {variable} to its nvim")
    return Neovim(label, found, missing, shutil.which(os.environ.get("CC", "cc")) is not None)


NEOVIMS = [neovim_on_path(), installed_neovim("0.10", "HEDDLE_NVIM_010", NVIM_010_DEFAULT, "trixie"),
           installed_neovim("0.11+", "HEDDLE_NVIM_011", NVIM_011_DEFAULT, "forky")]

INIT = r"""
local params = vim.fn.json_decode([==[@PARAMS@]==])
vim.opt.runtimepath:prepend(params.plugin)
if params.parser_dir ~= vim.NIL then
  vim.opt.runtimepath:append(params.parser_dir)
  local path, err = require("heddle.treesitter").build(params.parser_dir)
  vim.fn.writefile({ vim.fn.json_encode({ path = path, error = err }) }, params.out .. "/build.json")
end
require("heddle").setup({ cmd = params.cmd })
"""

PROBE = r"""
local params = vim.fn.json_decode([==[@PARAMS@]==])
local client_id = nil

local function write(name, value)
  vim.fn.writefile({ vim.fn.json_encode(value) }, params.out .. "/" .. name .. ".json")
end

local function heddle_client(buf)
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = buf }) or vim.lsp.buf_get_clients(buf)
  for _, client in pairs(clients) do
    if client.name == "heddle_lsp" then
      return client
    end
  end
  return nil
end

local function request(buf, client, name, capability, method, position)
  local capabilities = client.server_capabilities or {}
  if not capabilities[capability] then
    write(name, { skipped = "the server does not advertise " .. capability .. " in its initialize result" })
    return
  end
  vim.api.nvim_win_set_cursor(0, { position[1] + 1, position[2] })  -- 1-based row, 0-based byte column
  local position_params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local responses, err = vim.lsp.buf_request_sync(buf, method, position_params, params.wait_ms)
  if responses == nil or responses[client_id] == nil then
    write(name, { error = { message = "no response: " .. tostring(err) } })
    return
  end
  local response = responses[client_id]
  write(name, { position = position_params.position, result = response.result, error = response.error })
end

local function highlighting(buf)
  local highlighter = vim.treesitter.highlighter and vim.treesitter.highlighter.active[buf]
  local captures = {}
  if highlighter ~= nil and vim.treesitter.get_captures_at_pos then
    vim.treesitter.get_parser(buf):parse(true)  -- Neovim 0.11+ parses lazily, as the screen needs it
    for _, capture in ipairs(vim.treesitter.get_captures_at_pos(buf, 0, 0)) do
      table.insert(captures, capture.lang .. ":" .. capture.capture)
    end
  end
  return { active = highlighter ~= nil, captures_at_start = captures }
end

-- Renames the unknown function of the broken line, as typing would, and collects the diagnostics about
-- the new name: at least one is expected; a second one may come from another source (push and pull).
local function edit(buf)
  local edit = params.edit
  vim.api.nvim_buf_set_text(buf, edit.line, edit.start, edit.line, edit.start + #edit.old, { edit.new })
  local function about_new_name()
    local found = {}
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      if d.message:find(edit.new, 1, true) then
        table.insert(found, { lnum = d.lnum, col = d.col, code = d.code, namespace = d.namespace })
      end
    end
    return found
  end
  local arrived = vim.wait(params.wait_ms, function() return #about_new_name() > 0 end, 20)
  vim.wait(params.settle_ms, function() return #about_new_name() > 1 end, 20)
  write("edited", { arrived = arrived, items = about_new_name() })
end

-- What `:lua vim.diagnostic.open_float()` shows on the broken name's diagnostic, and what the README's
-- recipe for 0.7 (a `format` that appends the code) shows there.
local function float_lines(buf, opts)
  local broken = nil
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.message:find(params.edit.old, 1, true) then
      broken = d
    end
  end
  if broken == nil then
    return {}
  end
  vim.api.nvim_win_set_cursor(0, { broken.lnum + 1, broken.col })
  local float_buf, win = vim.diagnostic.open_float(vim.tbl_extend("force", { bufnr = buf, scope = "cursor" }, opts))
  local lines = float_buf and vim.api.nvim_buf_get_lines(float_buf, 0, -1, false) or {}
  if win then
    vim.api.nvim_win_close(win, true)
  end
  return lines
end

local function float_texts(buf)
  return {
    default = float_lines(buf, {}),
    recipe = float_lines(buf, { format = function(d) return d.message .. " [" .. d.code .. "]" end }),
  }
end

local function main()
  local buf = vim.api.nvim_get_current_buf()
  local ready = vim.wait(params.wait_ms, function()
    local client = heddle_client(buf)
    return client ~= nil and client.initialized == true
  end, 20)
  assert(ready, "no initialized heddle_lsp client is attached to the buffer")
  local client = heddle_client(buf)
  client_id = client.id
  local arrived = vim.wait(params.wait_ms, function() return #vim.diagnostic.get(buf) > 0 end, 20)
  local diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(diagnostics, {
      lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      severity = d.severity, code = d.code, source = d.source, message = d.message,
    })
  end
  write("diagnostics", { arrived = arrived, items = diagnostics })
  write("float", float_texts(buf))
  write("state", {
    filetype = vim.bo[buf].filetype,
    attached = vim.lsp.buf_is_attached(buf, client_id),
    client = client.name,
    root_dir = client.config.root_dir,
    capabilities = vim.tbl_keys(client.server_capabilities or {}),
    nvim = tostring(vim.version().major) .. "." .. vim.version().minor .. "." .. vim.version().patch,
    lsp_config = dofile(params.plugin .. "/lsp/heddle_lsp.lua"),
    treesitter = highlighting(buf),
  })
  request(buf, client, "completion", "completionProvider", "textDocument/completion", params.completion)
  request(buf, client, "hover", "hoverProvider", "textDocument/hover", params.hover)
  edit(buf)
end

local ok, err = pcall(main)
if not ok then
  write("error", { message = tostring(err) })
end
local client = client_id and vim.lsp.get_client_by_id(client_id)
if client then
  if vim.fn.has("nvim-0.11") == 1 then
    client:stop()
  else
    vim.lsp.stop_client(client_id)
  end
  vim.wait(3000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
end
vim.cmd("qa!")
"""


@dataclass(frozen=True)
class Run:
    workspace: Workspace
    out: Path
    stdout: str
    stderr: str

    def result(self, name: str) -> Any:
        path = self.out / f"{name}.json"
        if not path.exists():
            error = self.out / "error.json"
            detail = json.loads(error.read_text())["message"] if error.exists() else "no error was written"
            pytest.fail(f"Neovim wrote no {name}.json: {detail}\nstdout: {self.stdout}\nstderr: {self.stderr}")
        return json.loads(path.read_text(encoding="utf-8"))


def isolated_env(base: Path) -> dict[str, str]:
    """The environment with Neovim's config, data, state and cache folders inside `base`."""
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(base / name.lower())
    return env


def lua_with(template: str, params: dict[str, Any]) -> str:
    return template.replace("@PARAMS@", json.dumps(params))


@pytest.fixture(scope="module", params=NEOVIMS, ids=[neovim.label for neovim in NEOVIMS])
def nvim_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    neovim: Neovim = request.param
    if neovim.path is None:
        pytest.skip(neovim.missing)
    base = tmp_path_factory.mktemp(f"neovim-{neovim.label}")
    workspace = make_workspace(base)
    out = base / "out"
    out.mkdir()
    params = {
        "plugin": str(PLUGIN),
        "out": str(out),
        "cmd": server_command(),
        "wait_ms": WAIT_MS,
        "parser_dir": str(base / "site") if neovim.treesitter else None,
        "completion": workspace.completion_position,
        "hover": workspace.hover_position,
        "settle_ms": SETTLE_MS,
        "edit": {"line": workspace.line_of(BROKEN_LINE), "start": BROKEN_LINE.index(BROKEN_NAME),
                 "old": BROKEN_NAME, "new": EDITED_NAME},
    }
    init = base / "init.lua"
    init.write_text(lua_with(INIT, params), encoding="utf-8")
    probe = base / "probe.lua"
    probe.write_text(lua_with(PROBE, params), encoding="utf-8")

    completed = subprocess.run(
        [neovim.path, "--headless", "--clean", "-u", str(init), str(workspace.document), "-c", f"luafile {probe}"],
        cwd=workspace.project, env=isolated_env(base), capture_output=True, text=True,
        timeout=TIMEOUT_SECONDS, check=False,
    )
    return Run(workspace, out, completed.stdout, completed.stderr)


def test_the_buffer_gets_the_heddle_filetype_and_the_server(nvim_run: Run) -> None:
    state = nvim_run.result("state")
    assert state["filetype"] == "heddle"
    assert state["attached"] is True
    assert state["client"] == "heddle_lsp"
    assert state["root_dir"] == str(nvim_run.workspace.project)  # the folder of heddle.toml
    assert "textDocumentSync" in state["capabilities"]


def test_neovim_reports_no_error(nvim_run: Run) -> None:
    errors = [line for line in nvim_run.stderr.splitlines() if "Error" in line or line.startswith("E")]
    assert not errors, nvim_run.stderr


def test_the_neovim_0_11_config_names_the_server(nvim_run: Run) -> None:
    config = nvim_run.result("state")["lsp_config"]
    assert config == {"cmd": ["heddle-lsp"], "filetypes": ["heddle"], "root_markers": ["heddle.toml", ".git"]}


def test_diagnostics_include_the_broken_line(nvim_run: Run) -> None:
    diagnostics = nvim_run.result("diagnostics")
    assert diagnostics["arrived"], "no diagnostics arrived"
    line = nvim_run.workspace.line_of(BROKEN_LINE)
    found = [d for d in diagnostics["items"] if d["code"] == BROKEN_CODE]
    assert {(d["lnum"], d["col"]) for d in found} == {(line, BROKEN_LINE.index(BROKEN_NAME))}, diagnostics
    broken = found[0]
    assert broken["severity"] == 1  # vim.diagnostic.severity.ERROR
    assert broken["source"] == "heddle"
    assert "no_such_function" in broken["message"]


def test_the_diagnostic_float_shows_the_code_as_the_readme_says(nvim_run: Run) -> None:
    # README: `:lua vim.diagnostic.open_float()` shows the code after the message from 0.10 on; on 0.7 the
    # message alone, and the README's `format` recipe adds the code there.
    shown = nvim_run.result("float")
    nvim = nvim_run.result("state")["nvim"]
    default, recipe = "\n".join(shown["default"]), "\n".join(shown["recipe"])
    assert BROKEN_NAME in default and BROKEN_NAME in recipe, shown
    assert f"[{BROKEN_CODE}]" in recipe, shown
    if tuple(int(part) for part in nvim.split(".")[:2]) >= (0, 10):
        assert f"[{BROKEN_CODE}]" in default, shown
    else:
        assert BROKEN_CODE not in default, shown


def test_an_edit_brings_one_diagnostic_per_problem(nvim_run: Run) -> None:
    # Neovim 0.10+ pulls diagnostics; the server then pushes none, or the editor would show each one twice.
    edited = nvim_run.result("edited")
    assert edited["arrived"], "no diagnostic about the edited name arrived"
    line = nvim_run.workspace.line_of(BROKEN_LINE)
    assert [(d["lnum"], d["col"], d["code"]) for d in edited["items"]] == [
        (line, BROKEN_LINE.index(BROKEN_NAME), BROKEN_CODE)], edited["items"]


def _answer(nvim_run: Run, name: str) -> Any:
    answer = nvim_run.result(name)
    if "skipped" in answer:
        pytest.skip(f"{name} not checked: {answer['skipped']}")
    assert answer.get("error") is None, answer
    return answer


def test_completion_right_after_an_injection_opener_offers_the_resource_keys(nvim_run: Run) -> None:
    answer = _answer(nvim_run, "completion")
    line, character = nvim_run.workspace.completion_position
    assert answer["position"] == {"line": line, "character": character}
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
    assert HOVER_WORD in text, text


def test_the_built_parser_highlights_the_buffer(nvim_run: Run, request: pytest.FixtureRequest) -> None:
    neovim: Neovim = request.node.callspec.params["nvim_run"]
    if not neovim.treesitter:
        pytest.skip(f"tree-sitter is checked on Neovim 0.10+ with a C compiler, not on nvim from {neovim.label}")
    build = nvim_run.result("build")
    assert build.get("error") is None, build["error"]
    assert Path(build["path"]).is_file()
    highlighting = nvim_run.result("state")["treesitter"]
    assert highlighting["active"], "no tree-sitter highlighter is attached to the buffer"
    assert "heddle:keyword" in highlighting["captures_at_start"], highlighting  # `import` on line 1


# Stand-ins of the tables the plugin fills; the real plugins read the same fields.
LSPCONFIG_STANDIN = """
return setmetatable({}, {
  __newindex = function(configs, name, config)
    assert(type(name) == "string" and type(config.default_config) == "table", "not an lspconfig config")
    rawset(configs, name, config)
  end,
})
"""
NVIM_TREESITTER_STANDINS = {
    "master": "local configs = {}\nreturn { get_parser_configs = function() return configs end }\n",
    "main": "return {}\n",  # the parser table itself
}

REGISTER = r"""
local params = vim.fn.json_decode([==[@PARAMS@]==])
vim.opt.runtimepath:prepend(params.standins)
vim.opt.runtimepath:prepend(params.plugin)
local ok, err = pcall(function()
  require("heddle").setup({ lsp = false })
  local lsp = require("lspconfig.configs").heddle_lsp.default_config
  local parser
  if params.branch == "master" then
    parser = require("nvim-treesitter.parsers").get_parser_configs().heddle
  else
    package.loaded["nvim-treesitter.parsers"] = nil  -- `main` builds its table anew, then announces it
    vim.api.nvim_exec_autocmds("User", { pattern = "TSUpdate" })
    parser = require("nvim-treesitter.parsers").heddle
  end
  vim.fn.writefile({ vim.fn.json_encode({
    cmd = lsp.cmd, filetypes = lsp.filetypes, root = lsp.root_dir(params.document),
    install_info = parser.install_info, filetype = parser.filetype,
    clients = #(vim.lsp.get_clients or vim.lsp.get_active_clients)(),
  }) }, params.out)
end)
if not ok then
  vim.fn.writefile({ vim.fn.json_encode({ error = tostring(err) }) }, params.out)
end
vim.cmd("qa!")
"""

EXPECTED_INSTALL_INFO = {
    "master": ({"url": str(GRAMMAR), "files": ["src/parser.c", "src/scanner.c"]}, "heddle"),
    "main": ({"path": str(GRAMMAR)}, None),
}


@pytest.mark.parametrize("branch", sorted(NVIM_TREESITTER_STANDINS))
def test_lspconfig_and_nvim_treesitter_get_the_server_and_the_grammar(tmp_path: Path, branch: str) -> None:
    neovim = next((neovim for neovim in reversed(NEOVIMS) if neovim.path is not None), None)
    if neovim is None or neovim.path is None:
        pytest.skip(" and ".join(n.missing for n in NEOVIMS))
    standins = tmp_path / "standins"
    for name, text in {"lspconfig/configs.lua": LSPCONFIG_STANDIN,
                       "nvim-treesitter/parsers.lua": NVIM_TREESITTER_STANDINS[branch]}.items():
        (standins / "lua" / name).parent.mkdir(parents=True, exist_ok=True)
        (standins / "lua" / name).write_text(text, encoding="utf-8")
    workspace = make_workspace(tmp_path)
    out = tmp_path / "registered.json"
    script = tmp_path / "register.lua"
    script.write_text(lua_with(REGISTER, {"plugin": str(PLUGIN), "standins": str(standins), "branch": branch,
                                          "document": str(workspace.document), "out": str(out)}))
    completed = subprocess.run([neovim.path, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {script}"],
                               env=isolated_env(tmp_path), capture_output=True, text=True,
                               timeout=TIMEOUT_SECONDS, check=False)
    assert out.exists(), completed.stderr
    registered = json.loads(out.read_text())
    assert "error" not in registered, registered["error"]
    assert registered["cmd"] == ["heddle-lsp"]
    assert registered["filetypes"] == ["heddle"]
    assert registered["root"] == str(workspace.project)
    assert registered["clients"] == 0  # lsp = false: the server is left to lspconfig
    install_info, filetype = EXPECTED_INSTALL_INFO[branch]
    assert registered["install_info"] == install_info
    assert registered.get("filetype") == filetype


def test_the_plugin_queries_are_the_grammar_queries() -> None:
    grammar = {path.name: path.read_bytes() for path in (GRAMMAR / "queries").glob("*.scm")}
    plugin = {path.name: path.read_bytes() for path in (PLUGIN / "queries" / "heddle").glob("*.scm")}
    assert grammar, "tree-sitter-heddle/queries/ holds no query"
    differ = sorted(name for name in grammar.keys() | plugin.keys() if grammar.get(name) != plugin.get(name))
    assert not differ, (f"editors/neovim/queries/heddle/ differs from tree-sitter-heddle/queries/ in {differ}: "
                        "run `cp tree-sitter-heddle/queries/*.scm editors/neovim/queries/heddle/`")
