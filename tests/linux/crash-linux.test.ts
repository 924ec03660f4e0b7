/**
 * Crash injection on the linux data plane (issue 11), the counterpart of tests/cni/crash-memory.test.ts as
 * root: random ADD/DEL/CHECK of a few pods through the built executables — win-bridge, win-overlay and
 * switchyard, each with switchyard-ipam and with Debian's host-local delegated, each on its own network of
 * one lab node — with ~30 % of the calls SIGKILLed (the whole process group) at a random instant. Then one
 * GC per combination naming the pods the runtime believes live, and: the invariant holds, CHECK passes for
 * every live pod, no address is carried twice, no endpoint or reservation of a pod that is not live, and in
 * the kernel no orphan veth (node side or pod side), no route to a gone pod and no nft rule naming an
 * address no live pod has. Seeded: the seed is printed, SWITCHYARD_TEST_SEED=<seed> replays a run;
 * SWITCHYARD_CRASH_OPS sets the operations per combination, SWITCHYARD_CRASH_PARALLEL how many run at once.
 * The lab (node and pod namespaces) is removed in `after`, also when the test fails.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NetnsLab } from '../../src/lab/netns-driver';
import type { HostNetworkService } from '../../src/dataplane/types';
import { checkInvariant, describe as describeViolation, networkEndpoints } from '../../src/cni/invariant';
import { loadIpamConfig } from '../../src/cni/ipam/config';
import { DiskStore } from '../../src/cni/ipam/store';
import { prng, suiteSeed } from '../cni/reliability-lab';
import { runKillable as spawnKillable, type KillableOutcome } from '../helpers/killable';
import { canRunNetns, uniquePrefix } from './helpers/lab';
import { CNI_BIN, REFERENCE_BIN, haveCniBin } from './helpers/cni';

type PluginName = 'win-bridge' | 'win-overlay' | 'switchyard';
type IpamName = 'switchyard-ipam' | 'host-local';

interface Combo {
  k: number;
  plugin: PluginName;
  ipam: IpamName;
  /** The HNS network (one per combination: two IPAM stores must never share a subnet). */
  network: string;
  networkId?: string;
  subnet: string;
  conf: Record<string, unknown>;
  pods: { id: string; ns: string }[];
  live: Map<number, unknown>;
}

const PODS = 8;
const HAVE_HOST_LOCAL = fs.existsSync(path.join(REFERENCE_BIN, 'host-local'));

