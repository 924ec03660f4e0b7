#!/usr/bin/env node
// Bundles each CNI entrypoint (src/cni/bin/*.ts) into one CommonJS executable dist/cni/bin/<name> with a node
// shebang, so a container runtime can execute it from its CNI bin directory. koffi and node-powershell stay
// external (native/optional; winston loads only when logging is configured); data planes are bundled but only
// required when chosen (dataplane/factory.ts).
// A data-plane module that is not in this tree yet becomes a stub that explains itself when selected.
//
// Start-up cost (docs/cni.md "Startup cost"): V8 spends ~15 ms parsing and compiling a 230 KB bundle on
// every start. So the executable is a small loader with the bundle embedded as a string; the loader compiles
// it through vm.Script with the V8 code cache in `<name>.cache` next to it, produced here by a training run
// under the building node. The cache is optional: a missing, foreign (other bundle, node, platform or arch),
// truncated or V8-rejected cache only means the bundle is compiled as before.
'use strict';
const esbuild = require('esbuild');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const srcDir = path.join(root, 'src/cni/bin');
const outDir = path.join(root, 'dist/cni/bin');

const missingDataplane = {
  name: 'missing-dataplane',
  setup(build) {
    build.onResolve({ filter: /^\.\/(memory|linux|windows\/hcn|windows\/hnsv1|windows\/powershell)$/ }, (args) => {
      const base = path.join(args.resolveDir, args.path);
      const exists = ['.ts', '/index.ts'].some((ext) => fs.existsSync(base + ext));
      if (exists) return undefined;
      return { path: args.path, namespace: 'missing-dataplane' };
    });
    build.onLoad({ filter: /.*/, namespace: 'missing-dataplane' }, (args) => ({
      contents: `exports.open = async () => { throw new Error(${JSON.stringify(`data plane module ${args.path} is not part of this build`)}); };`,
      loader: 'js',
    }));
  },
};

/**
 * The loader, run as the executable's main module (so `require`, `module`, `__filename` are the executable's).
 * Written as a function so it is plain, checked JavaScript here; the build inlines its body.
 * Cache file layout: one ASCII header line `switchyard-code-cache <bundle id> <node version> <platform>-<arch> <bytes>\n`,
 * then the V8 cached data. V8 itself also refuses data from another V8 version, other V8 flags or another
 * source length (script.cachedDataRejected); the header guards what V8 cannot see (same length, other bundle)
 * and truncation. SWITCHYARD_CODE_CACHE_OUT=<file> writes the cache this process ends with: the build's
 * training runs, or an install step making a cache for the node of the host (docs/cni.md).
 */
