#!/usr/bin/env node
// Runs the compiled mocha suites. `node scripts/test.js [suite...]` picks suites (unit, cni, abi,
// conformance, agent, proxy, ps, linux, e2e); no argument runs them all. Suites under tests/linux and tests/e2e need root and
// skip themselves without it. Ends with a "N passed, N failed, N skipped" line.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const all = ['unit', 'cni', 'abi', 'conformance', 'agent', 'proxy', 'ps', 'linux', 'e2e'];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
const globs = [];
for (const suite of wanted) {
  if (!all.includes(suite)) {
    console.error(`unknown suite "${suite}": choose from ${all.join(', ')}`);
    process.exit(2);
  }
  if (fs.existsSync(path.join(root, 'dist/tests', suite))) globs.push(`dist/tests/${suite}/**/*.test.js`);
}
if (globs.length === 0) {
  console.error('no compiled tests found: run `npm run build` first');
  process.exit(1);
}
const env = { ...process.env };
// Every spawned CLI/CNI process would otherwise pay ~47 ms re-reading the CA bundle.
delete env.NODE_EXTRA_CA_CERTS;
const r = spawnSync(process.execPath, [
  require.resolve('mocha/bin/mocha.js'),
  '--reporter', path.join(__dirname, 'mocha-summary-reporter.js'),
  '--timeout', '60000',
  '--exit',
  ...globs,
], { stdio: 'inherit', cwd: root, env });
process.exit(r.status ?? 1);
