-- Run by tests/editors_neovim_helix.rs in headless Neovim on examples/gsm_hard/gsm_hard.flow: prints
-- what Neovim's tree-sitter runtime makes of the file, before and after half-typing a node.
local buffer = vim.api.nvim_get_current_buf()
local out = {}
local function say(line) table.insert(out, line) end
local get_query = (vim.treesitter.query and vim.treesitter.query.get) or vim.treesitter.get_query
local parse_query = (vim.treesitter.query and vim.treesitter.query.parse) or vim.treesitter.parse_query
local node_text = vim.treesitter.get_node_text or vim.treesitter.query.get_node_text
local ok, failure = pcall(function()
  say('filetype=' .. vim.bo.filetype)
  say('highlighter=' .. tostring(vim.treesitter.highlighter.active[buffer] ~= nil))
  local parser = vim.treesitter.get_parser(buffer, 'flow')
  local highlights = get_query('flow', 'highlights')
  local folds = get_query('flow', 'folds')
  local problems = parse_query('flow', '(ERROR) @problem (missing_close) @problem (missing_rest) @problem')
  local function report(label)
    local root = parser:parse()[1]:root()
    local problem_count = 0
    for _ in problems:iter_captures(root, buffer, 0, -1) do problem_count = problem_count + 1 end
    say(label .. ' problems=' .. problem_count)
    for id, node in highlights:iter_captures(root, buffer, 0, -1) do
      local name = highlights.captures[id]
      local text = node_text(node, buffer)
      if (name == 'function' or name == 'keyword' or name == 'string.special') and not text:find('\n') then
        local row = node:range()
        say(string.format('%s %s %s %d', label, name, text, row))
      end
    end
    local fold_count = 0
    for _ in folds:iter_captures(root, buffer, 0, -1) do fold_count = fold_count + 1 end
    say(label .. ' folds=' .. fold_count)
  end
  report('clean')
  -- Half-type the first node: keep its header and `system` line, drop the rest of it.
  local lines = vim.api.nvim_buf_get_lines(buffer, 0, -1, false)
  local extract_row, compute_comment_row
  for index, line in ipairs(lines) do
    if line:match('^  node extract') then extract_row = index - 1 end
    if extract_row and not compute_comment_row and line:match('^  // A deliberately') then compute_comment_row = index - 1 end
  end
  vim.api.nvim_buf_set_lines(buffer, extract_row + 2, compute_comment_row - 1, false, {})
  say('removed=' .. (compute_comment_row - 1 - (extract_row + 2)))
  report('edited')
end)
if not ok then say('failed=' .. tostring(failure)) end
io.stdout:write(table.concat(out, '\n') .. '\n')
