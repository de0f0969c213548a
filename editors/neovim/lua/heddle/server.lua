-- The heddle-lsp server definition shared by every way of starting it: lsp/heddle_lsp.lua (0.11+),
-- require("heddle").setup() (0.7 to 0.10) and the nvim-lspconfig registration.
local M = {}

M.name = "heddle_lsp"

-- What Neovim needs to start the server; `vim.lsp.config` (0.11+) takes this table as it is.
function M.defaults()
  return {
    cmd = { "heddle-lsp" },
    filetypes = { "heddle" },
    root_markers = { "heddle.toml", ".git" },
  }
end

local function exists(path)
  return (vim.uv or vim.loop).fs_stat(path) ~= nil
end

-- The nearest folder, from `path`'s own folder upwards, that holds one of `markers`, trying the markers in
-- order (a heddle.toml wins over an enclosing .git); `path`'s folder when none does.
function M.find_root(path, markers)
  local start = vim.fn.fnamemodify(path, ":p:h")
  for _, marker in ipairs(markers) do
    local dir = start
    while true do
      if exists(dir .. "/" .. marker) then
        return dir
      end
      local parent = vim.fn.fnamemodify(dir, ":h")
      if parent == dir then
        break
      end
      dir = parent
    end
  end
  return start
end

-- The root folder of buffer `buf`: found from its file, or the working directory for a buffer without one.
function M.root_of(buf, markers)
  local name = vim.api.nvim_buf_get_name(buf)
  if name == "" then
    return vim.fn.getcwd()
  end
  return M.find_root(name, markers)
end

-- `cmd` with its program as an absolute path when it is an executable, so that a path relative to the
-- working directory still works when the server starts in the project folder.
function M.resolve_cmd(cmd)
  local program = vim.fn.exepath(cmd[1])
  if program == "" then
    return cmd
  end
  local resolved = { program }
  for i = 2, #cmd do
    resolved[i] = cmd[i]
  end
  return resolved
end

-- Options of require("heddle").setup() that are not client fields.
local own_options = { treesitter = true, lsp = true, root_markers = true, filetypes = true }

-- A client configuration for vim.lsp.start / vim.lsp.start_client: the defaults and the user's fields
-- (cmd, settings, init_options, capabilities, on_attach, handlers, ...) for the folder `root`.
function M.client_config(options, root)
  local config = { name = M.name, root_dir = root, cmd_cwd = root }
  for key, value in pairs(options) do
    if not own_options[key] then
      config[key] = value
    end
  end
  config.cmd = M.resolve_cmd(options.cmd)
  return config
end

return M
