-- flowc's language server for Neovim, with the built-in client only (no plugin).
--
-- Works with Neovim 0.7 (Debian's) and later: it uses `vim.lsp.start_client` and
-- `vim.lsp.buf_attach_client`, which every version since 0.5 has, and starts one
-- server per project root (the folder holding `flow.lock` or `.git`, else the file's
-- folder).
--
-- Use it from your init.lua:
--
--   dofile("/path/to/flowc/editors/nvim/lsp.lua").setup({
--     -- every field is optional:
--     cmd = { "flowc", "lsp" },          -- the server command
--     on_attach = function(client, bufnr) end,
--   })
--
-- or put this file on your runtimepath as `lua/flowc_lsp.lua` and
-- `require("flowc_lsp").setup({})`. Then `K` (vim.lsp.buf.hover), `gd`
-- (vim.lsp.buf.definition), `gr` (references), `<leader>rn` (rename) and formatting
-- work in `.flow` files once you map them as you do for other servers.

local M = {}

M.defaults = {
  cmd = { "flowc", "lsp" },
  name = "flowc",
  -- Files that mark a project's root, nearest first.
  root_markers = { "flow.lock", ".git" },
  on_attach = nil,
  capabilities = nil,
}

local clients_by_root = {}

local function find_root(path, markers)
  local folder = vim.fn.fnamemodify(path, ":p:h")
  local current = folder
  while current and current ~= "" do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(current .. "/" .. marker) then
        return current
      end
    end
    local parent = vim.fn.fnamemodify(current, ":h")
    if parent == current then
      break
    end
    current = parent
  end
  return folder
end

--- Start (or reuse) the server for the buffer's project and attach it.
--- Returns the client id, or nil when the server cannot start.
function M.attach(bufnr, options)
  options = vim.tbl_extend("force", M.defaults, options or {})
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" then
    return nil
  end
  local root = find_root(path, options.root_markers)
  local client_id = clients_by_root[root]
  if client_id == nil or vim.lsp.get_client_by_id(client_id) == nil then
    client_id = vim.lsp.start_client({
      name = options.name,
      cmd = options.cmd,
      root_dir = root,
      capabilities = options.capabilities or vim.lsp.protocol.make_client_capabilities(),
      on_attach = options.on_attach,
      -- Diagnostics, hover and the rest need nothing from the client's settings.
      settings = {},
    })
    if client_id == nil then
      vim.notify("flowc lsp could not start: is `" .. options.cmd[1] .. "` on your PATH?", vim.log.levels.ERROR)
      return nil
    end
    clients_by_root[root] = client_id
  end
  vim.lsp.buf_attach_client(bufnr, client_id)
  return client_id
end

--- Attach the server to every `.flow` buffer from now on (and to the current one).
function M.setup(options)
  local group = vim.api.nvim_create_augroup("flowc_lsp", { clear = true })
  -- `.flow` is not a filetype Neovim knows; editors/nvim/ftdetect sets it too.
  vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
    group = group,
    pattern = "*.flow",
    callback = function(event)
      if vim.bo[event.buf].filetype == "" then
        vim.bo[event.buf].filetype = "flow"
      end
    end,
  })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = "flow",
    callback = function(event)
      M.attach(event.buf, options)
    end,
  })
  local current = vim.api.nvim_get_current_buf()
  if vim.bo[current].filetype == "flow" then
    M.attach(current, options)
  end
end

return M
