/**
 * CNI plugins stand alone, as in containernetworking/plugins: a file in src/cni/plugins/<plugin>/ imports
 * src/cni/plugins/common/ and the layers below, never another plugin's folder; common/ imports no plugin.
 * Each plugin folder exports its factory from index.ts.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const PLUGINS = path.join(ROOT, 'src/cni/plugins');

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/\bfrom\s*['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
}

describe('CNI plugin folders', () => {
  const folders = fs
    .readdirSync(PLUGINS, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);

  it('are common plus one folder per plugin', () => {
    assert.deepEqual(folders.sort(), ['common', 'switchyard', 'win-bridge', 'win-overlay']);
    assert.deepEqual(
      fs.readdirSync(PLUGINS).filter((f) => f.endsWith('.ts')),
      [],
      'no plugin code outside the folders',
    );
  });

  for (const folder of ['common', 'switchyard', 'win-bridge', 'win-overlay']) {
    it(`${folder}/ imports no other plugin`, () => {
      for (const f of fs.readdirSync(path.join(PLUGINS, folder)).filter((x) => x.endsWith('.ts'))) {
        const file = path.join(PLUGINS, folder, f);
        for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
          const target = path.relative(PLUGINS, path.resolve(path.dirname(file), spec)).split(path.sep);
          if (target[0] === '..') continue;
          assert.ok(target[0] === folder || target[0] === 'common', `${folder}/${f} imports ${spec} (another plugin)`);
        }
      }
    });
  }

  it('each plugin exports its factory from index.ts', () => {
    const expect: Record<string, string> = {
      'win-bridge': 'winBridgePlugin',
      'win-overlay': 'winOverlayPlugin',
      switchyard: 'switchyardPlugin',
    };
    for (const [folder, name] of Object.entries(expect)) {
      const mod = require(path.join(ROOT, 'dist/src/cni/plugins', folder)) as Record<string, () => { add: unknown }>;
      assert.equal(typeof mod[name]().add, 'function', `${folder}/index.ts exports ${name}()`);
    }
  });
});
