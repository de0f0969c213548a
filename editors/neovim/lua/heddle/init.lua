-- Heddle for Neovim 0.7 and later: starts heddle-lsp for Heddle buffers and sets up the tree-sitter parser.
--
--   require("heddle").setup({
--     cmd = { "heddle-lsp" },                    -- how to start the server
--     root_markers = { "heddle.toml", ".git" },  -- the project folder: nearest folder holding one of these
--     lsp = true,                                -- false: leave the server to nvim-lspconfig or to you
--     treesitter = {},                           -- { highlight = false } and where the grammar is (path,
--                                                -- or url and location: see heddle.treesitter); false: none
--     -- any other field (settings, init_options, capabilities, on_attach, ...) goes to the client
--   })
--
-- Neovim 0.11+ enables lsp/heddle_lsp.lua with vim.lsp.enable, 0.10 starts the server with vim.lsp.start,
-- 0.7 to 0.9 with vim.lsp.start_client and vim.lsp.buf_attach_client, one client per project folder.
local server = require("heddle.server")
local treesitter = require("heddle.treesitter")
local lspconfig = require("heddle.lspconfig")

local M = {}

local group_name = "heddle"

local function options_with_defaults(options)
  local merged = server.defaults()
  for key, value in pairs(options or {}) do
    merged[key] = value
  end
  return merged
end

local notified = false
local function notify_once(message)
  if not notified then
    notified = true
    vim.notify("heddle: " .. message, vim.log.levels.ERROR)
  end
end

-- 0.11+: the fields the user gave extend lsp/heddle_lsp.lua; Neovim starts and attaches the server.
local function enable_with_lsp_config(options)
  local overrides = {}
  for key, value in pairs(options) do
    if key ~= "treesitter" and key ~= "lsp" then
      overrides[key] = value
    end
  end
  overrides.cmd = server.resolve_cmd(options.cmd)
  vim.lsp.config(server.name, overrides)
  vim.lsp.enable(server.name)
end

-- 0.7 to 0.10: start (or reuse) the project's client and attach it to `buf`.
local clients = {} -- project folder -> client id, for Neovim without vim.lsp.start
local function attach(buf, options)
  if vim.fn.executable(options.cmd[1]) ~= 1 then
    notify_once("cannot start the language server: `" .. options.cmd[1] .. "` is not executable "
      .. "(install heddle-lang, or give setup() cmd = { '/path/to/heddle-lsp' })")
    return
  end
  local root = server.root_of(buf, options.root_markers)
  local config = server.client_config(options, root)
  if vim.lsp.start then
    vim.lsp.start(config, { bufnr = buf })
    return
  end
  local id = clients[root]
  if id == nil or vim.lsp.get_client_by_id(id) == nil then
    id = vim.lsp.start_client(config)
    clients[root] = id
  end
  if id ~= nil and vim.lsp.buf_attach_client(buf, id) and vim.bo[buf].omnifunc == "" then
    vim.bo[buf].omnifunc = "v:lua.vim.lsp.omnifunc" -- what Neovim 0.10+ sets by itself: <C-x><C-o> completes
  end
end

local function on_heddle_buffers(callback)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == "heddle" then
      callback(buf)
    end
  end
end

function M.setup(options)
  options = options_with_defaults(options)
  local group = vim.api.nvim_create_augroup(group_name, { clear = true })
  local callbacks = {}

  lspconfig.register()
  if options.lsp ~= false then
    if vim.lsp.enable and vim.lsp.config then
      enable_with_lsp_config(options)
    else
      table.insert(callbacks, function(buf)
        attach(buf, options)
      end)
    end
  end

  if options.treesitter ~= false then
    local treesitter_options = type(options.treesitter) == "table" and options.treesitter or {}
    treesitter.register(treesitter_options)
    if treesitter_options.highlight ~= false then
      table.insert(callbacks, treesitter.start)
    end
    vim.api.nvim_create_user_command("HeddleBuildParser", function(command)
      local path, err = treesitter.build(command.args ~= "" and command.args or nil, treesitter_options.path)
      if path then
        on_heddle_buffers(treesitter.start)
        vim.notify("heddle: built " .. path)
      else
        vim.notify("heddle: " .. err, vim.log.levels.ERROR)
      end
    end, { nargs = "?", complete = "dir", desc = "Compile the Heddle tree-sitter parser into DIR/parser/" })
  end

  local function run(buf)
    for _, callback in ipairs(callbacks) do
      callback(buf)
    end
  end
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = options.filetypes,
    callback = function(event)
      run(event.buf)
    end,
  })
  on_heddle_buffers(run) -- buffers opened before setup() ran
end

return M
