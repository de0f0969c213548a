-- `*.he` files are Heddle. Neovim 0.8+ has the filetype table; 0.7 reads autocommands in this group.
if vim.filetype and vim.fn.has("nvim-0.8") == 1 then
  vim.filetype.add({ extension = { he = "heddle" } })
else
  vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
    group = vim.api.nvim_create_augroup("filetypedetect", { clear = false }),
    pattern = "*.he",
    command = "setfiletype heddle",
  })
end
