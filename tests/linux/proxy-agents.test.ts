/**
 * `switchyard agent --proxy` end to end: two host-gw agents in network namespaces read Services and
 * EndpointSlices from the fake API server and realize them in nftables through the linux data plane. Observed
 * with real connections: pod → ClusterIP (TCP, UDP) to a backend on the other node, node → NodePort, ClientIP
 * affinity, externalTrafficPolicy Local, a backend removed from its slice, and an nft element deleted out of
 * band coming back (counted in /metrics).
 */
import * as assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { NetnsLab } from '../../src/lab/netns-driver';
import type { LabNode } from '../../src/lab/spec';
import { FakeApiServer, writeKubeconfig } from '../fixtures/fake-apiserver';
import { canRunNetns, get, serve, uniquePrefix } from './helpers/lab';
import { haveCniBin, runCni } from './helpers/cni';
import { writeAgentConfig } from './helpers/agent-config';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

/** Runs in a pod: `udp-serve <port> <name>` answers each datagram with the name; `clients` makes connections. */
const PEER = `
const [mode, a, b, c, d] = process.argv.slice(1);
if (mode === 'udp-serve') {
  const s = require('dgram').createSocket('udp4');
  s.on('message', (m, r) => s.send(b, r.port, r.address));
  s.bind(Number(a), '0.0.0.0', () => process.stdout.write('ready\\n'));
} else if (mode === 'udp-get') {
  const s = require('dgram').createSocket('udp4');
  const t = setTimeout(() => process.exit(1), 2000);
  s.on('message', (m) => { clearTimeout(t); process.stdout.write(m.toString() + '\\n'); process.exit(0); });
  s.send('hi', Number(b), a);
} else if (mode === 'tcp-many') {
  // <host> <port> <count or 0> <ms>: sequential connections, one "<start ms> <answer>" line each.
  const net = require('net');
  const count = Number(c), until = Date.now() + Number(d);
  let n = 0;
  const one = () => {
    if ((count && n >= count) || (!count && Date.now() > until)) return;
    n++;
    const t0 = Date.now();
    let out = '';
    const s = net.connect({ host: a, port: Number(b) });
    s.setTimeout(1000, () => s.destroy());
    s.on('data', (x) => (out += x));
    // Paced in the timed mode: thousands of back-to-back connections reuse source ports whose conntrack
    // entries (TIME_WAIT) still hold the old backend.
    s.on('close', () => { process.stdout.write(t0 + ' ' + (out.split(' ')[0] || '-') + '\\n'); setTimeout(one, count ? 0 : 20); });
    s.on('error', () => undefined);
  };
  one();
}`;

interface NodeAgent {
  node: LabNode;
  dir: string;
  child?: ChildProcess;
  out: string;
}

