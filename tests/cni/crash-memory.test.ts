/**
 * Crash injection on the memory data plane (issue 11): random ADD/DEL/CHECK of a few pods through the
 * built executables — win-bridge, win-overlay and switchyard, each with switchyard-ipam and with Debian's
 * host-local delegated — with a share of the calls SIGKILLed (the whole process group, as a node reboot
 * would: a delegated host-local dies too) at a random instant. Then one GC naming the pods the runtime
 * believes live, and: the invariant holds, CHECK passes for every live pod, no address is carried twice,
 * no endpoint or reservation of a pod that is not live is left. Seeded: the seed is printed, and
 * SWITCHYARD_TEST_SEED=<seed> replays a run; SWITCHYARD_CRASH_OPS sets the operations per combination.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ADD, BIN, CHECK, DEL, type CniEnv } from './helpers';
import { runKillable as spawnKillable, type KillableOutcome } from '../helpers/killable';
import {
  CNI_PATH,
  HAVE_HOST_LOCAL,
  endpointsOf,
  explain,
  makeRelLab,
  namespaces,
  netconf,
  prng,
  storeOf,
  suiteSeed,
  v11,
  violations,
  type IpamName,
  type PluginName,
  type RelLab,
} from './reliability-lab';

function runKillable(plugin: string, lab: RelLab, cni: CniEnv, stdin: object, killAfterMs: number | undefined): Promise<KillableOutcome> {
  const env: NodeJS.ProcessEnv = { ...lab.env };
  for (const [k, v] of Object.entries(cni)) if (v !== undefined) env[k] = v;
  return spawnKillable(path.join(BIN, plugin), env, stdin, killAfterMs);
}

interface Figures {
  ops: number;
  kills: number;
}

async function crashRun(plugin: PluginName, ipam: IpamName, seed: number, ops: number, fig: Figures): Promise<void> {
  const rnd = prng(seed);
  const lab = await makeRelLab();
  try {
    const conf = netconf(lab, plugin, ipam);
    const PODS = 10;
    const ns = await namespaces(lab, PODS);
    const live = new Map<number, unknown>();
    const env = (e: CniEnv): CniEnv => ({ ...e, CNI_PATH });
    const ctx = (i: number, what: string) => `${plugin}/${ipam} seed ${seed}: ${what} of pod${i}`;
    for (let n = 0; n < ops; n++) {
      const i = Math.floor(rnd() * PODS);
      const kill = rnd() < 0.3 ? 5 + Math.floor(rnd() * 140) : undefined;
      const id = `pod${i}`;
      const isLive = live.has(i);
      const pick = rnd();
      let cmd: 'ADD' | 'DEL' | 'CHECK';
      if (!isLive) cmd = 'ADD';
      else cmd = pick < 0.55 ? 'DEL' : pick < 0.8 ? 'CHECK' : 'ADD';
      const cni = cmd === 'ADD' ? ADD(id, ns[i]) : cmd === 'DEL' ? DEL(id, ns[i]) : CHECK(id, ns[i]);
      const stdin = cmd === 'CHECK' ? { ...conf, prevResult: live.get(i) } : conf;
      const r = await runKillable(plugin, lab, env(cni), stdin, kill);
      fig.ops++;
      if (r.killed) {
        fig.kills++;
        if (cmd !== 'CHECK') live.delete(i);
        continue;
      }
      assert.equal(r.code, 0, `${ctx(i, cmd)} failed without being killed: ${r.stdout}`);
      if (cmd === 'ADD') live.set(i, JSON.parse(r.stdout));
      if (cmd === 'DEL') live.delete(i);
    }
    const valid = [...live.keys()].map((i) => ({ containerID: `pod${i}`, ifname: 'eth0' }));
    const gc = await runKillable(plugin, lab, env({ CNI_COMMAND: 'GC' }), v11(conf, { 'cni.dev/valid-attachments': valid }), undefined);
    assert.equal(gc.code, 0, `${plugin}/${ipam} seed ${seed}: GC failed: ${gc.stdout}`);
    const v = await violations(lab, conf);
    assert.deepEqual(v, [], `${plugin}/${ipam} seed ${seed}: invariant after GC:\n${explain(v)}`);
    const eps = await endpointsOf(lab, conf);
    const liveIds = [...live.keys()].map((i) => `pod${i}`).sort();
    assert.deepEqual([...eps.keys()].sort(), liveIds, `${plugin}/${ipam} seed ${seed}: endpoints after GC`);
    const held = storeOf(conf).list();
    assert.deepEqual([...new Set(held.map((r) => r.containerID))].sort(), liveIds, `${plugin}/${ipam} seed ${seed}: reservations after GC`);
    const ips = [...eps.values()].flat();
    assert.equal(new Set(ips).size, ips.length, `${plugin}/${ipam} seed ${seed}: duplicate address among ${ips.join(' ')}`);
    for (const [i, prev] of live) {
      const r = await runKillable(plugin, lab, env(CHECK(`pod${i}`, ns[i])), { ...conf, prevResult: prev }, undefined);
      assert.equal(r.code, 0, `${ctx(i, 'CHECK after GC')}: ${r.stdout}`);
    }
  } finally {
    lab.cleanup();
  }
}

describe('crash injection: ADD/DEL with random SIGKILLs, then GC (memory data plane)', function () {
  this.timeout(180000);
  const seed = suiteSeed();
  const per = Number(process.env.SWITCHYARD_CRASH_OPS) || 90;
  const fig: Figures = { ops: 0, kills: 0 };
  const combos: [PluginName, IpamName][] = [];
  for (const p of ['win-bridge', 'win-overlay', 'switchyard'] as PluginName[]) {
    combos.push([p, 'switchyard-ipam']);
    if (HAVE_HOST_LOCAL) combos.push([p, 'host-local']);
  }
  after(() =>
    console.log(
      `      crash-memory: seed ${seed}, ${fig.ops} operations, ${fig.kills} SIGKILLs, ${combos.length} plugin/IPAM combinations`,
    ),
  );

  it(`${combos.length} plugin/IPAM combinations × ${per} operations: the invariant, CHECK and no leftovers after GC`, async function () {
    try {
      await Promise.all(combos.map(([p, i], k) => crashRun(p, i, seed + k, per, fig)));
    } catch (e) {
      (e as Error).message = `[seed ${seed}; replay with SWITCHYARD_TEST_SEED=${seed}] ${(e as Error).message}`;
      throw e;
    }
  });
});
