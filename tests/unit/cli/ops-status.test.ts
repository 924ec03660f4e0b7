/** switchyard status: from the data plane alone, and from an agent answering on its local API; problems and exit codes. */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { startApiServer } from '../../../src/agent/api/server';
import type { ApiServer } from '../../../src/agent/api/types';
import type { AgentStatus } from '../../../src/agent/agent';
import { AgentMetrics, cniSummary, histogramQuantile } from '../../../src/agent/metrics';
import { CliSandbox } from './helpers';

const RSR = (prefix: string, vni: number, pa: string) =>
  JSON.stringify({
    Type: 'RemoteSubnetRoute',
    Settings: { DestinationPrefix: prefix, IsolationId: vni, ProviderAddress: pa, DistributedRouterMacAddress: '00-15-5D-BB-6E-C2' },
  });

describe('cli: status', function () {
  this.timeout(60_000);

  describe('from the data plane (no agent)', () => {
    const sb = new CliSandbox();
    const socket = () => path.join(sb.dir, 'none.sock');
    after(() => sb.cleanup());

    it('a healthy overlay node: networks, peers with their path, LB count; exit 0', () => {
      sb.ok(['network', 'create', '--type', 'Overlay', '--name', 'vxlan0', '--subnet', '10.244.1.0/24', '--adapter', 'eth0']);
      sb.ok(['network', 'policy', 'add', 'vxlan0', '--policy', RSR('10.244.5.0/24', 4096, '192.168.0.11')]);
      sb.ok(['endpoint', 'create', '--network', 'vxlan0', '--name', 'pod1']);
      sb.ok(['lb', 'create', '--vip', '10.96.0.10', '--protocol', 'udp', '--port', '53', '--target-port', '53', '--endpoint', 'pod1']);
      const r = sb.run(['status', '--socket', socket()]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /vxlan0 {2}Overlay {2}10\.244\.1\.0\/24 {2}VNI 4096/);
      assert.match(r.stdout, /10\.244\.5\.0\/24 {2}programmed {2}vxlan vni 4096 via 192\.168\.0\.11/);
      assert.match(r.stdout, /Load balancers: 1/);
      assert.match(r.stdout, /no agent answers on .*none\.sock/);
      const j = JSON.parse(sb.ok(['status', '--socket', socket(), '-o', 'json']));
      assert.equal(j.source, 'dataplane');
      assert.equal(j.ok, true);
      assert.deepEqual(j.problems, []);
      assert.equal(j.loadBalancers, 1);
      assert.equal(j.endpoints, 1);
    });

    it('a peer with another VNI is a problem with its hint; exit 1 (yaml too)', () => {
      sb.ok(['network', 'policy', 'add', 'vxlan0', '--policy', RSR('10.244.7.0/24', 4097, '10.0.0.7')]);
      const r = sb.run(['status', '--socket', socket()]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /ERROR {2}peer 10\.0\.0\.7 \(10\.244\.7\.0\/24\) has VNI 4097, this node 4096/);
      assert.match(r.stdout, /hint: peer 10\.0\.0\.7 has VNI 4097, this node 4096/);
      const y = sb.run(['status', '--socket', socket(), '-o', 'yaml']);
      assert.equal(y.code, 1);
      assert.match(y.stdout, /^ok: false$/m);
    });

    it('an overlapping peer route and a load balancer with a missing backend are reported', () => {
      sb.ok(['network', 'policy', 'add', 'vxlan0', '--policy', RSR('10.244.1.128/25', 4096, '10.0.0.8')]);
      const j = JSON.parse(sb.run(['status', '--socket', socket(), '-o', 'json']).stdout);
      const msgs = j.problems.map((p: { message: string }) => p.message).join('\n');
      assert.match(msgs, /peer route 10\.244\.1\.128\/25 via 10\.0\.0\.8 overlaps this node's subnet 10\.244\.1\.0\/24/);
      for (const p of j.problems) assert.ok(p.hint.length > 10, `hint for ${p.message}`);
    });
  });

  describe('from an agent on its local API', () => {
    const sb = new CliSandbox();
    let server: ApiServer | undefined;
    const socket = path.join(sb.dir, 'run', 'agent.sock');
    let status: AgentStatus;
    before(async () => {
      sb.ok(['network', 'create', '--type', 'Overlay', '--name', 'flannel.4096', '--subnet', '10.244.2.0/24', '--adapter', 'eth0']);
      sb.ok(['network', 'policy', 'add', 'flannel.4096', '--policy', RSR('10.244.3.0/24', 4096, '192.168.0.13')]);
      const metrics = new AgentMetrics();
      for (let i = 0; i < 18; i++) metrics.recordCniCall('ADD', 'ok', 0.02);
      metrics.recordCniCall('ADD', 'error', 0.4);
      metrics.recordCniCall('DEL', 'ok', 0.004);
      status = {
        node: 'win-1',
        subnetSource: 'kubernetes',
        subnet: '10.244.2.0/24',
        backend: { type: 'vxlan', vni: 4096, port: 4789 },
        network: { name: 'flannel.4096', type: 'Overlay', ready: true },
        hostEndpoint: { name: 'cbr0_ep', ip: '10.244.2.2', id: 'E1', ready: true },
        sourceVip: { ip: '10.244.2.3', endpoint: 'source_vip', id: 'E2' },
        cniConfig: { file: '/etc/cni/net.d/10-flannel.conflist', written: true },
        peers: [
          { node: 'linux-1', subnet: '10.244.3.0/24', publicIp: '192.168.0.13', state: 'programmed' },
          {
            node: 'linux-2',
            subnet: '10.244.4.0/24',
            publicIp: '10.0.0.7',
            state: 'refused',
            reason: "VNI 4097 differs from this node's 4096",
          },
        ],
        lastReconcile: {
          reason: 'periodic',
          at: '2026-11-29T20:00:00.000Z',
          durationMs: 12,
          steps: ['modify Network/flannel.4096'],
          repairs: ['x'],
        },
        reconciles: 3,
        problems: ["peer linux-2 refused: VNI 4097 differs from this node's 4096"],
        ready: true,
        missing: [],
        driftRepairs: 2,
        cni: await cniSummary(metrics),
      };
      server = await startApiServer({
        socketPath: socket,
        handlers: { status: async () => status, cni: async () => ({ ok: true, stdout: '', stderr: '', exitCode: 0 }) },
      });
    });
    after(async () => {
      await server?.close();
      sb.cleanup();
    });

    it('prints node, subnet and source, host and source-VIP endpoints, peers by name, reconcile, repairs, CNI figures; exit 1 for the refused peer', async () => {
      const r = await sb.runAsync(['status', '--socket', socket]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /Node: +win-1/);
      assert.match(r.stdout, /Subnet: +10\.244\.2\.0\/24 \(from kubernetes\)/);
      assert.match(r.stdout, /host {2}cbr0_ep {2}10\.244\.2\.2/);
      assert.match(r.stdout, /source-vip {2}source_vip {2}10\.244\.2\.3/);
      assert.match(r.stdout, /linux-1 {2}10\.244\.3\.0\/24 {2}programmed {2}vxlan vni 4096 via 192\.168\.0\.13/);
      assert.match(r.stdout, /linux-2 {2}10\.244\.4\.0\/24 {2}refused/);
      assert.match(r.stdout, /hint: peer 10\.0\.0\.7 has VNI 4097, this node 4096/);
      assert.match(r.stdout, /Drift repairs: +2/);
      assert.match(r.stdout, /CNI calls: +20 \(ADD 19, DEL 1\), 1 errors, p50 [\d.]+ ms, p95 [\d.]+ ms/);
      const j = JSON.parse((await sb.runAsync(['status', '--socket', socket, '-o', 'json'])).stdout);
      assert.equal(j.source, 'agent');
      assert.equal(j.cni.calls, 20);
      assert.equal(j.cni.errors, 1);
      assert.ok(j.cni.p50Ms > 10 && j.cni.p50Ms <= 25, String(j.cni.p50Ms));
      assert.equal(j.lastReconcile.steps, 1);
      assert.equal(j.problems.filter((p: { message: string }) => /linux-2/.test(p.message)).length, 1, 'one report per refused peer');
    });

    it('--no-agent reads the data plane only', async () => {
      const r = await sb.runAsync(['status', '--socket', socket, '--no-agent', '-o', 'json']);
      assert.equal(r.code, 0, r.stdout);
      assert.equal(JSON.parse(r.stdout).source, 'dataplane');
    });
  });

  it('histogramQuantile interpolates inside the bucket as Prometheus does', () => {
    assert.equal(histogramQuantile(0.5, []), undefined);
    assert.equal(
      histogramQuantile(0.5, [
        [0.1, 10],
        [Infinity, 10],
      ]),
      0.05,
    );
    assert.equal(
      histogramQuantile(0.95, [
        [0.1, 0],
        [1, 0],
        [Infinity, 4],
      ]),
      1,
    );
  });
});
