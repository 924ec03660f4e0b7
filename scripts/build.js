#!/usr/bin/env node
// Build: type-check and compile everything with tsc into dist/, then the optional steps each part of the
// project owns: the native stub library (native/Makefile) and the bundled CNI executables (scripts/build-cni.js).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });

run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
fs.chmodSync(path.join(root, 'dist/src/cli/main.js'), 0o755);

if (fs.existsSync(path.join(root, 'native/Makefile')) && process.platform !== 'win32') {
  run('make', ['-s', '-C', 'native']);
}
if (fs.existsSync(path.join(root, 'scripts/build-cni.js'))) {
  run(process.execPath, [path.join(root, 'scripts/build-cni.js')]);
}
