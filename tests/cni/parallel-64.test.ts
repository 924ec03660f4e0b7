/**
 * 64 CNI processes at once against the endpoint/reservation invariant (issue 11), memory data plane: 64
 * concurrent ADDs, then 64 concurrent DELs; and an interleaved variant where 32 ADDs of new pods race 32
 * DELs of live ones and a repeated ADD of each new pod. After every phase the invariant holds, every live
 * pod has one endpoint with its own address (no address twice), and after the last DEL nothing is left.
 */
import { strict as assert } from 'node:assert';
import { ADD, DEL, run, type Run } from './helpers';
import {
  endpointsOf,
  explain,
  makeRelLab,
  namespaces,
  netconf,
  storeOf,
  violations,
  type PluginName,
  type RelLab,
} from './reliability-lab';

type Conf = Record<string, unknown>;

async function expectLive(lab: RelLab, conf: Conf, live: string[]): Promise<void> {
  const v = await violations(lab, conf);
  assert.deepEqual(v, [], explain(v));
  const eps = await endpointsOf(lab, conf);
  assert.deepEqual([...eps.keys()].sort(), [...live].sort(), 'endpoints are exactly the live pods');
  const ips = [...eps.values()].flat();
  assert.equal(ips.length, live.length, 'one address per pod');
  assert.equal(new Set(ips).size, ips.length, 'no address twice');
  const held = storeOf(conf).list();
  assert.deepEqual(held.map((r) => r.containerID).sort(), [...live].sort(), 'reservations are exactly the live pods');
}

const ok = (what: string) => (r: Run) => assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);

describe('64 parallel ADDs and DELs against the invariant (memory data plane)', function () {
  this.timeout(300_000);

  // win-bridge and win-overlay share switchyard's attachment code (common/attachment.ts); one plugin keeps the suite short.
  for (const plugin of ['switchyard'] as PluginName[]) {
    it(`${plugin}: 64 concurrent ADDs, then 64 concurrent DELs`, async () => {
      const lab = await makeRelLab();
      try {
        const conf = netconf(lab, plugin, 'switchyard-ipam');
        const ns = await namespaces(lab, 64);
        const pods = ns.map((_, i) => `par${i}`);
        (await Promise.all(pods.map((p, i) => run(plugin, lab, ADD(p, ns[i]), conf)))).forEach((r, i) => ok(`ADD ${pods[i]}`)(r));
        await expectLive(lab, conf, pods);
        (await Promise.all(pods.map((p, i) => run(plugin, lab, DEL(p, ns[i]), conf)))).forEach((r, i) => ok(`DEL ${pods[i]}`)(r));
        await expectLive(lab, conf, []);
      } finally {
        lab.cleanup();
      }
    });
  }

  it('switchyard: 32 ADDs of new pods race 32 DELs of live ones and a repeated ADD of 16 of them, then 64 DELs', async () => {
    const lab = await makeRelLab();
    try {
      const conf = netconf(lab, 'switchyard', 'switchyard-ipam');
      const ns = await namespaces(lab, 64);
      const old = ns.slice(0, 32).map((_, i) => `old${i}`);
      const neu = ns.slice(32).map((_, i) => `new${i}`);
      (await Promise.all(old.map((p, i) => run('switchyard', lab, ADD(p, ns[i]), conf)))).forEach(ok('ADD old'));
      await expectLive(lab, conf, old);
      const mixed = await Promise.all([
        ...neu.map((p, i) => run('switchyard', lab, ADD(p, ns[32 + i]), conf)),
        ...old.map((p, i) => run('switchyard', lab, DEL(p, ns[i]), conf)),
        ...neu.slice(0, 16).map((p, i) => run('switchyard', lab, ADD(p, ns[32 + i]), conf)),
      ]);
      mixed.forEach(ok('mixed'));
      await expectLive(lab, conf, neu);
      // The two ADDs of a pod agree on its address (the second reuses the first's endpoint, or made it).
      const addr = (r: Run) => (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0].address;
      for (let i = 0; i < 16; i++) assert.equal(addr(mixed[i]), addr(mixed[64 + i]), `both ADDs of ${neu[i]} print one address`);
      // DEL everything, old pods again too (DEL is idempotent).
      (await Promise.all([...old, ...neu].map((p, i) => run('switchyard', lab, DEL(p, ns[i]), conf)))).forEach(ok('DEL all'));
      await expectLive(lab, conf, []);
    } finally {
      lab.cleanup();
    }
  });
});
