import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, BIN, DEL, ROOT, createNamespace, createV1Network, makeLab, runSync, type Lab } from './helpers';

/** libcni's stdin for one plugin of a conflist: the plugin object plus the list's cniVersion and name. */
function pluginConf(file: string, dataDir: string): Record<string, unknown> {
  const list = JSON.parse(fs.readFileSync(path.join(ROOT, 'manifests/cni', file), 'utf8'));
  const p = { ...list.plugins[0], cniVersion: list.cniVersion, name: list.name };
  p.ipam = { ...p.ipam, dataDir };
  return p;
}

describe('example conflists in manifests/cni', () => {
  let lab: Lab;
  let ns: string;
  before(async () => {
    lab = makeLab();
    await createV1Network(lab, {
      Name: 'cbr0',
      Type: 'L2Bridge',
      Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }],
    });
    await createV1Network(lab, {
      Name: 'vxlan0',
      Type: 'Overlay',
      Subnets: [{ AddressPrefix: '10.244.2.0/24', GatewayAddress: '10.244.2.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
    });
    ns = await createNamespace(lab);
  });
  after(() => lab.cleanup());

  for (const [file, plugin] of [
    ['10-win-bridge.conflist', 'win-bridge'],
    ['10-win-overlay.conflist', 'win-overlay'],
    ['10-switchyard-l2bridge.conflist', 'switchyard'],
    ['10-switchyard-overlay.conflist', 'switchyard'],
  ] as const) {
    it(`${file} configures a pod and removes it`, () => {
      const conf = pluginConf(file, lab.ipamDir);
      assert.equal(conf.type, plugin);
      const cni = { ...ADD(`ex${file.length}${plugin.length}`, ns), CNI_PATH: `${BIN}:/usr/lib/cni` };
      const r = runSync(plugin, lab, cni, conf);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.json().ips.length, 1);
      assert.equal(runSync(plugin, lab, { ...cni, CNI_COMMAND: 'DEL' }, conf).code, 0);
    });
  }

  it('the win-* examples use a CNI version with GC and STATUS (1.1.0), and both answer', () => {
    for (const [file, plugin] of [
      ['10-win-bridge.conflist', 'win-bridge'],
      ['10-win-overlay.conflist', 'win-overlay'],
    ] as const) {
      const conf: Record<string, unknown> = { ...pluginConf(file, lab.ipamDir), 'cni.dev/valid-attachments': [] };
      assert.equal(conf.cniVersion, '1.1.0');
      const cni = { ...ADD('st', ns), CNI_PATH: `${BIN}:/usr/lib/cni` };
      for (const cmd of ['STATUS', 'GC']) {
        const r = runSync(plugin, lab, { ...cni, CNI_COMMAND: cmd }, conf);
        assert.equal(r.code, 0, `${file} ${cmd}: ${r.stdout}${r.stderr}`);
      }
    }
  });

  it('keeps DEL idempotent for every example', () => {
    for (const file of ['10-win-bridge.conflist', '10-switchyard-l2bridge.conflist']) {
      const conf = pluginConf(file, lab.ipamDir);
      assert.equal(runSync(conf.type as string, lab, { ...DEL('never-added', ns), CNI_PATH: `${BIN}:/usr/lib/cni` }, conf).code, 0);
    }
  });
});
