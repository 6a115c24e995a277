#!/usr/bin/env node
// Builds the .vsix with @vscode/vsce (the tool the Marketplace uses) and checks what
// went into it: the files the extension needs at run time must be there, and the
// development tools and tests must not.
//
//   node scripts/package.js [OUTPUT.vsix]     (default: flow-<version>.vsix here)
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const extensionFolder = path.resolve(__dirname, '..');
const manifest = require(path.join(extensionFolder, 'package.json'));

/** Files the installed extension loads, as paths inside the .vsix. */
const REQUIRED = [
  'extension.vsixmanifest',
  '[Content_Types].xml',
  'extension/package.json',
  'extension/extension.js',
  'extension/language-configuration.json',
  'extension/syntaxes/flow.tmLanguage.json',
  'extension/readme.md', // (vsce lower-cases the name)
  // `require('vscode-languageclient/node')` and what it requires in turn.
  'extension/node_modules/vscode-languageclient/node.js',
  'extension/node_modules/vscode-languageclient/package.json',
  'extension/node_modules/vscode-languageclient/lib/node/main.js',
  'extension/node_modules/vscode-languageserver-protocol/package.json',
  'extension/node_modules/vscode-jsonrpc/package.json',
];

/** Prefixes that must stay out: build tools and tests. */
const FORBIDDEN_PREFIXES = [
  'extension/node_modules/@vscode/vsce/',
  'extension/node_modules/vscode-tmgrammar-test/',
  'extension/node_modules/tm-grammars/',
  'extension/node_modules/.bin/',
  'extension/test/',
  'extension/scripts/',
];

/** The entries of a zip file (name, method, sizes, where), from its central directory. */
function zipEntries(buffer) {
  const endSignature = 0x06054b50;
  let end = -1;
  for (let offset = buffer.length - 22; offset >= Math.max(0, buffer.length - 65557); offset--) {
    if (buffer.readUInt32LE(offset) === endSignature) {
      end = offset;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip file: no end of central directory');
  const entryCount = buffer.readUInt16LE(end + 10);
  let offset = buffer.readUInt32LE(end + 16);
  const entries = new Map();
  for (let index = 0; index < entryCount; index++) {
    if (buffer.readUInt32LE(offset) !== 0x02014b50) throw new Error(`bad central directory entry ${index}`);
    const method = buffer.readUInt16LE(offset + 10);
    const compressedSize = buffer.readUInt32LE(offset + 20);
    const nameLength = buffer.readUInt16LE(offset + 28);
    const extraLength = buffer.readUInt16LE(offset + 30);
    const commentLength = buffer.readUInt16LE(offset + 32);
    const localHeader = buffer.readUInt32LE(offset + 42);
    const name = buffer.toString('utf8', offset + 46, offset + 46 + nameLength);
    entries.set(name, { method, compressedSize, localHeader });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The uncompressed bytes of one entry (stored or deflated). */
function zipEntry(buffer, entries, wanted) {
  const entry = entries.get(wanted);
  if (!entry) throw new Error(`${wanted} is not in the package`);
  const local = entry.localHeader;
  const dataStart = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
  const data = buffer.subarray(dataStart, dataStart + entry.compressedSize);
  return entry.method === 8 ? zlib.inflateRawSync(data) : data;
}

/**
 * Unpacks the extension and loads its entry point with Node, as VS Code's extension
 * host would: every module it requires (vscode-languageclient and what that requires)
 * must be in the package. The `vscode` module exists only inside VS Code, so a
 * stand-in answers every property with an empty class (enough for the classes the
 * client library extends while loading); nothing is activated.
 * Returns a problem, or undefined.
 */
function loadPackagedExtension(buffer, entries) {
  const os = require('os');
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-vsix-'));
  try {
    for (const name of entries.keys()) {
      if (!name.startsWith('extension/') || name.endsWith('/')) continue;
      const target = path.join(folder, name);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, zipEntry(buffer, entries, name));
    }
    const standIn = path.join(folder, 'vscode-stand-in.js');
    fs.writeFileSync(standIn, 'module.exports = new Proxy({}, { get: () => class {} });\n');
    const script = `
      const Module = require('module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        return request === 'vscode' ? ${JSON.stringify(standIn)} : resolve.call(this, request, ...rest);
      };
      // Only the package's own node_modules may satisfy a require.
      Module.globalPaths.length = 0;
      const extension = require(${JSON.stringify(path.join(folder, 'extension', manifest.main))});
      if (typeof extension.activate !== 'function' || typeof extension.deactivate !== 'function') {
        throw new Error('the entry point exports no activate/deactivate');
      }
    `;
    execFileSync(process.execPath, ['-e', script], { cwd: folder, stdio: 'pipe', timeout: 60000, env: { ...process.env, NODE_PATH: '' } });
    return undefined;
  } catch (error) {
    return `the packaged extension does not load: ${error.stderr ? error.stderr.toString() : error.message}`;
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

function main() {
  const output = path.resolve(process.argv[2] || path.join(extensionFolder, `flow-${manifest.version}.vsix`));
  const vsce = require.resolve('@vscode/vsce/vsce', { paths: [extensionFolder] });
  execFileSync(process.execPath, [vsce, 'package', '--skip-license', '--out', output], {
    cwd: extensionFolder,
    stdio: 'inherit',
    timeout: 120000,
  });

  const buffer = fs.readFileSync(output);
  const entries = zipEntries(buffer);
  const names = new Set(entries.keys());
  const problems = [];
  for (const required of REQUIRED) {
    if (!names.has(required)) problems.push(`missing: ${required}`);
  }
  for (const name of names) {
    for (const prefix of FORBIDDEN_PREFIXES) {
      if (name.startsWith(prefix)) problems.push(`should not be packaged: ${name}`);
    }
  }
  // The packaged manifest is the one VS Code reads: it must declare the language and
  // the server-path setting.
  const packaged = JSON.parse(zipEntry(buffer, entries, 'extension/package.json').toString('utf8'));
  const language = (packaged.contributes.languages || []).find(entry => entry.id === 'flow');
  if (!language || !(language.extensions || []).includes('.flow')) {
    problems.push('extension/package.json does not declare the `flow` language for `.flow` files');
  }
  if (!packaged.contributes.configuration.properties['flow.server.path']) {
    problems.push('extension/package.json has no `flow.server.path` setting');
  }
  if (problems.length === 0) {
    const loadProblem = loadPackagedExtension(buffer, entries);
    if (loadProblem) problems.push(loadProblem);
  }
  if (problems.length > 0) {
    console.error(`${output}:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`ok ${output}: ${names.size} files, ${buffer.length} bytes`);
}

main();
