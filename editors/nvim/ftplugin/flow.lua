-- Editing settings for `.flow` files: `//` comments (so `gc` and `gq` work), two-space
-- indentation as `flowc fmt` writes it.
vim.bo.commentstring = '// %s'
vim.bo.comments = '://'
vim.bo.expandtab = true
vim.bo.shiftwidth = 2
vim.bo.softtabstop = 2
vim.bo.tabstop = 2

-- With a `flow` tree-sitter parser installed (see editors/README.md), highlight and
-- fold with the queries of editors/nvim/queries/flow. Needs Neovim 0.11 or later: the
-- parser is tree-sitter ABI 15.
if vim.treesitter and vim.treesitter.language and vim.treesitter.language.add then
  local loaded = pcall(vim.treesitter.language.add, 'flow')
  if loaded then
    pcall(vim.treesitter.start)
    vim.wo.foldmethod = 'expr'
    vim.wo.foldexpr = 'v:lua.vim.treesitter.foldexpr()'
    vim.wo.foldenable = false
  end
end

vim.b.undo_ftplugin = 'setlocal commentstring< comments< expandtab< shiftwidth< softtabstop< tabstop<'
