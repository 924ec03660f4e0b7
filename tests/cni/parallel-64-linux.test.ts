/**
 * 64 parallel ADDs and then 64 parallel DELs of the switchyard type on the linux data plane (root), against
 * the endpoint/reservation invariant (issue 11): real veths in 64 real pod namespaces. After the ADDs the
 * invariant holds, every pod namespace has eth0 with its own address (no address twice) and the node has one
 * pod veth per pod; after the DELs nothing is left (no endpoint, reservation, pod interface or veth). Uses its
 * own uniquely named namespaces (the data plane runs in a node namespace of its own) and removes them.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkInvariant, describe as describeViolation, networkEndpoints } from '../../src/cni/invariant';
import { loadIpamConfig } from '../../src/cni/ipam/config';
import { DiskStore } from '../../src/cni/ipam/store';
import { BIN, ROOT, makeLab, run, type Lab } from './helpers';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const PODS = 64;

describe('64 parallel ADDs and DELs on the linux data plane (root)', function () {
  this.timeout(300_000);
  let lab: Lab;
  let networkId = '';
  const suffix = Math.random().toString(36).slice(2, 8);
  const nodeNs = `sy64-node-${suffix}`;
  const podNs = Array.from({ length: PODS }, (_, i) => `sy64-${suffix}-${i}`);
  const created: string[] = [];

  before(async function () {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!root || !fs.existsSync(path.join(ROOT, 'dist/src/dataplane/linux/index.js'))) this.skip();
    for (const ns of [nodeNs, ...podNs]) {
      ip('netns', 'add', ns);
      created.push(ns);
    }
    lab = makeLab({ SWITCHYARD_DATAPLANE: 'linux', SWITCHYARD_LINUX_NETNS: `/var/run/netns/${nodeNs}` });
    const s = await service();
    try {
      const net = await s.createNetwork({
        Name: 'cbr0',
        Type: 'L2Bridge',
        SchemaVersion: { Major: 2, Minor: 0 },
        Ipams: [
          {
            Type: 'Static',
            Subnets: [{ IpAddressPrefix: '10.244.0.0/24', Routes: [{ NextHop: '10.244.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
          },
        ],
      });
      networkId = net.ID!;
    } finally {
      await s.close();
    }
  });

  after(async () => {
    // The bridge and veths live in the node namespace: deleting the namespaces removes them all.
    for (const ns of created.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    lab?.cleanup();
  });

  async function service() {
    const { openDataplane } = await import('../../src/dataplane/factory');
    return openDataplane({ kind: 'linux', statePath: lab.state, env: { ...lab.env, SWITCHYARD_CALL_LOG: '' } });
  }

  const conf = () => ({
    cniVersion: '1.1.0',
    name: 'pods',
    type: 'switchyard',
    mode: 'l2bridge',
    network: 'cbr0',
    ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/24', rangeStart: '10.244.0.10', dataDir: lab.ipamDir },
  });
  const cni = (cmd: string, i: number) => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: `l64c${i}`,
    CNI_NETNS: `/var/run/netns/${podNs[i]}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: BIN,
  });

  async function invariant(): Promise<Map<string, string[]>> {
    const c = loadIpamConfig(conf(), '');
    const s = await service();
    try {
      const scope = { name: 'pods', networkId, view: { store: new DiskStore(c.dataDir, c.name, false), ranges: c.ranges } };
      const v = await checkInvariant(s, scope);
      assert.deepEqual(v, [], v.map(describeViolation).join('\n'));
      return new Map((await networkEndpoints(s, scope)).map((e) => [e.owner, e.ips]));
    } finally {
      await s.close();
    }
  }

  const podVeths = () => ip('-n', nodeNs, '-o', 'link', 'show', 'type', 'veth').split('\n').filter(Boolean).length;

  it('64 concurrent ADDs, then 64 concurrent DELs: the invariant, one address per pod, nothing left', async () => {
    const adds = await Promise.all(podNs.map((_, i) => run('switchyard', lab, cni('ADD', i), conf())));
    adds.forEach((r, i) => assert.equal(r.code, 0, `ADD ${i}: ${r.stdout}${r.stderr}`));
    const eps = await invariant();
    assert.equal(eps.size, PODS);
    const addrs = adds.map((r) => (r.json() as { ips: { address: string }[] }).ips[0].address);
    assert.equal(new Set(addrs).size, PODS, 'no address twice');
    podNs.forEach((ns, i) =>
      assert.match(ip('-n', ns, '-o', 'addr', 'show', 'dev', 'eth0'), new RegExp(`inet ${addrs[i].replace(/\./g, '\\.')}`)),
    );
    assert.equal(podVeths(), PODS, 'one pod veth per pod on the node');

    const dels = await Promise.all(podNs.map((_, i) => run('switchyard', lab, cni('DEL', i), conf())));
    dels.forEach((r, i) => assert.equal(r.code, 0, `DEL ${i}: ${r.stdout}${r.stderr}`));
    assert.equal((await invariant()).size, 0, 'no endpoint left');
    const c = loadIpamConfig(conf(), '');
    assert.deepEqual(new DiskStore(c.dataDir, c.name, false).list(), [], 'no reservation left');
    assert.equal(podVeths(), 0, 'no veth left on the node');
    for (const ns of podNs) assert.doesNotMatch(ip('-n', ns, '-o', 'link'), /eth0/);
  });
});
