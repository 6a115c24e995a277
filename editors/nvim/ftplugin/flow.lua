-- Editing settings for `.flow` files: `//` comments (so `gc` and `gq` work), two-space
-- indentation as `flowc fmt` writes it.
vim.bo.commentstring = '// %s'
vim.bo.comments = '://'
vim.bo.expandtab = true
vim.bo.shiftwidth = 2
vim.bo.softtabstop = 2
vim.bo.tabstop = 2
vim.b.undo_ftplugin = 'setlocal commentstring< comments< expandtab< shiftwidth< softtabstop< tabstop<'

-- Tree-sitter highlighting with editors/nvim/queries/flow, once a `flow` parser is
-- on the runtime path (parser/flow.so: see editors/README.md). The parser is ABI 14,
-- which Neovim 0.7 and later load; `vim.treesitter.start` and tree-sitter folding
-- exist from 0.9, older versions start the highlighter directly.
if #vim.api.nvim_get_runtime_file('parser/flow.*', false) == 0 then
  return
end
local buffer = vim.api.nvim_get_current_buf()
if vim.treesitter.start then
  pcall(vim.treesitter.start, buffer, 'flow')
  if vim.treesitter.foldexpr then
    vim.wo.foldmethod = 'expr'
    vim.wo.foldexpr = 'v:lua.vim.treesitter.foldexpr()'
    vim.wo.foldenable = false
  end
else
  pcall(function()
    vim.treesitter.highlighter.new(vim.treesitter.get_parser(buffer, 'flow'))
  end)
end