describe('crash injection: ADD/DEL with random SIGKILLs, then GC (linux data plane, root)', function () {
  this.timeout(600_000);
  const seed = suiteSeed();
  const per = Number(process.env.SWITCHYARD_CRASH_OPS) || 90;
  const parallel = Number(process.env.SWITCHYARD_CRASH_PARALLEL) || 3;
  const fig = { ops: 0, kills: 0 };
  let lab: NetnsLab;
  let dp: HostNetworkService | undefined;
  const combos: Combo[] = [];
  const node = () => lab.plan.nodes[0];

  before(async function () {
    if (!canRunNetns() || !haveCniBin()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syc'), nodes: 1, podsPerNode: 0, type: 'L2Bridge' });
    const dataDir = path.join(lab.stateDir, 'ipam');
    try {
      lab.underlay();
      dp = await lab.openNode(node());
      const uplink = { Type: 'NetAdapterName' as const, Settings: { NetworkAdapterName: 'eth0' } };
      const plugins: PluginName[] = ['win-bridge', 'win-overlay', 'switchyard'];
      const ipams: IpamName[] = HAVE_HOST_LOCAL ? ['switchyard-ipam', 'host-local'] : ['switchyard-ipam'];
      for (const plugin of plugins) {
        for (const ipam of ipams) {
          const k = combos.length;
          const subnet = `10.${240 + k}.1.0/24`;
          const net = `crash${k}`;
          const gw = subnet.replace(/0\/24$/, plugin === 'win-bridge' ? '2' : '1');
          const subnetDoc = {
            IpAddressPrefix: subnet,
            Routes: [{ NextHop: gw, DestinationPrefix: '0.0.0.0/0' }],
            ...(plugin === 'win-overlay' ? { Policies: [{ Type: 'VSID' as const, Settings: { IsolationId: 5000 + k } }] } : {}),
          };
          const created = await dp.createNetwork({
            Name: net,
            Type: plugin === 'win-overlay' ? 'Overlay' : 'L2Bridge',
            Policies:
              plugin === 'win-overlay' ? [uplink, { Type: 'ProviderAddress', Settings: { ProviderAddress: node().underlayIp } }] : [uplink],
            Ipams: [{ Type: 'Static', Subnets: [subnetDoc] }],
          });
          const ipamConf = {
            type: ipam,
            subnet,
            rangeStart: subnet.replace(/0\/24$/, '10'),
            rangeEnd: subnet.replace(/0\/24$/, '120'),
            dataDir: path.join(dataDir, String(k)),
          };
          const conf: Record<string, unknown> =
            plugin === 'switchyard'
              ? { cniVersion: '1.0.0', name: `pods${k}`, type: 'switchyard', mode: 'l2bridge', network: net, ipMasq: true, ipam: ipamConf }
              : plugin === 'win-bridge'
                ? { cniVersion: '1.0.0', name: net, type: plugin, apiVersion: 2, ipMasqNetwork: '10.240.0.0/12', ipam: ipamConf }
                : { cniVersion: '1.0.0', name: net, type: plugin, apiVersion: 2, ipam: ipamConf };
          const pods = Array.from({ length: PODS }, (_, i) => ({
            id: `c${k}pod${i}${lab.plan.spec.prefix}`,
            ns: lab.addNetns(`${lab.plan.spec.prefix}-c${k}p${i}`),
          }));
          combos.push({ k, plugin, ipam, network: net, networkId: created.ID, subnet, conf, pods, live: new Map() });
        }
      }
    } catch (e) {
      await dp?.close();
      await lab.down();
      throw e;
    }
  });
  after(async () => {
    await dp?.close();
    await lab?.down();
    if (combos.length)
      console.log(
        `      crash-linux: seed ${seed}, ${fig.ops} operations, ${fig.kills} SIGKILLs, ${combos.length} plugin/IPAM combinations`,
      );
  });

  function runKillable(
    plugin: string,
    cni: Record<string, string>,
    stdin: object,
    killAfterMs: number | undefined,
  ): Promise<KillableOutcome> {
    const env: NodeJS.ProcessEnv = {
      ...lab.nodeEnv(node()),
      SWITCHYARD_DATAPLANE: 'linux',
      CNI_PATH: `${CNI_BIN}:${REFERENCE_BIN}`,
      ...cni,
    };
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.SWITCHYARD_FAILPOINT;
    return spawnKillable(path.join(CNI_BIN, plugin), env, stdin, killAfterMs);
  }

  const cniEnv = (cmd: string, c: Combo, i: number) => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: c.pods[i].id,
    CNI_NETNS: c.pods[i].ns,
    CNI_IFNAME: 'eth0',
  });
  const v11 = (conf: Record<string, unknown>, extra: Record<string, unknown>) => ({ ...conf, cniVersion: '1.1.0', ...extra });

  async function crashRun(c: Combo, rnd: () => number): Promise<void> {
    const ctx = (i: number, what: string) => `${c.plugin}/${c.ipam} seed ${seed}: ${what} of pod${i}`;
    for (let n = 0; n < per; n++) {
      const i = Math.floor(rnd() * PODS);
      // A linux ADD takes ~100-400 ms here (Node's start, netlink, nft, fsync): kill anywhere in it.
      const kill = rnd() < 0.3 ? 10 + Math.floor(rnd() * 400) : undefined;
      const isLive = c.live.has(i);
      const pick = rnd();
      const cmd = !isLive ? 'ADD' : pick < 0.55 ? 'DEL' : pick < 0.8 ? 'CHECK' : 'ADD';
      const stdin = cmd === 'CHECK' ? { ...c.conf, prevResult: c.live.get(i) } : c.conf;
      const r = await runKillable(c.plugin, cniEnv(cmd, c, i), stdin, kill);
      fig.ops++;
      if (r.killed) {
        fig.kills++;
        if (cmd !== 'CHECK') c.live.delete(i);
        continue;
      }
      assert.equal(r.code, 0, `${ctx(i, cmd)} failed without being killed: ${r.stdout}`);
      if (cmd === 'ADD') c.live.set(i, JSON.parse(r.stdout));
      if (cmd === 'DEL') c.live.delete(i);
    }
    const valid = [...c.live.keys()].map((i) => ({ containerID: c.pods[i].id, ifname: 'eth0' }));
    const gc = await runKillable(c.plugin, { CNI_COMMAND: 'GC' }, v11(c.conf, { 'cni.dev/valid-attachments': valid }), undefined);
    assert.equal(gc.code, 0, `${c.plugin}/${c.ipam} seed ${seed}: GC failed: ${gc.stdout}`);
  }

  /** What must hold for one combination after its GC. */
  async function verify(c: Combo, s: HostNetworkService): Promise<string[]> {
    const tag = `${c.plugin}/${c.ipam} seed ${seed}`;
    const ipam = loadIpamConfig(c.conf, '');
    const store = new DiskStore(ipam.dataDir, ipam.name, false);
    const name = c.conf.name as string;
    const v = await checkInvariant(s, { name, networkId: c.networkId!, view: { store, ranges: ipam.ranges } });
    assert.deepEqual(v, [], `${tag}: invariant after GC:\n${v.map(describeViolation).join('\n')}`);
    const eps = await networkEndpoints(s, { name, networkId: c.networkId! });
    const liveIds = [...c.live.keys()].map((i) => c.pods[i].id).sort();
    assert.deepEqual(eps.map((e) => e.owner).sort(), liveIds, `${tag}: endpoints after GC`);
    assert.deepEqual([...new Set(store.list().map((r) => r.containerID))].sort(), liveIds, `${tag}: reservations after GC`);
    const ips = eps.flatMap((e) => e.ips);
    assert.equal(new Set(ips).size, ips.length, `${tag}: duplicate address among ${ips.join(' ')}`);
    for (const [i, prev] of c.live) {
      const r = await runKillable(c.plugin, cniEnv('CHECK', c, i), { ...c.conf, prevResult: prev }, undefined);
      assert.equal(r.code, 0, `${tag}: CHECK after GC of pod${i}: ${r.stdout}`);
    }
    for (let i = 0; i < PODS; i++) {
      const ns = path.basename(c.pods[i].ns);
      const links = lab.exec(ns, ['ip', '-o', 'link', 'show']);
      const routes = lab.exec(ns, ['ip', '-4', 'route', 'show']).trim();
      if (c.live.has(i)) {
        assert.match(links, /eth0@/, `${tag}: pod${i} is live and has its interface`);
      } else {
        assert.doesNotMatch(links, /eth0/, `${tag}: no orphan interface in pod${i}'s namespace`);
        assert.equal(routes, '', `${tag}: no orphan route in pod${i}'s namespace`);
      }
    }
    return ips;
  }

  it('every plugin/IPAM combination: the invariant, CHECK and no orphan endpoint, reservation, veth, route or nft rule', async function () {
    if (!combos.length) this.skip();
    try {
      const queue = [...combos];
      const worker = async () => {
        for (let c = queue.shift(); c; c = queue.shift()) await crashRun(c, prng(seed + c.k));
      };
      await Promise.all(Array.from({ length: Math.min(parallel, combos.length) }, worker));
      const s = await lab.openNode(node());
      const liveIps: string[] = [];
      try {
        for (const c of combos) liveIps.push(...(await verify(c, s)));
      } finally {
        await s.close();
      }
      // The node's kernel: one host veth per live pod and no other; no route through a gone link; no nft
      // rule naming a pod address that no live pod has.
      const livePods = combos.reduce((n, c) => n + c.live.size, 0);
      const nodeLinks = lab.exec(node().name, ['ip', '-o', 'link', 'show']);
      assert.equal((nodeLinks.match(/syv[0-9a-f]{10}@/g) ?? []).length, livePods, `seed ${seed}: host veths vs live pods:\n${nodeLinks}`);
      const devs = new Set(nodeLinks.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]));
      for (const line of lab.exec(node().name, ['ip', '-4', '-o', 'route', 'show', 'table', 'all']).split('\n').filter(Boolean)) {
        const dev = /\bdev (\S+)/.exec(line)?.[1];
        if (dev) assert.ok(devs.has(dev), `seed ${seed}: route through a gone link: ${line}`);
      }
      const ruleset = lab.exec(node().name, ['nft', 'list', 'ruleset']);
      // Pod addresses are .10-.120 of each subnet (network addresses and gateways also appear in rules).
      const named = new Set((ruleset.match(/\b10\.24\d\.1\.\d+\b/g) ?? []).filter((ip) => Number(ip.split('.')[3]) >= 10));
      for (const ip of named) assert.ok(liveIps.includes(ip), `seed ${seed}: nft rule for ${ip}, which no live pod has`);
    } catch (e) {
      (e as Error).message = `[seed ${seed}; replay with SWITCHYARD_TEST_SEED=${seed}] ${(e as Error).message}`;
      throw e;
    }
  });
});
