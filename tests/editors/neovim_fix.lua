-- Neovim (0.7+) as an editor of txlint's tests: open a file, wait for txlint's diagnostics, ask for
-- code actions at the finding, apply the first (the fix), wait for the diagnostics to clear.
-- Run by tests/test_editor_neovim.py with TXLINT, ROOT, FILE and OUT in the environment.
local client_id = vim.lsp.start_client({ name = "txlint", cmd = { os.getenv("TXLINT"), "server" }, root_dir = os.getenv("ROOT") })
vim.cmd("edit " .. os.getenv("FILE"))
vim.lsp.buf_attach_client(0, client_id)
vim.wait(60000, function() return #vim.diagnostic.get(0) > 0 end, 50)
local out = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(out, string.format("diagnostic %s %s %d:%d", d.source, d.code, d.lnum + 1, d.col + 1))
end
local first = vim.diagnostic.get(0)[1]
if first then
  vim.api.nvim_win_set_cursor(0, { first.lnum + 1, first.col })
  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(0) }
  local results = vim.lsp.buf_request_sync(0, "textDocument/codeAction", params, 60000)
  for _, res in pairs(results or {}) do
    for _, action in ipairs(res.result or {}) do table.insert(out, "action " .. action.title) end
    local action = (res.result or {})[1]
    if action and action.edit then vim.lsp.util.apply_workspace_edit(action.edit, "utf-16") end
  end
  vim.wait(60000, function() return #vim.diagnostic.get(0) == 0 end, 50)
end
table.insert(out, "remaining " .. #vim.diagnostic.get(0))
for _, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do table.insert(out, "| " .. line) end
vim.fn.writefile(out, os.getenv("OUT"))
vim.cmd("qa!")
