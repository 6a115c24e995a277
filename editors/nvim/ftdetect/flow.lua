-- `.flow` files are the `flow` filetype (flowc's workflow language).
--
-- Neovim 0.8 and later detect filetypes in Lua (`vim.filetype.add`); 0.7 (Debian
-- bookworm's) uses filetype.vim, which sources this file inside its detection
-- autocommands, so the autocommand below covers it. `setfiletype` never overrides a
-- filetype that is already set.
if vim.filetype and vim.filetype.add then
  vim.filetype.add({ extension = { flow = 'flow' } })
end

vim.api.nvim_create_autocmd({ 'BufRead', 'BufNewFile' }, {
  pattern = '*.flow',
  command = 'setfiletype flow',
})