/* eslint-disable no-undef */
function loader(ID, SOURCE) {
  const fs = require('node:fs');
  const vm = require('node:vm');
  const prefix = `switchyard-code-cache ${ID} ${process.version} ${process.platform}-${process.arch} `;
  let cachedData;
  try {
    const buf = fs.readFileSync(`${__filename}.cache`);
    const nl = buf.indexOf(10);
    const head = nl > 0 ? buf.toString('latin1', 0, nl) : '';
    if (head.startsWith(prefix) && Number(head.slice(prefix.length)) === buf.length - nl - 1) cachedData = buf.subarray(nl + 1);
  } catch {
    // no cache next to the executable: compile from source
  }
  const script = new vm.Script(SOURCE, { filename: __filename, cachedData });
  const out = process.env.SWITCHYARD_CODE_CACHE_OUT;
  if (out) {
    // Written aside and renamed, so a plugin starting meanwhile reads the old cache or the new one.
    // A failure is reported but changes neither the call's output nor its exit status.
    process.once('exit', () => {
      const tmp = `${out}.${process.pid}.tmp`;
      try {
        const data = script.createCachedData();
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${prefix}${data.length}\n`, 'latin1'), data]));
        fs.renameSync(tmp, out);
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        process.stderr.write(`SWITCHYARD_CODE_CACHE_OUT: cannot write ${out}: ${e.message}\n`);
      }
    });
  }
  // Called as Node calls a module's wrapper: `this` is module.exports.
  script.runInThisContext().call(exports, exports, require, module, __filename, __dirname);
}

function executable(bundle) {
  // The bundle becomes the body of a CommonJS-style module function, like Node's own wrapper.
  const source = `(function (exports, require, module, __filename, __dirname) {${bundle}\n})`;
  const id = crypto.createHash('sha256').update(source).digest('hex').slice(0, 32);
  const body = String(loader).replace(/^function loader\(ID, SOURCE\) \{/, '').replace(/\}\s*$/, '');
  return [
    '#!/usr/bin/env node',
    "'use strict';",
    '// Switchyard CNI executable: a loader and the esbuild bundle it compiles with the V8 code cache in',
    '// <this file>.cache when that cache fits (see scripts/build-cni.js; the cache is optional).',
    `const ID = ${JSON.stringify(id)};`,
    `const SOURCE = ${JSON.stringify(source)};`,
    '{',
    body.trim(),
    '}',
    '',
  ].join('\n');
}

/**
 * Runs the executable as a runtime would, so the cache holds the functions a real call compiles (V8 includes
 * lazily compiled functions in data created after execution). Each run starts from the previous run's
 * cache, so the data accumulates over the workload. Environment is minimal: no NODE_OPTIONS, whose flags
 * would make V8 reject the data in ordinary runs. VERSION must work (else the executable is broken); when a
 * later run fails the cache keeps what the runs before it compiled, with a warning (the tests are what
 * check ADD and DEL).
 */
function train(outfile, runs) {
  const cache = `${outfile}.cache`;
  const tmp = `${cache}.training`;
  fs.rmSync(cache, { force: true });
  for (const run of runs) {
    const r = spawnSync(process.execPath, [outfile], {
      env: { PATH: process.env.PATH, ...run.env, SWITCHYARD_CODE_CACHE_OUT: tmp },
      input: run.stdin ?? '',
      encoding: 'utf8',
    });
    if (r.status !== run.exitCode || !fs.existsSync(tmp)) {
      const msg = `code cache training run of ${path.basename(outfile)} (${run.env.CNI_COMMAND}) exited ${r.status ?? r.error}: ${r.stdout}${r.stderr}`;
      if (run === runs[0]) throw new Error(msg);
      console.warn(`warning: ${msg}`);
      fs.rmSync(tmp, { force: true });
      return;
    }
    fs.renameSync(tmp, cache);
  }
}

/**
 * The emulator the training runs use: an L2Bridge and an Overlay network (as flannel creates them) and a
 * namespace, made by the memory data plane itself (bundled from source, so this does not need tsc's output).
 * Prints the namespace ID.
 */
const EMULATOR_SETUP = `
import { openDataplane } from './src/dataplane/factory';
(async () => {
  const s = await openDataplane({ kind: 'memory', statePath: process.env.SWITCHYARD_STATE, env: process.env });
  await s.v1.call('POST', '/networks/', { Name: 'cbr0', Type: 'L2Bridge', Subnets: [{ AddressPrefix: '10.244.0.0/16', GatewayAddress: '10.244.0.1' }] });
  await s.v1.call('POST', '/networks/', { Name: 'vxlan0', Type: 'Overlay', Subnets: [{ AddressPrefix: '10.132.0.0/24', GatewayAddress: '10.132.0.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }] });
  const ns = await s.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } });
  await s.close();
  process.stdout.write(ns.ID);
})().catch((e) => { console.error(e); process.exit(1); });
`;

async function trainingEmulator(dir) {
  const env = { PATH: process.env.PATH, SWITCHYARD_DATAPLANE: 'memory', SWITCHYARD_STATE: path.join(dir, 'hns.json'), SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.133.170' };
  const setup = await esbuild.build({
    stdin: { contents: EMULATOR_SETUP, loader: 'ts', resolveDir: root },
    bundle: true, write: false, platform: 'node', target: 'node20', format: 'cjs', external: ['koffi', 'node-powershell', 'winston'], logLevel: 'warning',
  });
  // The script on stdin (too long for an argument); run from the root so `koffi` resolves.
  const r = spawnSync(process.execPath, ['-'], { cwd: root, env, input: setup.outputFiles[0].text, encoding: 'utf8' });
  if (r.status === 0) return { env, ns: r.stdout };
  console.warn(`warning: code cache training: emulator setup failed, training on VERSION only: ${r.error ?? r.stderr}`);
  return undefined;
}

/** A representative workload per executable: VERSION, then a successful ADD and DEL against the emulator. */
function trainingRuns(name, dir, emulator) {
  const ipam = (subnet) => ({ type: 'switchyard-ipam', subnet, dataDir: path.join(dir, 'ipam') });
  const conf = {
    'switchyard-ipam': { cniVersion: '1.1.0', name: 'cbr0', type: 'switchyard-ipam', ipam: ipam('10.244.0.0/16') },
    'win-bridge': { cniVersion: '1.1.0', name: 'cbr0', type: 'win-bridge', apiVersion: 2, ipMasqNetwork: '10.244.0.0/16', ipam: ipam('10.244.0.0/16') },
    'win-overlay': { cniVersion: '1.1.0', name: 'vxlan0', type: 'win-overlay', apiVersion: 2, ipMasq: true, ipam: ipam('10.132.0.0/24') },
    switchyard: { cniVersion: '1.1.0', name: 'cbr0', type: 'switchyard', mode: 'l2bridge', ipam: ipam('10.244.0.0/16') },
  }[name];
  const runs = [{ env: { CNI_COMMAND: 'VERSION' }, exitCode: 0 }];
  if (!conf || !emulator) return runs;
  const base = { ...emulator.env, CNI_CONTAINERID: `codecache-${name}`, CNI_NETNS: emulator.ns, CNI_IFNAME: 'eth0', CNI_PATH: outDir };
  const stdin = JSON.stringify(conf);
  runs.push({ env: { ...base, CNI_COMMAND: 'ADD' }, stdin, exitCode: 0 });
  runs.push({ env: { ...base, CNI_COMMAND: 'DEL' }, stdin, exitCode: 0 });
  return runs;
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const entries = fs.readdirSync(srcDir).filter((f) => f.endsWith('.ts'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-codecache-'));
  try {
    const emulator = await trainingEmulator(dir);
    for (const file of entries) await buildOne(file, dir, emulator);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function buildOne(file, dir, emulator) {
  const name = file.replace(/\.ts$/, '');
  const outfile = path.join(outDir, name);
  const result = await esbuild.build({
    entryPoints: [path.join(srcDir, file)],
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    external: ['koffi', 'node-powershell', 'winston'],
    plugins: [missingDataplane],
    logLevel: 'warning',
  });
  // The entry's shebang is dropped: the executable gets its own.
  const bundle = result.outputFiles[0].text.replace(/^#!.*\n/, '');
  fs.writeFileSync(outfile, executable(bundle));
  fs.chmodSync(outfile, 0o755);
  train(outfile, trainingRuns(name, dir, emulator));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
