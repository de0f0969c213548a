-- The Heddle tree-sitter parser in Neovim: registration (Neovim's own language table, nvim-treesitter's
-- `master` and `main` branches), building it with a C compiler, and starting highlighting.
-- The queries are this plugin's queries/heddle/*.scm, identical to tree-sitter-heddle/queries/.
local M = {}

M.language = "heddle"
M.sources = { "src/parser.c", "src/scanner.c" }

local function exists(path)
  return (vim.uv or vim.loop).fs_stat(path) ~= nil
end

-- tree-sitter-heddle/ of the repository this plugin folder lives in (editors/neovim/), or nil when the
-- folder was copied out of the repository.
function M.grammar_dir()
  local source = debug.getinfo(1, "S").source:sub(2)
  local dir = vim.fn.fnamemodify(source, ":p:h:h:h:h:h") .. "/tree-sitter-heddle"
  if exists(dir .. "/src/parser.c") then
    return dir
  end
  return nil
end

-- nvim-treesitter's install_info for its `master` branch: `options.url` (a git repository, with the
-- grammar in its `options.location` folder) or the grammar folder on this disk.
local function master_install_info(options, grammar)
  if options.url then
    return { url = options.url, location = options.location, branch = options.branch, files = M.sources }
  end
  return { url = grammar, files = M.sources }
end

-- The same for its `main` branch, which takes a local folder as `path`.
local function main_install_info(options, grammar)
  if options.url then
    return { url = options.url, location = options.location, branch = options.branch, revision = options.revision }
  end
  return { path = grammar }
end

-- Tells Neovim (0.9+) that the `heddle` filetype is parsed by the `heddle` language, and nvim-treesitter
-- (when installed) where the grammar is, so that `:TSInstall heddle` builds it.
-- options: { path = ? } (a grammar folder; default: grammar_dir()), or { url = ?, location = ?, branch = ?,
-- revision = ? } (a git repository holding the grammar in its `location` folder).
function M.register(options)
  options = options or {}
  if vim.treesitter.language and vim.treesitter.language.register then
    vim.treesitter.language.register(M.language, "heddle")
  end
  local ok, parsers = pcall(require, "nvim-treesitter.parsers")
  if not ok then
    return
  end
  local grammar = options.path or M.grammar_dir()
  if grammar == nil and options.url == nil then
    vim.notify("heddle: no tree-sitter-heddle folder beside this plugin; pass treesitter = { url = ... }",
      vim.log.levels.WARN)
    return
  end
  if type(parsers.get_parser_configs) == "function" then
    parsers.get_parser_configs()[M.language] = {
      install_info = master_install_info(options, grammar),
      filetype = "heddle",
    }
  else
    local function add()
      require("nvim-treesitter.parsers")[M.language] = { install_info = main_install_info(options, grammar) }
    end
    add()
    -- nvim-treesitter `main` rebuilds its parser table on :TSUpdate and announces it with this event.
    vim.api.nvim_create_autocmd("User", {
      group = vim.api.nvim_create_augroup("heddle_treesitter", { clear = true }),
      pattern = "TSUpdate",
      callback = add,
    })
  end
end

-- Compiles the parser into `dest`/parser/heddle.so (`dest` must be on 'runtimepath'; default: the `site`
-- folder of stdpath("data"), which is) with $CC or `cc`. Returns the path of the parser, or nil and why not.
function M.build(dest, grammar)
  grammar = grammar or M.grammar_dir()
  if grammar == nil then
    return nil, "no tree-sitter-heddle folder beside this plugin: pass the grammar folder"
  end
  dest = dest or (vim.fn.stdpath("data") .. "/site")
  vim.fn.mkdir(dest .. "/parser", "p")
  local out = dest .. "/parser/" .. M.language .. ".so"
  local command = { vim.env.CC or "cc", "-shared", "-fPIC", "-O2", "-I", grammar .. "/src", "-o", out }
  for _, source in ipairs(M.sources) do
    table.insert(command, grammar .. "/" .. source)
  end
  local output = vim.fn.system(command)
  if vim.v.shell_error ~= 0 then
    return nil, "compiling the parser failed (" .. table.concat(command, " ") .. "):\n" .. output
  end
  -- Neovim caches which 'runtimepath' folders hold what; setting the option again drops that cache, so
  -- the new parser is found by this session too (unless it had loaded an older one: then restart).
  vim.o.runtimepath = vim.o.runtimepath
  return out
end

-- Starts tree-sitter highlighting in `buf` when Neovim (0.8+) can load the parser. Returns whether it did.
function M.start(buf)
  if vim.treesitter.start == nil then
    return false
  end
  return (pcall(vim.treesitter.start, buf, M.language))
end

return M
