#!/usr/bin/env node
// Assembles the CNI bin directories that install by copying (docs/cni.md "Install by copying"):
//   dist/cni/install/linux/    win-bridge, win-overlay, switchyard, switchyard-ipam   (native ELF entrypoint)
//   dist/cni/install/windows/  the same names with .exe                               (only where mingw-w64 is)
// each with switchyard-node/: the Node fallback entrypoints <name>.js (+ code cache) and a node_modules holding
// every module they load that is not bundled: koffi with this platform's prebuilt native module, and
// winston as one bundled file. dist/cni/bin gets the same node_modules, so its Node entrypoints copy too.
'use strict';
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const binDir = path.join(root, 'dist/cni/bin');
const nativeDir = path.join(root, 'native/build');
const installDir = path.join(root, 'dist/cni/install');
const PLUGINS = ['win-bridge', 'win-overlay', 'switchyard', 'switchyard-ipam'];

function copy(from, to, mode) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  if (mode) fs.chmodSync(to, mode);
}

/** koffi's loader files and the prebuilt for `platform-arch` (the only native code the bundles load). */
function copyKoffi(modules, platformArch) {
  const src = path.join(root, 'node_modules/koffi');
  for (const f of ['package.json', 'index.cjs', 'src/koffi/index.cjs', 'src/koffi/src/static.cjs', 'LICENSE.txt']) {
    copy(path.join(src, f), path.join(modules, 'koffi', f));
  }
  const pre = prebuiltDir(platformArch);
  if (!pre) return false;
  fs.cpSync(pre, path.join(modules, '@koromix', `koffi-${platformArch}`), { recursive: true });
  return true;
}

/**
 * The directory of koffi's prebuilt package for `platform-arch`: node_modules when npm installed it (the host's),
 * else node_modules/.cache/switchyard-prebuilt/<name>-<version>/, unpacked from the tarball `npm pack` fetches —
 * npm installs an optional dependency only for its own os/cpu, so the Windows one never lands in node_modules
 * on Linux. The tarball must match the lockfile's integrity (sha512) for that package, so the build is
 * reproducible and a tampered or different tarball is refused. Undefined when neither is possible (offline).
 */
function prebuiltDir(platformArch) {
  const name = `@koromix/koffi-${platformArch}`;
  const installed = path.join(root, 'node_modules', name);
  if (fs.existsSync(installed)) return installed;
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const entry = lock.packages?.[`node_modules/${name}`];
  if (!entry?.version || !entry.integrity?.startsWith('sha512-')) return undefined;
  const cache = path.join(root, 'node_modules/.cache/switchyard-prebuilt');
  const unpacked = path.join(cache, `koffi-${platformArch}-${entry.version}`);
  if (fs.existsSync(path.join(unpacked, 'package.json'))) return unpacked;
  const tgz = path.join(cache, `koromix-koffi-${platformArch}-${entry.version}.tgz`);
  const { execFileSync } = require('node:child_process');
  try {
    fs.mkdirSync(cache, { recursive: true });
    if (!fs.existsSync(tgz)) {
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      execFileSync(npm, ['pack', `${name}@${entry.version}`, '--pack-destination', cache, '--silent'], {
        cwd: cache, stdio: ['ignore', 'ignore', 'pipe'], shell: process.platform === 'win32',
      });
    }
    const sha = 'sha512-' + require('node:crypto').createHash('sha512').update(fs.readFileSync(tgz)).digest('base64');
    if (sha !== entry.integrity) {
      fs.rmSync(tgz, { force: true });
      throw new Error(`${path.basename(tgz)}: integrity ${sha} differs from package-lock.json's ${entry.integrity}`);
    }
    const tmp = `${unpacked}.${process.pid}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.rmSync(unpacked, { recursive: true, force: true });
    fs.renameSync(tmp, unpacked);
    return unpacked;
  } catch (e) {
    console.warn(`note: could not fetch ${name}@${entry.version} with npm pack: ${String(e.stderr || e.message).trim().split('\n')[0]}`);
    return undefined;
  }
}

async function bundleWinston(modules) {
  await esbuild.build({
    stdin: { contents: "module.exports = require('winston');", resolveDir: root, loader: 'js' },
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, legalComments: 'none', logLevel: 'error',
    outfile: path.join(modules, 'winston/index.js'),
  });
}

async function runtimeModules(dir, platformArch) {
  const modules = path.join(dir, 'node_modules');
  fs.rmSync(modules, { recursive: true, force: true });
  const haveKoffi = copyKoffi(modules, platformArch);
  await bundleWinston(modules);
  return haveKoffi;
}

async function main() {
  const host = `${process.platform}-${process.arch}`;
  await runtimeModules(binDir, host);
  fs.rmSync(installDir, { recursive: true, force: true });
  const targets = [
    { os: 'linux', shim: path.join(nativeDir, 'cni-shim'), ext: '', platformArch: `linux-${process.arch}` },
    { os: 'windows', shim: path.join(nativeDir, 'cni-shim.exe'), ext: '.exe', platformArch: 'win32-x64' },
  ];
  for (const t of targets) {
    if (!fs.existsSync(t.shim)) {
      console.warn(`note: ${path.relative(root, t.shim)} was not built: dist/cni/install/${t.os} skipped` + (t.ext ? ' (install mingw-w64: x86_64-w64-mingw32-gcc)' : ''));
      continue;
    }
    const dir = path.join(installDir, t.os);
    const nodeDir = path.join(dir, 'switchyard-node');
    for (const name of PLUGINS) {
      copy(t.shim, path.join(dir, name + t.ext), 0o755);
      copy(path.join(binDir, name), path.join(nodeDir, `${name}.js`), 0o755);
      // The code cache only fits the node that built it (its header says which); useless on the other OS.
      const cache = path.join(binDir, `${name}.cache`);
      if (t.os === 'linux' && fs.existsSync(cache)) copy(cache, path.join(nodeDir, `${name}.js.cache`));
    }
    if (!(await runtimeModules(nodeDir, t.platformArch))) {
      console.warn(`note: koffi's prebuilt for ${t.platformArch} is neither in node_modules nor fetchable: dist/cni/install/${t.os}/switchyard-node/node_modules/@koromix/koffi-${t.platformArch} must be added at install time (docs/cni.md)`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
