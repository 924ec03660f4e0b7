#!/usr/bin/env node
// Build: type-check and compile everything with tsc into dist/, then the optional steps each part of the
// project owns: the native stub library and CNI entrypoint (native/Makefile), the bundled CNI executables
// (scripts/build-cni.js) and the copyable CNI bin directories (scripts/build-cni-install.js).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });

// tsc never removes what it emitted for a source that was since moved or deleted, and Node would still
// resolve `plugins/switchyard` to a stale `switchyard.js` before `switchyard/index.js`: start clean.
for (const dir of ['src', 'tests', 'bench']) fs.rmSync(path.join(root, 'dist', dir), { recursive: true, force: true });
run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
fs.chmodSync(path.join(root, 'dist/src/cli/main.js'), 0o755);

if (fs.existsSync(path.join(root, 'native/Makefile')) && process.platform !== 'win32') {
  run('make', ['-s', '-C', 'native']);
  // The Windows form of the native CNI entrypoint, cross-compiled where mingw-w64 is installed.
  const mingw = process.env.MINGW || 'x86_64-w64-mingw32-gcc';
  const haveMingw = (process.env.PATH || '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, mingw)));
  if (haveMingw) run('make', ['-s', '-C', 'native', 'shim-exe', `MINGW=${mingw}`]);
  else console.warn(`note: ${mingw} not found (Debian: apt-get install gcc-mingw-w64-x86-64): the Windows .exe CNI entrypoints are not built`);
}
if (fs.existsSync(path.join(root, 'scripts/build-cni.js'))) {
  run(process.execPath, [path.join(root, 'scripts/build-cni.js')]);
  run(process.execPath, [path.join(root, 'scripts/build-cni-install.js')]);
}
