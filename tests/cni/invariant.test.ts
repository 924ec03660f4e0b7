/**
 * Issue 11, defects 1, 2, 3 and 10: an endpoint and its IP reservation never disagree after a retried,
 * repeated or failing ADD, and GC/STATUS see and repair what a killed call left (src/cni/invariant.ts).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, CHECK, DEL, runSync, type CniEnv } from './helpers';
import {
  CNI_PATH,
  endpointsOf,
  explain,
  makeRelLab,
  namespaces,
  netconf,
  storeOf,
  v11,
  violations,
  type PluginName,
  type RelLab,
} from './reliability-lab';

const withPath = (e: CniEnv): CniEnv => ({ ...e, CNI_PATH });
const reservationsOf = (conf: Record<string, unknown>) =>
  storeOf(conf)
    .list()
    .map((r) => `${r.containerID} ${r.ip.v === 4 ? r.ip.n : ''}`);

for (const plugin of ['win-bridge', 'win-overlay', 'switchyard'] as PluginName[]) {
  describe(`endpoint/reservation invariant: ${plugin}`, function () {
    this.timeout(60000);
    let lab: RelLab;
    let ns: string[];
    beforeEach(async () => {
      lab = await makeRelLab();
      ns = await namespaces(lab, 3);
    });
    afterEach(() => lab.cleanup());
    const conf = () => netconf(lab, plugin, 'switchyard-ipam');

    it('defect 1: a re-ADD reusing an endpoint whose reservation was released re-reserves its address', async () => {
      const first = runSync(plugin, lab, withPath(ADD('podA', ns[0])), conf());
      assert.equal(first.code, 0, first.stdout);
      const ip = first.json().ips[0].address.split('/')[0];
      // The IPAM half of a DEL killed before it removed the endpoint (the old order).
      assert.equal(runSync('switchyard-ipam', lab, withPath(DEL('podA', ns[0])), conf()).code, 0);
      assert.deepEqual(
        (await violations(lab, conf())).map((v) => v.kind),
        ['unreserved'],
      );
      const again = runSync(plugin, lab, withPath(ADD('podA', ns[0])), conf());
      assert.equal(again.code, 0, again.stdout);
      assert.equal(again.json().ips[0].address.split('/')[0], ip);
      assert.equal(storeOf(conf()).holder(storeOf(conf()).list()[0].ip)?.containerID, 'podA');
      assert.deepEqual(await violations(lab, conf()), []);
      // And the address is not handed out again.
      const other = runSync(plugin, lab, withPath(ADD('podB', ns[1])), conf());
      assert.equal(other.code, 0, other.stdout);
      assert.notEqual(other.json().ips[0].address.split('/')[0], ip);
      assert.deepEqual(await violations(lab, conf()), []);
    });

    it('defect 2: a failed ADD of an attached container keeps that container’s reservation', async () => {
      const first = runSync(plugin, lab, withPath(ADD('live1', ns[0])), conf());
      assert.equal(first.code, 0, first.stdout);
      const before = reservationsOf(conf());
      const clash = runSync(plugin, lab, withPath(ADD('live1', ns[1])), conf());
      assert.equal(clash.code, 1, 'attaching an attached endpoint to a second namespace must fail');
      assert.deepEqual(reservationsOf(conf()), before);
      assert.deepEqual(await violations(lab, conf()), []);
      assert.equal(runSync(plugin, lab, withPath(CHECK('live1', ns[0])), { ...conf(), prevResult: first.json() }).code, 0);
    });

    it('defect 10: a re-ADD after the reservation vanished, and after the endpoint vanished, both succeed', async () => {
      const first = runSync(plugin, lab, withPath(ADD('p', ns[0])), conf());
      assert.equal(first.code, 0, first.stdout);
      const store = storeOf(conf());
      store.release(store.list()[0].ip);
      const check = runSync(plugin, lab, withPath(CHECK('p', ns[0])), { ...conf(), prevResult: first.json() });
      assert.equal(check.code, 1, 'CHECK sees the missing reservation');
      const again = runSync(plugin, lab, withPath(ADD('p', ns[0])), conf());
      assert.equal(again.code, 0, again.stdout);
      assert.equal(runSync(plugin, lab, withPath(CHECK('p', ns[0])), { ...conf(), prevResult: again.json() }).code, 0);
      // Now the other half: endpoint gone (a DEL killed between its two steps), reservation left.
      const s = await lab.service();
      for (const ep of await s.listEndpoints()) {
        if (ep.HostComputeNamespace) await s.detachEndpoint(ep.HostComputeNamespace, ep.ID!);
        await s.deleteEndpoint(ep.ID!);
      }
      await s.close();
      const third = runSync(plugin, lab, withPath(ADD('p', ns[0])), conf());
      assert.equal(third.code, 0, third.stdout);
      assert.equal(runSync(plugin, lab, withPath(CHECK('p', ns[0])), { ...conf(), prevResult: third.json() }).code, 0);
      assert.deepEqual(await violations(lab, conf()), []);
    });

    it('GC repairs: re-reserves a live pod’s address, releases an orphan, spares an ADD in flight; STATUS reports', async () => {
      const live = runSync(plugin, lab, withPath(ADD('live', ns[0])), conf());
      assert.equal(live.code, 0, live.stdout);
      const store = storeOf(conf());
      const liveIp = store.list()[0].ip;
      store.release(liveIp);
      const dir = store.dir;
      const net = plugin === 'win-overlay' ? '10.245.1.' : '10.244.1.';
      fs.writeFileSync(path.join(dir, net + '100'), 'ghost\r\neth0');
      fs.writeFileSync(path.join(dir, net + '101'), 'busy\r\neth0');
      const marker = await store.holdInflight('busy', 'eth0');
      const status = runSync(plugin, lab, withPath({ CNI_COMMAND: 'STATUS' }), v11(conf()));
      assert.equal(status.code, 1);
      assert.equal(status.json().code, 50);
      assert.match(status.json().details, /which IPAM has not reserved/);
      const valid = [
        { containerID: 'live', ifname: 'eth0' },
        { containerID: 'busy', ifname: 'eth0' },
      ];
      const gc = runSync(plugin, lab, withPath({ CNI_COMMAND: 'GC' }), v11(conf(), { 'cni.dev/valid-attachments': valid }));
      assert.equal(gc.code, 0, gc.stdout);
      const left = store
        .list()
        .map((r) => r.containerID)
        .sort();
      assert.deepEqual(left, ['busy', 'live'], 'orphan released, in-flight ADD spared, live pod re-reserved');
      marker.release();
      const gc2 = runSync(plugin, lab, withPath({ CNI_COMMAND: 'GC' }), v11(conf(), { 'cni.dev/valid-attachments': valid }));
      assert.equal(gc2.code, 0, gc2.stdout);
      assert.deepEqual(
        store.list().map((r) => r.containerID),
        ['live'],
      );
      assert.deepEqual(await violations(lab, conf()), []);
      assert.equal(runSync(plugin, lab, withPath({ CNI_COMMAND: 'STATUS' }), v11(conf())).code, 0);
    });
  });
}

describe('endpoint/reservation invariant: switchyard rollback (defect 3)', () => {
  let lab: RelLab;
  beforeEach(async () => (lab = await makeRelLab()));
  afterEach(() => lab.cleanup());

  it('a failed ADD with a non-GUID CNI_NETNS removes its endpoint and releases its address', async () => {
    const conf = netconf(lab, 'switchyard', 'switchyard-ipam');
    const r = runSync('switchyard', lab, withPath(ADD('bad', 'not-a-guid')), conf);
    assert.equal(r.code, 1, r.stdout);
    assert.deepEqual([...(await endpointsOf(lab, conf)).keys()], []);
    assert.deepEqual(storeOf(conf).list(), []);
    assert.deepEqual(await violations(lab, conf), [], explain(await violations(lab, conf)));
  });
});
