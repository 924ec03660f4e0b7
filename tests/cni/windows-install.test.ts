/**
 * The Windows install dir (dist/cni/install/windows, docs/cni.md "Install by copying") carries koffi's
 * win32-x64 prebuilt, fetched by the build with `npm pack` and checked against the lockfile's integrity:
 * the file is there and is a PE image for x86-64 (what Node on Windows x64 can load).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const WIN = path.join(ROOT, 'dist/cni/install/windows');
const IMAGE_FILE_MACHINE_AMD64 = 0x8664;
const IMAGE_FILE_DLL = 0x2000;

/** The COFF header of a PE image: machine and characteristics, or a reason it is not one. */
function coffHeader(file: string): { machine: number; characteristics: number } {
  const b = fs.readFileSync(file);
  assert.equal(b.toString('latin1', 0, 2), 'MZ', `${file}: no MZ header`);
  const pe = b.readUInt32LE(0x3c);
  assert.equal(b.toString('latin1', pe, pe + 4), 'PE\0\0', `${file}: no PE signature at ${pe}`);
  return { machine: b.readUInt16LE(pe + 4), characteristics: b.readUInt16LE(pe + 22) };
}

describe('Windows install dir: koffi win32-x64 prebuilt', () => {
  before(function () {
    if (!fs.existsSync(path.join(WIN, 'win-bridge.exe'))) this.skip(); // no mingw-w64: the dir is not built
  });

  it('holds koffi.node for win32-x64 as a PE DLL for x86-64, with its package.json matching koffi', () => {
    const modules = path.join(WIN, 'switchyard-node/node_modules');
    const pre = path.join(modules, '@koromix/koffi-win32-x64');
    const dll = path.join(pre, 'win32_x64/koffi.node');
    assert.ok(fs.existsSync(dll), `${dll} is missing`);
    const h = coffHeader(dll);
    assert.equal(h.machine, IMAGE_FILE_MACHINE_AMD64, `machine 0x${h.machine.toString(16)}`);
    assert.ok(h.characteristics & IMAGE_FILE_DLL, 'IMAGE_FILE_DLL not set');
    const koffi = JSON.parse(fs.readFileSync(path.join(modules, 'koffi/package.json'), 'utf8')) as { version: string };
    const prebuilt = JSON.parse(fs.readFileSync(path.join(pre, 'package.json'), 'utf8')) as { name: string; version: string };
    assert.equal(prebuilt.name, '@koromix/koffi-win32-x64');
    assert.equal(prebuilt.version, koffi.version);
  });

  it('the native entrypoints there are PE executables for x86-64', () => {
    for (const name of ['win-bridge', 'win-overlay', 'switchyard', 'switchyard-ipam']) {
      assert.equal(coffHeader(path.join(WIN, `${name}.exe`)).machine, IMAGE_FILE_MACHINE_AMD64, name);
    }
  });
});
