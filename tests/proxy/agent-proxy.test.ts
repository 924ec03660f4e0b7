/**
 * The agent's `proxy` block and `--proxy` wiring: configuration errors name their field; on the memory and
 * hcn-stub data planes an agent with the proxy turns a Service from the fake API server into the HNS documents
 * (asserted from the call log), one endpoint change into one modifyLoadBalancer, exports the proxy's counters
 * on /metrics, and stops its watches with the agent.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { buildAgentConfig, AgentConfigError } from '../../src/agent/config';
import { FakeApiServer, writeKubeconfig } from '../fixtures/fake-apiserver';
import { AgentLab, HOSTGW_NETCONF, PLANES } from '../agent/helpers';
import { freePort, httpGet } from './helpers';

const base = { node: 'n1', podCIDR: '10.244.1.0/24', netConf: HOSTGW_NETCONF };
const build = (file: Record<string, unknown>, flags: Record<string, unknown> = {}) =>
  buildAgentConfig({ file: { ...base, ...file }, flags, hostname: 'h', platform: 'linux', env: {} });
const problems = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof AgentConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe('agent proxy configuration', () => {
  it('is off by default; --proxy or proxy.enabled turns it on with the defaults', () => {
    assert.equal(build({}).proxy.enabled, false);
    const c = build({ kubeconfig: '/k' }, { proxy: true });
    assert.deepEqual(c.proxy, { enabled: true, resyncSeconds: 60, coalesceMs: 100, enableDSR: false, adoptForeign: false });
    assert.equal(
      build({ subnetSource: 'kubernetes', proxy: { enabled: true, hostMac: '00-15-5d-00-00-01' } }).proxy.hostMac,
      '00-15-5d-00-00-01',
    );
  });

  it('names the field: --kubeconfig for another subnet source, unknown or wrong proxy settings', () => {
    assert.match(
      problems(() => build({}, { proxy: true })).join('\n'),
      /^--kubeconfig: is required with --proxy when the subnet source is static/m,
    );
    const p = problems(() => build({ kubeconfig: '/k', proxy: { enabled: 'yes', resync: 1, hostMac: 'x', coalesceMs: -1 } })).join('\n');
    assert.match(p, /proxy\.enabled: must be true or false/);
    assert.match(p, /proxy\.resync: unknown setting/);
    assert.match(p, /proxy\.hostMac: "x" is not a MAC address/);
    assert.match(p, /proxy\.coalesceMs: must be a number/);
  });
});

for (const plane of PLANES) {
  describe(`agent --proxy on the ${plane.name} data plane`, function () {
    this.timeout(60_000);
    let lab: AgentLab;
    let api: FakeApiServer;

    before(async function () {
      if (!plane.available()) this.skip();
      plane.reset();
      api = new FakeApiServer();
      await api.start();
    });
    after(async () => {
      await lab?.cleanup();
      await api?.close();
    });

    const scrape = (addr: string) =>
      new Promise<string>((resolve, reject) =>
        http
          .get(`http://${addr}/metrics`, (res) => {
            let t = '';
            res.on('data', (d) => (t += d));
            res.on('end', () => resolve(t));
          })
          .on('error', reject),
      );
    const until = async (cond: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(cond(), what);
    };

    it('programs a Service from the API server, modifies on one endpoint change, counts, and stops with the agent', async () => {
      lab = new AgentLab(plane);
      const kubeconfig = writeKubeconfig(path.join(lab.dir, 'kubeconfig'), api.url);
      const slice = (ips: string[]) => ({
        metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'n2' })),
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      });
      api.create('services', {
        metadata: { name: 'web', namespace: 'default' },
        spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
      });
      api.create('endpointslices', slice(['10.244.2.5', '10.244.2.6']), 'discovery.k8s.io');
      const config = lab.config(
        {
          kubeconfig,
          metricsAddress: '127.0.0.1:0',
          proxy: {
            enabled: true,
            coalesceMs: 0,
            resyncSeconds: 0,
            ownershipFile: path.join(lab.dir, 'owned.json'),
            healthCheckAddresses: ['127.0.0.1'],
          },
          cni: { type: 'win-bridge', confDir: path.join(lab.dir, 'net.d'), binDir: '', ipamDataDir: path.join(lab.dir, 'ipam') },
        },
        HOSTGW_NETCONF,
      );
      const from = lab.mark();
      const running = await lab.start(config);
      assert.ok(running.proxy);
      const writes = lab.writes(from);
      const lbs = writes.filter((w) => w.op === 'createLoadBalancer');
      assert.equal(lbs.length, 1, JSON.stringify(writes.map((w) => w.op)));
      const doc = lbs[0].body as { FrontendVIPs?: string[]; PortMappings?: unknown[]; HostComputeEndpoints?: string[] };
      assert.deepEqual(doc.FrontendVIPs, ['10.96.0.10']);
      assert.deepEqual(doc.PortMappings, [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }]);
      assert.equal(doc.HostComputeEndpoints?.length, 2);
      assert.equal(writes.filter((w) => w.op === 'createEndpoint').length >= 2, true);

      const mark = lab.mark();
      api.patch('endpointslices', 'web-1', slice(['10.244.2.5']), 'default', 'discovery.k8s.io');
      await until(() => lab.writes(mark).some((w) => w.op === 'modifyLoadBalancer'), 'a modifyLoadBalancer after the slice change');
      await running.proxy!.proxy.flush();
      const ops = lab.writes(mark).map((w) => w.op);
      assert.deepEqual(
        ops.filter((o) => o.endsWith('LoadBalancer')),
        ['modifyLoadBalancer'],
      );

      // A Service the proxy cannot program as asked: its finding becomes an event about that Service (with the
      // UID `kubectl describe service` selects on), besides the log line and the metric.
      api.create('services', {
        metadata: { name: 'named', namespace: 'default' },
        spec: { clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }] },
      });
      // Pods that name the port "web" on two numbers: one LB has one InternalPort (MixedTargetPorts).
      for (const [n, ip, p] of [
        ['named-1', '10.244.2.7', 8080],
        ['named-2', '10.244.2.8', 9090],
      ] as const)
        api.create(
          'endpointslices',
          {
            metadata: { name: n, namespace: 'default', labels: { 'kubernetes.io/service-name': 'named' } },
            addressType: 'IPv4',
            endpoints: [{ addresses: [ip], conditions: { ready: true }, nodeName: 'n2' }],
            ports: [{ name: 'http', port: p, protocol: 'TCP' }],
          },
          'discovery.k8s.io',
        );
      const namedEvents = () => api.objects('events', 'default', 'events.k8s.io').filter((e) => e.regarding?.name === 'named');
      await until(
        () => namedEvents().length > 0,
        `an event about service default/named: ${JSON.stringify(running.proxy!.events.counts)} ${JSON.stringify(running.proxy!.proxy.counters.findings)}`,
      );
      const ev = namedEvents()[0];
      assert.equal(ev.reason, 'MixedTargetPorts');
      assert.equal(ev.type, 'Warning');
      assert.equal(ev.regarding.uid, api.get('services', 'named', 'default')!.metadata.uid);
      assert.match(ev.note, /target port "web" resolves to several numbers/);

      // The finding is reported while the sync plans; its LB write and the event post's reply may still be on their way.
      await running.proxy!.proxy.flush();
      await running.proxy!.events.flush();
      const text = await scrape(running.metricsAddress!);
      assert.match(text, /switchyard_proxy_events_total\{result="posted"\} 1/);
      assert.match(text, /switchyard_proxy_findings_total\{reason="MixedTargetPorts",severity="degraded"\} 1/);
      assert.match(text, /switchyard_proxy_load_balancers 2/);
      assert.match(text, /switchyard_proxy_syncs_total\{kind="full"\} 1/);
      assert.match(text, /switchyard_proxy_syncs_total\{kind="incremental"\} [1-9]/);

      // An ETP Local LoadBalancer Service: its health check node port answers 200 while this node (n1) has a
      // local ready endpoint and 503 once the endpoint is on another node; it closes when the Service goes.
      const hcPort = await freePort();
      const lbSlice = (node: string) => ({
        metadata: { name: 'lb-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'lb' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.1.9'], conditions: { ready: true }, nodeName: node }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      });
      api.create('services', {
        metadata: { name: 'lb', namespace: 'default' },
        spec: {
          type: 'LoadBalancer',
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: hcPort,
          clusterIP: '10.96.0.12',
          ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' }],
        },
      });
      api.create('endpointslices', lbSlice('n1'), 'discovery.k8s.io');
      const probe = async () => {
        try {
          const r = await httpGet(hcPort);
          return { status: r.status, local: JSON.parse(r.body).localEndpoints as number };
        } catch {
          return { status: 0, local: -1 };
        }
      };
      let last = { status: 0, local: -1 };
      const probeUntil = async (status: number, what: string) => {
        for (let i = 0; i < 200; i++) {
          last = await probe();
          if (last.status === status) return;
          await new Promise((r) => setTimeout(r, 25));
        }
        assert.fail(`${what}: last answer ${JSON.stringify(last)}`);
      };
      await probeUntil(200, 'the health check node port answers 200 with a local endpoint');
      assert.equal(last.local, 1);
      api.patch('endpointslices', 'lb-1', lbSlice('n2'), 'default', 'discovery.k8s.io');
      await probeUntil(503, 'the health check node port answers 503 without a local endpoint');
      assert.equal(last.local, 0);
      api.remove('services', 'lb', 'default');
      await probeUntil(0, 'the health check node port closes with its Service');

      await running.stop();
      lab.running = undefined;
      await until(() => api.watchCount('endpointslices', 'discovery.k8s.io') === 0 && api.watchCount('services') === 0, 'watches closed');
    });
  });
}