async function waitFor<T>(probe: () => T | undefined | false, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('linux: agents with --proxy (services in nftables, fed by the fake API server)', function () {
  this.timeout(180_000);
  let lab: NetnsLab;
  let api: FakeApiServer;
  const agents: NodeAgent[] = [];
  const pods: { ns: string; ip: string; node: LabNode }[] = [];
  const servers: ChildProcess[] = [];

  const run = (ns: string, args: string[], timeout = 10_000): string => {
    try {
      return execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', PEER, ...args], {
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout,
      })
        .toString()
        .trim();
    } catch (e) {
      return ((e as { stdout?: Buffer }).stdout?.toString() ?? '').trim();
    }
  };
  const many = (ns: string, host: string, port: number, count: number, ms = 0) =>
    run(ns, ['tcp-many', host, String(port), String(count), String(ms)], 60_000)
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [t, name] = l.split(' ');
        return { t: Number(t), name };
      });
  const nodeIp = (i: number) => lab.plan.nodes[i].underlayIp;
  /**
   * Waits until node `i`'s proxy has the frontend in the kernel: `<VIP> . <proto> . <port>` in `service-ips`, or
   * `<proto> . <port>` in `service-nodeports`. Every case connects only after this. The probes (`get`, `many`) run
   * synchronously in this process, which also serves the fake API server: a probe started right after
   * `api.create` runs before the agents even hear of the Service, so its SYNs go out un-NATed (toward the default
   * route, nowhere) and each leaves an UNREPLIED conntrack entry for its source port (nf_conntrack_tcp_timeout_syn_sent,
   * 120 s). A later connection from the pod that gets one of those source ports to the same frontend matches that
   * entry, is never NATed, and hangs until the client gives up: the drain case lost connections made after the
   * update to this (printed "-"), in ~1 run of 4, whenever its ~150 connections crossed a port its first probe used.
   */
  const realized = (i: number, map: 'service-ips' | 'service-nodeports', frontend: string) =>
    waitFor(() => {
      try {
        return lab.exec(lab.plan.nodes[i].name, ['nft', 'list', 'map', 'ip', 'switchyard-lb', map]).includes(frontend);
      } catch {
        return false; // the table is not there yet
      }
    }, `${frontend} in ${map} of ${lab.plan.nodes[i].name}`);

  const slice = (svc: string, name: string, backends: typeof pods, ports: { name: string; port: number; protocol: string }[]) => ({
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: backends.map((p) => ({ addresses: [p.ip], conditions: { ready: true }, nodeName: p.node.name })),
    ports,
  });
  const service = (name: string, spec: Record<string, unknown>) => ({ metadata: { name, namespace: 'default' }, spec });
  const metrics = async (a: NodeAgent): Promise<string> => {
    const addr = /"metrics":"([^"]+)"/.exec(a.out)![1];
    return new Promise((resolve, reject) =>
      http
        .get(`http://${addr}/metrics`, (res) => {
          let t = '';
          res.on('data', (d) => (t += d));
          res.on('end', () => resolve(t));
        })
        .on('error', reject),
    );
  };

  before(async function () {
    if (!canRunNetns() || !haveCniBin()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('sypx'), nodes: 2, podsPerNode: 0, type: 'L2Bridge' });
    api = new FakeApiServer();
    try {
      lab.underlay();
      // The switch namespace becomes a router outside the cluster (<underlay>.1): the client of node ports.
      lab.external();
      const url = await api.start();
      const kubeconfig = writeKubeconfig(path.join(lab.stateDir, 'kubeconfig'), url);
      for (const node of lab.plan.nodes) {
        const { dir, config } = writeAgentConfig(lab, node, {
          backend: 'host-gw',
          metricsAddress: '127.0.0.1:0',
          extra: (d) => [
            `kubeconfig: ${kubeconfig}`,
            `proxy: {enabled: true, resyncSeconds: 1, coalesceMs: 10, ownershipFile: ${d}/proxy-owned.json}`,
          ],
        });
        const a: NodeAgent = { node, dir, out: '' };
        a.child = spawn(process.execPath, [MAIN, '--dataplane', 'linux', 'agent', '--config', config], {
          env: { ...lab.nodeEnv(node), NODE_EXTRA_CA_CERTS: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        a.child.stdout!.on('data', (d) => (a.out += d));
        a.child.stderr!.on('data', (d) => (a.out += d));
        agents.push(a);
      }
      for (const a of agents) await waitFor(() => /"agent ready"/.test(a.out), `agent ${a.node.name} ready:\n${a.out}`);
      assert.match(agents[0].out, /service proxy started/);
      // Two pods per node, each answering TCP 8080 and UDP 5353 with its name.
      for (const a of agents) {
        const conflist = JSON.parse(fs.readFileSync(path.join(a.dir, 'net.d', '10-switchyard.conflist'), 'utf8'));
        const conf = { cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0] };
        for (let i = 0; i < 2; i++) {
          const ns = `${a.node.name}-p${i}`;
          const r = runCni(lab, a.node, 'switchyard', 'ADD', conf, { containerId: `c-${ns}`, netns: lab.addNetns(ns) });
          assert.equal(r.code, 0, r.out + r.err);
          pods.push({ ns, ip: JSON.parse(r.out).ips[0].address.split('/')[0] as string, node: a.node });
          servers.push(await serve(ns, 8080, ns));
          const udp = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', PEER, 'udp-serve', '5353', ns], {
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          servers.push(udp);
          await new Promise((r) => udp.stdout!.once('data', r));
        }
      }
    } catch (e) {
      for (const a of agents) a.child?.kill('SIGKILL');
      await api.close().catch(() => undefined);
      await lab.down();
      throw e;
    }
  });

  after(async () => {
    for (const s of servers) s.kill();
    for (const a of agents) {
      const c = a.child;
      if (!c || c.exitCode !== null || c.signalCode !== null) continue;
      const done = new Promise((r) => c.once('close', r));
      c.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      c.kill('SIGKILL');
    }
    await api?.close().catch(() => undefined);
    await lab?.down();
  });

  const [A0, A1, B0, B1] = [0, 1, 2, 3];

  it('pod → ClusterIP reaches a backend on the other node, over TCP and UDP', async () => {
    const ports = [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'dns', port: 5353, protocol: 'UDP' },
    ];
    api.create(
      'services',
      service('web', {
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
          { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' },
        ],
      }),
    );
    api.create('endpointslices', slice('web', 'web-1', [pods[B0]], ports), 'discovery.k8s.io');
    await realized(0, 'service-ips', '10.96.0.10 . tcp . 80');
    await realized(0, 'service-ips', '10.96.0.10 . udp . 53');
    const answer = await waitFor(() => get(pods[A0].ns, '10.96.0.10', 80), 'ClusterIP TCP answer');
    assert.equal(answer, `${pods[B0].ns} ${pods[A0].ip}`);
    assert.equal(run(pods[A0].ns, ['udp-get', '10.96.0.10', '53']), pods[B0].ns);
  });

  it('node → NodePort on its own address reaches the backend on the other node', async () => {
    api.create(
      'services',
      service('np', {
        type: 'NodePort',
        clusterIP: '10.96.0.12',
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }],
      }),
    );
    api.create('endpointslices', slice('np', 'np-1', [pods[B1]], [{ name: 'http', port: 8080, protocol: 'TCP' }]), 'discovery.k8s.io');
    await realized(0, 'service-nodeports', 'tcp . 30080');
    const answer = await waitFor(() => get(lab.plan.nodes[0].name, nodeIp(0), 30080), 'NodePort answer on node A');
    assert.match(answer, new RegExp(`^${pods[B1].ns} `));
    // From outside the cluster (the switch namespace) too, masqueraded to node A toward the remote backend.
    assert.equal(get(lab.plan.switchNs, nodeIp(0), 30080), `${pods[B1].ns} ${nodeIp(0)}`);
  });

  it('ClientIP affinity keeps one backend over 50 connections', async () => {
    api.create(
      'services',
      service('sticky', {
        clusterIP: '10.96.0.11',
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      }),
    );
    api.create(
      'endpointslices',
      slice('sticky', 'sticky-1', [pods[A1], pods[B0], pods[B1]], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
      'discovery.k8s.io',
    );
    await realized(0, 'service-ips', '10.96.0.11 . tcp . 80');
    await waitFor(() => get(pods[A0].ns, '10.96.0.11', 80), 'affinity service answer');
    const seen = many(pods[A0].ns, '10.96.0.11', 80, 50);
    assert.equal(seen.length, 50);
    assert.equal(new Set(seen.map((s) => s.name)).size, 1, seen.map((s) => s.name).join(','));
    assert.notEqual(seen[0].name, '-');
  });

  it('externalTrafficPolicy Local answers only on the node with a local endpoint', async () => {
    api.create(
      'services',
      service('local', {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        clusterIP: '10.96.0.13',
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30090 }],
      }),
    );
    api.create(
      'endpointslices',
      slice('local', 'local-1', [pods[B0]], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
      'discovery.k8s.io',
    );
    await realized(1, 'service-nodeports', 'tcp . 30090');
    const answer = await waitFor(() => get(lab.plan.switchNs, nodeIp(1), 30090), 'ETP Local answer on node B');
    // The client's own address is kept (no masquerade toward a local endpoint).
    assert.match(answer, new RegExp(`^${pods[B0].ns} (?!${nodeIp(1).replace(/\./g, '\\.')}$)`));
    assert.equal(get(lab.plan.switchNs, nodeIp(0), 30090), undefined);
  });

  it('a backend removed from the slice gets no new connection 1 s after the update', async () => {
    const ports = [{ name: 'http', port: 8080, protocol: 'TCP' }];
    api.create(
      'services',
      service('drain', { clusterIP: '10.96.0.14', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] }),
    );
    api.create('endpointslices', slice('drain', 'drain-1', [pods[B0], pods[B1]], ports), 'discovery.k8s.io');
    await realized(0, 'service-ips', '10.96.0.14 . tcp . 80');
    await waitFor(() => {
      const names = new Set(many(pods[A0].ns, '10.96.0.14', 80, 12).map((s) => s.name));
      return names.has(pods[B0].ns) && names.has(pods[B1].ns);
    }, 'both backends answering');
    const client = spawn('ip', ['netns', 'exec', pods[A0].ns, process.execPath, '-e', PEER, 'tcp-many', '10.96.0.14', '80', '0', '3000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let text = '';
    client.stdout!.on('data', (d) => (text += d));
    const done = new Promise((r) => client.once('close', r));
    await new Promise((r) => setTimeout(r, 300));
    const removedAt = Date.now();
    api.patch(
      'endpointslices',
      'drain-1',
      { endpoints: [{ addresses: [pods[B0].ip], conditions: { ready: true }, nodeName: pods[B0].node.name }] },
      'default',
      'discovery.k8s.io',
    );
    await done;
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ t: Number(l.split(' ')[0]), name: l.split(' ')[1] }));
    const late = lines.filter((l) => l.t >= removedAt + 1000);
    assert.ok(late.length > 0, text);
    assert.deepEqual([...new Set(late.map((l) => l.name))], [pods[B0].ns], text);
  });

  const repaired = (t: string) => Number(/switchyard_proxy_drift_repairs_total\{kind="loadbalancer-missing"\} (\d+)/.exec(t)?.[1] ?? 0);
  /** Waits until the agent's /metrics counts more missing-LB repairs than `before`. */
  async function repairsCounted(a: NodeAgent, before: number): Promise<void> {
    let after = 0;
    for (let i = 0; i < 50 && after <= before; i++) {
      after = repaired(await metrics(a));
      if (after <= before) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(after > before, `drift repairs ${before} → ${after}`);
  }

  it('an nft element deleted out of band is back after the next resync, and counted', async () => {
    const a = agents[0];
    const node = a.node.name;
    const element = () => lab.exec(node, ['nft', 'list', 'map', 'ip', 'switchyard-lb', 'service-ips']).includes('10.96.0.10 . tcp . 80');
    assert.ok(element());
    const before = repaired(await metrics(a));
    lab.exec(node, ['nft', 'delete', 'element', 'ip', 'switchyard-lb', 'service-ips', '{ 10.96.0.10 . tcp . 80 }']);
    assert.ok(!element());
    await waitFor(() => element(), `the element back:\n${a.out.slice(-3000)}`);
    await repairsCounted(a, before);
    assert.match(get(pods[A0].ns, '10.96.0.10', 80) ?? '', new RegExp(`^${pods[B0].ns} `));
    for (const x of agents) assert.equal(x.child?.exitCode, null, x.out);
  });

  it("a Service's backend slot ranges deleted out of band are back after the next resync, and counted", async () => {
    const a = agents[0];
    const node = a.node.name;
    const backendMaps = () =>
      (
        JSON.parse(lab.exec(node, ['nft', '-j', 'list', 'maps', 'ip'])) as {
          nftables: Array<{ map?: { table: string; name: string; elem?: unknown[] } }>;
        }
      ).nftables
        .map((o) => o.map)
        .filter(
          (m): m is { table: string; name: string; elem?: unknown[] } => !!m && m.table === 'switchyard-lb' && m.name.startsWith('be-'),
        );
    const ranges = () => backendMaps().reduce((n, m) => n + (m.elem?.length ?? 0), 0);
    const want = ranges();
    assert.ok(want > 0);
    const before = repaired(await metrics(a));
    for (const m of backendMaps()) lab.exec(node, ['nft', 'flush', 'map', 'ip', 'switchyard-lb', m.name]);
    assert.equal(ranges(), 0);
    await waitFor(() => ranges() === want, `the slot ranges back:\n${a.out.slice(-3000)}`);
    await repairsCounted(a, before);
    assert.match(get(pods[A0].ns, '10.96.0.10', 80) ?? '', new RegExp(`^${pods[B0].ns} `));
    for (const x of agents) assert.equal(x.child?.exitCode, null, x.out);
  });
});
