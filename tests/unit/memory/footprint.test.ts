import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tempState, type TempState } from './helpers';

/**
 * The emulator runs inside every CNI process: loading it must not pull in the heavy libraries
 * (winston, ajv, koffi for FFI, node-powershell, the Kubernetes client). koffi arrives only with the first
 * mutation, for flock.
 */
describe('memory data plane: load footprint', function () {
  this.timeout(60_000);
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('loads and answers a query with only node builtins, ipaddr.js and project code; koffi only to lock', () => {
    const mod = path.resolve(__dirname, '../../../src/dataplane/memory');
    const script = `
      const { openMemory } = require(${JSON.stringify(mod)});
      const loaded = () => Object.keys(require.cache).filter((f) => f.includes('node_modules')).map((f) => f.split('node_modules/').pop().split('/')[0]);
      (async () => {
        const hns = openMemory({ statePath: ${JSON.stringify(t.statePath)}, env: {} });
        await hns.listNetworks();
        const afterRead = [...new Set(loaded())];
        await hns.createNamespace({});
        const afterWrite = [...new Set(loaded())];
        process.stdout.write(JSON.stringify({ afterRead, afterWrite }));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { afterRead, afterWrite } = JSON.parse(r.stdout) as { afterRead: string[]; afterWrite: string[] };
    assert.deepEqual(afterRead.sort(), ['ipaddr.js'], 'a read needs no native code');
    // koffi and its platform binary package (@koromix/koffi-<platform>), nothing else.
    assert.deepEqual(afterWrite.filter((m) => m !== '@koromix').sort(), ['ipaddr.js', 'koffi']);
  });
});
