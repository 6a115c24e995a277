// The VS Code side of flowc: starts `flowc lsp` (stdio) for `.flow` files and hands
// it to vscode-languageclient. Every language feature lives in the server; this file
// only finds the binary, starts it, and restarts it on demand or when its path
// setting changes.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** The command line `flowc lsp [extra...]`, read from the `flow.server.*` settings. */
function serverCommand() {
  const settings = vscode.workspace.getConfiguration('flow.server');
  const path = settings.get('path') || 'flowc';
  const extraArguments = settings.get('extraArguments') || [];
  return { command: path, args: ['lsp', ...extraArguments] };
}

function createClient() {
  const { command, args } = serverCommand();
  const executable = { command, args, transport: TransportKind.stdio };
  const serverOptions = { run: executable, debug: executable };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'flow' },
      { scheme: 'untitled', language: 'flow' },
    ],
    synchronize: {
      // An import may name another `.flow` file, and a lock next to a file changes
      // what hover shows: the server is told when either changes on disk.
      fileEvents: [
        vscode.workspace.createFileSystemWatcher('**/*.flow'),
        vscode.workspace.createFileSystemWatcher('**/flow.lock'),
      ],
    },
  };
  return new LanguageClient('flow', 'flowc language server', serverOptions, clientOptions);
}

async function startClient() {
  client = createClient();
  try {
    await client.start();
  } catch (error) {
    const { command } = serverCommand();
    vscode.window.showErrorMessage(
      `Could not start \`${command} lsp\`: ${error && error.message ? error.message : error}. ` +
        'Install flowc (see editors/README.md) or set "flow.server.path".',
    );
    client = undefined;
  }
}

async function stopClient() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('flow.restartServer', async () => {
      await stopClient();
      await startClient();
    }),
    vscode.workspace.onDidChangeConfiguration(async event => {
      if (event.affectsConfiguration('flow.server')) {
        await stopClient();
        await startClient();
      }
    }),
  );
  await startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate, serverCommand };
