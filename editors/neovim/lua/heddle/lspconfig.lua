-- Registers heddle-lsp with nvim-lspconfig, so that `require("lspconfig").heddle_lsp.setup({})` starts it.
-- Does nothing when nvim-lspconfig is not installed.
local server = require("heddle.server")

local M = {}

-- Adds the `heddle_lsp` config to lspconfig's table of configs unless it holds one already.
-- Returns true when lspconfig knows heddle_lsp afterwards.
function M.register()
  local ok, configs = pcall(require, "lspconfig.configs")
  if not ok then
    return false
  end
  if configs[server.name] == nil then
    local defaults = server.defaults()
    local markers = defaults.root_markers
    configs[server.name] = {
      default_config = {
        cmd = defaults.cmd,
        filetypes = defaults.filetypes,
        root_dir = function(path)
          return server.find_root(path, markers)
        end,
        single_file_support = true,
      },
      docs = {
        description = "heddle-lsp, the language server of Heddle (.he data-pipeline files). "
          .. "It is installed with Heddle's Python distribution, `heddle-lang`.",
      },
    }
  end
  return true
end

return M
