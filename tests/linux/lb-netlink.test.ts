/**
 * Load-balancer changes sent as nf_tables netlink batches (lb-nft.ts diffBatch, nftnl/) against the same
 * changes as nft text through libnftables (diffText): after each step of a sequence of LB changes, two
 * namespaces, one fed each way, list the same `ip switchyard-lb` table (handles aside). A batch the kernel
 * refuses changes nothing and names the object it refused. Root; own namespaces, removed afterwards.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { LoadBalancerDistribution, LoadBalancerPortMappingFlags } from '../../src/hns';
import type { HostComputeLoadBalancer } from '../../src/hns';
import {
  diffBatch,
  diffLb,
  diffText,
  fullTableText,
  LB_TABLE,
  realizeLoadBalancer,
  type LbBackend,
  type RealizedLb,
} from '../../src/dataplane/linux/lb-nft';
import { applyRuleset } from '../../src/dataplane/linux/nft';
import { NftBatch } from '../../src/dataplane/linux/nftnl/batch';
import { NftnlError, nftnlBatchesSent, sendBatch } from '../../src/dataplane/linux/nftnl/socket';
import { NFPROTO_IPV4, NFT_MSG } from '../../src/dataplane/linux/nftnl/wire';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab } from '../../src/lab/netns-driver';
import { canRunNetns, get, serve, uniquePrefix } from './helpers/lab';

const A = '53575944-0000-5000-8000-00000000000a';
const B = '53575944-0000-5000-8000-00000000000b';
const C = '53575944-0000-5000-8000-00000000000c';
const be = (n: number, remote = false): LbBackend => ({ ip: `10.244.${remote ? 2 : 1}.${n}`, remote });

const clusterIp = (): HostComputeLoadBalancer => ({
  FrontendVIPs: ['10.96.0.10'],
  PortMappings: [
    { Protocol: 6, InternalPort: 8080, ExternalPort: 80 },
    { Protocol: 17, InternalPort: 53, ExternalPort: 53 },
  ],
});
const nodePort = (affinity: boolean, port = 30080): HostComputeLoadBalancer => ({
  PortMappings: [
    {
      Protocol: 6,
      InternalPort: 8080,
      ExternalPort: port,
      Flags: LoadBalancerPortMappingFlags.LocalRoutedVIP,
      ...(affinity ? { DistributionType: LoadBalancerDistribution.SourceIP } : {}),
    },
  ],
});
const externalIp = (): HostComputeLoadBalancer => ({
  FrontendVIPs: ['192.0.2.7'],
  PortMappings: [{ Protocol: 6, InternalPort: 8443, ExternalPort: 443, Flags: LoadBalancerPortMappingFlags.VipExternalIP }],
});

const D = '53575944-0000-5000-8000-00000000000d';

type Step = [what: string, changes: Record<string, [HostComputeLoadBalancer, LbBackend[]] | undefined>];
// A (ClusterIP, TCP and UDP) and D (NodePort, local backends) are backend-map LBs: their backend changes are map
// elements only, old ranges deleted and new ones added in one batch (2 → 1 → 2 → 3 → 0 without overlap errors).
const STEPS: Step[] = [
  ['add a ClusterIP service with no backend (reject)', { [A]: [clusterIp(), []] }],
  ['0 → 1 backend', { [A]: [clusterIp(), [be(5)]] }],
  ['1 → 2 backends', { [A]: [clusterIp(), [be(5), be(6)]] }],
  ['2 → 3 backends, one remote', { [A]: [clusterIp(), [be(5), be(6), be(7, true)]] }],
  ['an endpoint removed (3 → 2)', { [A]: [clusterIp(), [be(5), be(7, true)]] }],
  ['2 → 1', { [A]: [clusterIp(), [be(6)]] }],
  ['1 → 2 (the same first backend)', { [A]: [clusterIp(), [be(6), be(5)]] }],
  ['2 → 3', { [A]: [clusterIp(), [be(6), be(5), be(7)]] }],
  ['3 → 0', { [A]: [clusterIp(), []] }],
  ['0 → 3', { [A]: [clusterIp(), [be(5), be(6), be(7, true)]] }],
  [
    'a NodePort service with affinity, and an external IP service',
    { [B]: [nodePort(true), [be(5), be(8, true)]], [C]: [externalIp(), [be(9, true)]] },
  ],
  ['affinity off', { [B]: [nodePort(false), [be(5), be(8, true)]] }],
  ['affinity on again, 3 backends', { [B]: [nodePort(true), [be(5), be(6), be(8, true)]] }],
  ['a NodePort service with local backends only (backend map)', { [D]: [nodePort(false, 30081), [be(5), be(6)]] }],
  ['its affinity on (per-endpoint chains)', { [D]: [nodePort(true, 30081), [be(5), be(6)]] }],
  ['and off again (backend map)', { [D]: [nodePort(false, 30081), [be(5), be(6)]] }],
  ['a remote backend on the NodePort (per-endpoint chains, masquerade mark)', { [D]: [nodePort(false, 30081), [be(5), be(8, true)]] }],
  ['the remote backend gone (backend map)', { [D]: [nodePort(false, 30081), [be(5)]] }],
  ['two services in one change: 3 → 1 backend and 1 → 0', { [A]: [clusterIp(), [be(7, true)]], [C]: [externalIp(), []] }],
  ['1 → 0 backends', { [A]: [clusterIp(), []] }],
  ['delete the ClusterIP and NodePort services', { [A]: undefined, [B]: undefined, [D]: undefined }],
  ['delete the last one', { [C]: undefined }],
];

describe('linux load balancers: nf_tables netlink batches', function () {
  this.timeout(60000);
  const names: string[] = [];
  let viaText: string;
  let viaNetlink: string;
  const path = (n: string) => `/var/run/netns/${n}`;

  function table(name: string): unknown {
    const doc = JSON.parse(execFileSync('ip', ['netns', 'exec', name, 'nft', '-j', 'list', 'table', 'ip', LB_TABLE]).toString()) as {
      nftables: Array<Record<string, unknown>>;
    };
    const strip = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(strip)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .filter(([k]) => k !== 'handle')
                .map(([k, x]) => [k, strip(x)]),
            )
          : v;
    return strip(doc.nftables.filter((o) => !('metainfo' in o)));
  }

  before(function () {
    if (!canRunNetns()) this.skip();
    viaText = uniquePrefix('sylbt');
    viaNetlink = uniquePrefix('sylbn');
    for (const n of [viaText, viaNetlink]) {
      execFileSync('ip', ['netns', 'add', n]);
      names.push(n);
      applyRuleset(path(n), fullTableText([]));
    }
  });
  after(() => {
    for (const n of names) execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  });

  it('every step of a sequence of LB changes leaves the same table as the nft text transaction', () => {
    const realized: Record<string, RealizedLb> = {};
    let seen = '';
    for (const [what, changes] of STEPS) {
      const after: Record<string, RealizedLb | undefined> = {};
      for (const [id, c] of Object.entries(changes)) after[id] = c ? realizeLoadBalancer(id, c[0], c[1]) : undefined;
      const before = Object.fromEntries(
        Object.keys(after)
          .filter((k) => realized[k])
          .map((k) => [k, realized[k]]),
      );
      applyRuleset(path(viaText), diffText(before, after, true));
      const batch = diffBatch(diffLb(before, after)!);
      // A backend change of a backend-map LB is map elements only: no rule, no verdict (no table validation).
      if (Object.keys(after).length === 1 && before[A]?.maps?.length && after[A]?.maps?.length)
        assert.ok(batch.messages.length && batch.messages.every((m) => m.msg === NFT_MSG.NEWSETELEM || m.msg === NFT_MSG.DELSETELEM), what);
      sendBatch(path(viaNetlink), batch);
      const listed = table(viaText);
      assert.deepEqual(table(viaNetlink), listed, `after "${what}"`);
      seen += JSON.stringify(listed);
      for (const [k, r] of Object.entries(after)) {
        if (r) realized[k] = r;
        else delete realized[k];
      }
    }
    // The sequence went through every form of rule the table has (not a vacuous comparison).
    for (const form of [
      '"numgen"',
      '"vmap"',
      '"reject"',
      '"dnat"',
      '"mangle"',
      '"op":"update"',
      '"timeout":10800',
      '"goto"',
      '"flags":["interval"]',
      '"data":"@be-',
      '{"range":[21846,43690]}',
    ])
      assert.ok(seen.includes(form), `the steps never produced ${form}`);
    assert.ok(!JSON.stringify(table(viaText)).includes('"ep-'), 'every endpoint chain is gone at the end');
    assert.ok(!JSON.stringify(table(viaText)).includes('"be-'), 'every backend map is gone at the end');
  });

  it('a large transaction (2,000 LBs, megabytes) goes as one datagram and is applied whole', () => {
    const after: Record<string, RealizedLb> = {};
    for (let i = 0; i < 2000; i++) {
      const id = `53575944-0000-5000-8001-${String(i).padStart(12, '0')}`;
      after[id] = realizeLoadBalancer(
        id,
        { FrontendVIPs: [`10.97.${i >> 8}.${i & 255}`], PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }] },
        [be(5), be(6)],
      );
    }
    const batch = diffBatch(diffLb({}, after)!);
    assert.ok(batch.encode(1).length > 1 << 20, 'the batch is over 1 MB');
    sendBatch(path(viaNetlink), batch);
    const map = execFileSync('ip', ['netns', 'exec', viaNetlink, 'nft', 'list', 'map', 'ip', LB_TABLE, 'service-ips']).toString();
    assert.equal(map.match(/10\.97\./g)?.length, 2000);
    sendBatch(path(viaNetlink), diffBatch(diffLb(after, Object.fromEntries(Object.keys(after).map((k) => [k, undefined])))!));
    assert.doesNotMatch(
      execFileSync('ip', ['netns', 'exec', viaNetlink, 'nft', 'list', 'table', 'ip', LB_TABLE]).toString(),
      /10\.97\.|8001/,
    );
  });

  it('a refused batch changes nothing and names the refused object with the errno', () => {
    const lb = realizeLoadBalancer(A, clusterIp(), [be(5), be(6)]);
    sendBatch(path(viaNetlink), diffBatch(diffLb({}, { [A]: lb })!));
    const before = table(viaNetlink);
    const b = new NftBatch(NFPROTO_IPV4, LB_TABLE);
    b.newChain('svc-refused');
    b.appendRule('svc-refused', 'goto ep-does-not-exist');
    b.addElement('service-ips', '10.96.9.9 . tcp . 80', 'goto svc-refused');
    assert.throws(
      () => sendBatch(path(viaNetlink), b),
      (e: Error) =>
        e instanceof NftnlError &&
        e.code === 'ENOENT' &&
        e.op === 'NFT_MSG_NEWRULE' &&
        e.message.includes('rule "goto ep-does-not-exist" in chain svc-refused') &&
        e.message.includes(LB_TABLE),
    );
    assert.deepEqual(table(viaNetlink), before);
  });

  it('the socket kept between batches never carries a batch into a namespace deleted and made again under its name', () => {
    const again = uniquePrefix('sylbr');
    execFileSync('ip', ['netns', 'add', again]);
    names.push(again);
    applyRuleset(path(again), fullTableText([]));
    const chainIn = (n: string) =>
      execFileSync('ip', ['netns', 'exec', n, 'nft', 'list', 'table', 'ip', LB_TABLE]).toString().includes('chain svc-kept');
    const b = new NftBatch(NFPROTO_IPV4, LB_TABLE);
    b.newChain('svc-kept');
    sendBatch(path(again), b); // the socket is now kept for that path
    assert.ok(chainIn(again));
    execFileSync('ip', ['netns', 'del', again]);
    execFileSync('ip', ['netns', 'add', again]);
    applyRuleset(path(again), fullTableText([]));
    sendBatch(path(again), b);
    assert.ok(chainIn(again), 'the batch reached the namespace now named so, not the deleted one');
  });
});

describe('linux data plane: load-balancer changes go to the kernel as netlink batches (traffic)', function () {
  this.timeout(120000);
  let lab: NetnsLab | undefined;
  const servers: ChildProcess[] = [];
  let ids: Map<string, string>;

  before(async function () {
    if (!canRunNetns()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('sylbd'), nodes: 1, podsPerNode: 4, type: 'L2Bridge' });
    try {
      lab.underlay();
      for (const n of lab.plan.nodes) lab.exec(n.name, ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0']);
      await lab.network();
      ids = await lab.pods();
      for (const p of lab.plan.nodes[0].pods.slice(1)) servers.push(await serve(p.name, 8080, p.name));
    } catch (e) {
      await lab.down();
      throw e;
    }
  });
  after(async () => {
    for (const s of servers) s.kill();
    await lab?.down();
  });

  it('each modify (1 → 2 → 3 → 1 → 0 backends) is one batch; a pod reaches every backend the LB names; with none, the connection is refused', async () => {
    const { dp } = lab!.runtimes[0];
    const [client, ...backends] = lab!.plan.nodes[0].pods;
    const names = backends.map((p) => p.name);
    const doc = (pods: string[]) => ({
      HostComputeEndpoints: pods.map((p) => ids.get(p)!),
      FrontendVIPs: ['10.96.0.20'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
    });
    const answers = (n: number) => new Set(Array.from({ length: n }, () => get(client.name, '10.96.0.20', 80)?.split(' ')[0]));
    // Connects until every expected backend answered (random choice: no fixed count is certain, 60 tries make a miss
    // of one of three backends a 1-in-10^10 event); what answered is compared, never how fast.
    const reached = (want: string[]) => {
      let seen = new Set<string | undefined>();
      for (let i = 0; i < 60 && ![...want].every((w) => seen.has(w)); i++) seen = new Set([...seen, ...answers(1)]);
      return [...seen].sort();
    };
    const lb = await dp.createLoadBalancer(doc([names[0]]));
    assert.deepEqual([...answers(3)], [names[0]]);
    const sent = nftnlBatchesSent();
    await dp.modifyLoadBalancer(lb.ID!, doc(names.slice(0, 2)));
    assert.equal(nftnlBatchesSent(), sent + 1);
    assert.deepEqual(reached(names.slice(0, 2)), names.slice(0, 2).sort());
    await dp.modifyLoadBalancer(lb.ID!, doc(names));
    assert.equal(nftnlBatchesSent(), sent + 2);
    assert.deepEqual(reached(names), [...names].sort());
    await dp.modifyLoadBalancer(lb.ID!, doc([names[1]]));
    assert.equal(nftnlBatchesSent(), sent + 3);
    assert.deepEqual([...answers(5)], [names[1]]);
    // No backend: the map lookup misses and the connection is refused (a TCP reset), not left to time out.
    await dp.modifyLoadBalancer(lb.ID!, doc([]));
    assert.equal(nftnlBatchesSent(), sent + 4);
    assert.equal(connectError(client.name, '10.96.0.20', 80), 'ECONNREFUSED');
    await dp.modifyLoadBalancer(lb.ID!, doc([names[2]]));
    assert.deepEqual([...answers(3)], [names[2]]);
    // The last LB deleted: the table goes with it (text, `delete table`).
    await dp.deleteLoadBalancer(lb.ID!);
    assert.deepEqual([...answers(1)], [undefined]);
  });
});

/** The error code of a TCP connection attempt from namespace `ns` ("connected" when it succeeds). */
function connectError(ns: string, host: string, port: number): string {
  const script =
    "const s=require('net').connect(+process.argv[2],process.argv[1]);s.setTimeout(3000,()=>{console.log('ETIMEDOUT');process.exit(0)});" +
    "s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)});";
  return execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script, host, String(port)])
    .toString()
    .trim();
}
