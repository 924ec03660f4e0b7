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
  const pre = path.join(root, 'node_modules/@koromix', `koffi-${platformArch}`);
  if (!fs.existsSync(pre)) return false;
  fs.cpSync(pre, path.join(modules, '@koromix', `koffi-${platformArch}`), { recursive: true });
  return true;
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
      console.warn(`note: koffi's prebuilt for ${t.platformArch} is not in node_modules: dist/cni/install/${t.os}/switchyard-node/node_modules/@koromix/koffi-${t.platformArch} must be added at install time (docs/cni.md)`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
