-- heddle-lsp for Neovim 0.11+: `vim.lsp.enable("heddle_lsp")` starts it for Heddle buffers.
-- Override any field with `vim.lsp.config("heddle_lsp", { ... })`.
return require("heddle.server").defaults()
