/**
 * The kubernetes subnet source against the fake API server, through the real @kubernetes/client-node
 * client: own podCIDR, flannel's annotations patched exactly as flanneld patches them, peers (real-flannel
 * nodes included) followed by the watch, and recovery from a broken watch (410 → re-list, 5xx → restart).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseNetConf } from '../../src/agent/subnet/flannel';
import { KubernetesSubnetSource, type KubernetesSourceOptions } from '../../src/agent/subnet/kubernetes';
import type { LocalAnnouncement, NodeLease } from '../../src/agent/subnet/types';
import { FakeApiServer, makeTestCertificate, writeKubeconfig } from '../../src/lab/fake-apiserver';

const NET = parseNetConf('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
const SELF: LocalAnnouncement = { node: 'win1', publicIp: '192.168.79.40', backendType: 'vxlan', vni: 4096, vtepMac: '00-15-5D-FB-CB-0D' };

/** Annotations exactly as a real flanneld (Linux vxlan, VNI 4096) writes them on its Node. */
const flannelAnnotations = (ip: string, mac: string) => ({
  'flannel.alpha.coreos.com/backend-type': 'vxlan',
  'flannel.alpha.coreos.com/backend-data': `{"VNI":4096,"VtepMAC":"${mac}"}`,
  'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
  'flannel.alpha.coreos.com/public-ip': ip,
});

const node = (name: string, podCIDR?: string, annotations?: Record<string, string>) => ({
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agent subnet: kubernetes source (fake API server, real client)', () => {
  let server: FakeApiServer;
  let dir: string;
  let kubeconfig: string;
  const sources: KubernetesSubnetSource[] = [];

  const source = (over: Partial<KubernetesSourceOptions> = {}) => {
    const s = new KubernetesSubnetSource({ kubeconfig, netConf: NET, nodeWaitMs: 2000, patchTimeoutMs: 2000, retryMaxMs: 200, ...over });
    sources.push(s);
    return s;
  };
  const patches = () => server.requests.filter((r) => r.method === 'PATCH');

  beforeEach(async () => {
    server = new FakeApiServer();
    await server.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-kubesrc-'));
    kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), server.url);
  });
  afterEach(async () => {
    for (const s of sources.splice(0)) await s.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads spec.podCIDR and patches flannel's annotations on nodes/status with a strategic merge patch", async () => {
    server.create('nodes', node('win1', '10.244.3.0/24'));
    const lease = await source().start(SELF);
    assert.deepEqual(lease, {
      node: 'win1',
      subnet: '10.244.3.0/24',
      publicIp: '192.168.79.40',
      backendType: 'vxlan',
      vni: 4096,
      vtepMac: '00:15:5d:fb:cb:0d',
    });
    assert.equal(patches().length, 1);
    const p = patches()[0];
    assert.equal(p.path, '/api/v1/nodes/win1/status');
    assert.equal(p.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(JSON.parse(p.body!), {
      metadata: {
        annotations: {
          'flannel.alpha.coreos.com/backend-type': 'vxlan',
          'flannel.alpha.coreos.com/backend-data': '{"VNI":4096,"VtepMAC":"00:15:5d:fb:cb:0d"}',
          'flannel.alpha.coreos.com/public-ip': '192.168.79.40',
          'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
        },
      },
    });
    // host-gw writes backend-data "null", as flanneld does.
    server.create('nodes', node('lin1', '10.244.4.0/24'));
    await source().start({ node: 'lin1', publicIp: '10.0.0.4', backendType: 'host-gw' });
    assert.equal(server.get('nodes', 'lin1')!.metadata.annotations['flannel.alpha.coreos.com/backend-data'], 'null');
  });

  it('a restart with the annotations already in place sends no patch; a publish sends only what changed', async () => {
    server.create('nodes', node('win1', '10.244.3.0/24'));
    await source().start(SELF);
    await sources[0].close();
    const before = patches().length;
    const again = source();
    await again.start(SELF);
    assert.equal(patches().length, before, 'nothing to patch');
    await again.publish({ ...SELF, vtepMac: '00:15:5d:00:00:01' });
    assert.deepEqual(JSON.parse(patches().at(-1)!.body!), {
      metadata: { annotations: { 'flannel.alpha.coreos.com/backend-data': '{"VNI":4096,"VtepMAC":"00:15:5d:00:00:01"}' } },
    });
  });

  it('waits for its Node to be registered (flannel waits 30 s) and takes the IPv4 entry of dual-stack podCIDRs', async () => {
    const starting = source().start(SELF);
    await until('the source is watching', () => server.watchCount() === 1);
    server.create('nodes', {
      metadata: { name: 'win1' },
      spec: { podCIDR: 'fd00:10:244:3::/64', podCIDRs: ['fd00:10:244:3::/64', '10.244.3.0/24'] },
    });
    assert.equal((await starting).subnet, '10.244.3.0/24');
  });

  it('honours public-ip-overwrite as flannel does', async () => {
    server.create('nodes', node('win1', '10.244.3.0/24', { 'flannel.alpha.coreos.com/public-ip-overwrite': '203.0.113.9' }));
    const lease = await source().start(SELF);
    assert.equal(lease.publicIp, '203.0.113.9');
    assert.equal(server.get('nodes', 'win1')!.metadata.annotations['flannel.alpha.coreos.com/public-ip'], '203.0.113.9');
  });

  it('refuses to start, naming what is missing, and leaves nothing behind', async () => {
    server.create('nodes', node('win1'));
    await assert.rejects(source().start(SELF), /node win1 has no spec\.podCIDR.*allocate-node-cidrs/);
    await assert.rejects(source().start({ ...SELF, node: 'ghost' }), /node ghost not found at http:\/\/127\.0\.0\.1:\d+/);
    server.create('nodes', node('far', '10.99.0.0/24'));
    await assert.rejects(
      source().start({ ...SELF, node: 'far' }),
      /spec\.podCIDR 10\.99\.0\.0\/24 is not inside the net-conf Network 10\.244\.0\.0\/16/,
    );
    await assert.rejects(source({ kubeconfig: path.join(dir, 'absent') }).start(SELF), /kubeconfig .*absent: no such file/);
    await assert.rejects(source().start({ ...SELF, publicIp: 'not-an-ip' }), /public IP: "not-an-ip"/);
    server.failNext(1000);
    await assert.rejects(
      source({ syncTimeoutMs: 1500 }).start(SELF),
      /cannot list Nodes from http:\/\/127\.0\.0\.1:\d+: HTTP 503: injected failure \(waited 2 s\)/,
    );
    server.failNext(0);
    assert.equal(patches().length, 0, 'no annotation written by a failed start');
    await until('every watch closed', () => server.watchCount() === 0);
  });

  it('peers: real-flannel nodes are read; add, change, delete fire onChange; nodes without annotations are not peers yet', async () => {
    server.create('nodes', node('win1', '10.244.3.0/24'));
    server.create('nodes', node('lin1', '10.244.1.0/24', flannelAnnotations('10.0.0.11', '12:c6:65:89:b4:e3')));
    server.create('nodes', node('bare', '10.244.2.0/24'));
    const s = source();
    let changes = 0;
    s.onChange(() => changes++);
    await s.start(SELF);
    const expectLin1: NodeLease = {
      node: 'lin1',
      subnet: '10.244.1.0/24',
      publicIp: '10.0.0.11',
      backendType: 'vxlan',
      vni: 4096,
      vtepMac: '12:c6:65:89:b4:e3',
    };
    assert.deepEqual(s.peers(), [expectLin1], 'own node and the unannotated node are not peers');
    assert.deepEqual(s.unusable(), [{ node: 'bare', why: 'no flannel.alpha.coreos.com/kube-subnet-manager="true" annotation' }]);

    let c = changes;
    server.create('nodes', node('lin2', '10.244.5.0/24', flannelAnnotations('10.0.0.12', 'aa:bb:cc:dd:ee:02')));
    await until('lin2 joins', () => changes > c && s.peers().some((p) => p.node === 'lin2'));

    c = changes;
    server.patch('nodes', 'lin2', {
      metadata: { annotations: { 'flannel.alpha.coreos.com/backend-data': '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:99"}' } },
    });
    await until('lin2 VtepMAC change', () => changes > c && s.peers().find((p) => p.node === 'lin2')?.vtepMac === 'aa:bb:cc:dd:ee:99');

    c = changes;
    server.patch('nodes', 'bare', { metadata: { annotations: flannelAnnotations('10.0.0.13', 'aa:bb:cc:dd:ee:03') } });
    await until('bare becomes a peer once annotated', () => changes > c && s.peers().some((p) => p.node === 'bare'));

    c = changes;
    server.patch('nodes', 'lin2', { metadata: { labels: { unrelated: 'x' } } });
    server.remove('nodes', 'lin1');
    await until('lin1 leaves', () => changes > c && !s.peers().some((p) => p.node === 'lin1'));
    assert.equal(changes, c + 1, 'an unrelated label change is not a peer change');
    assert.deepEqual(
      s.peers().map((p) => p.node),
      ['bare', 'lin2'],
    );
  });

  it('a broken watch with 410 Expired re-lists and misses no change; a failing server is retried', async () => {
    server.create('nodes', node('win1', '10.244.3.0/24'));
    server.create('nodes', node('lin1', '10.244.1.0/24', flannelAnnotations('10.0.0.11', '12:c6:65:89:b4:e3')));
    const s = source();
    await s.start(SELF);
    await until('watch open', () => server.watchCount() === 1);
    const lists = () => server.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes' && !r.query.watch).length;
    const listed = lists();

    // Changes land while the watch is down and history is compacted: only a re-list shows them.
    server.breakWatches();
    server.remove('nodes', 'lin1');
    server.create('nodes', node('lin3', '10.244.7.0/24', flannelAnnotations('10.0.0.17', 'aa:bb:cc:dd:ee:07')));
    server.compact();
    await until(
      're-listed state',
      () =>
        s
          .peers()
          .map((p) => p.node)
          .join() === 'lin3',
    );
    assert.ok(lists() > listed, 'the source re-listed after 410');

    // The server answers 503 a few times: the informer stops, the source restarts it with backoff.
    server.failNext(3);
    server.breakWatches();
    server.create('nodes', node('lin4', '10.244.8.0/24', flannelAnnotations('10.0.0.18', 'aa:bb:cc:dd:ee:08')));
    await until('lin4 seen after the failures', () => s.peers().some((p) => p.node === 'lin4'));
    await until('watch re-opened', () => server.watchCount() === 1);
  });

  it('annotations removed out of band are written back (level-triggered)', async () => {
    server.create('nodes', node('win1', '10.244.3.0/24'));
    await source().start(SELF);
    server.patch('nodes', 'win1', {
      metadata: { annotations: { 'flannel.alpha.coreos.com/public-ip': null, 'flannel.alpha.coreos.com/backend-type': 'host-gw' } },
    });
    await until('annotations restored', () => {
      const a = server.get('nodes', 'win1')!.metadata.annotations;
      return a['flannel.alpha.coreos.com/public-ip'] === '192.168.79.40' && a['flannel.alpha.coreos.com/backend-type'] === 'vxlan';
    });
  });

  it('in a pod: in-cluster HTTPS config from the service account files, under CONTAINER_SANDBOX_MOUNT_POINT on a HostProcess container', async () => {
    const cert = makeTestCertificate(path.join(dir, 'tls'));
    const tlsServer = new FakeApiServer({ token: 'sa-token', tls: cert });
    await tlsServer.start();
    const sandbox = path.join(dir, 'sandbox');
    const sa = path.join(sandbox, 'var/run/secrets/kubernetes.io/serviceaccount');
    fs.mkdirSync(sa, { recursive: true });
    fs.writeFileSync(path.join(sa, 'token'), 'sa-token');
    fs.copyFileSync(cert.certFile, path.join(sa, 'ca.crt'));
    fs.writeFileSync(path.join(sa, 'namespace'), 'kube-flannel');
    const saved = { ...process.env };
    Object.assign(process.env, {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(tlsServer.port),
      CONTAINER_SANDBOX_MOUNT_POINT: sandbox,
    });
    try {
      tlsServer.create('nodes', node('win1', '10.244.3.0/24'));
      const lease = await source({ kubeconfig: undefined }).start(SELF);
      assert.equal(lease.subnet, '10.244.3.0/24');
      assert.equal(tlsServer.get('nodes', 'win1')!.metadata.annotations['flannel.alpha.coreos.com/kube-subnet-manager'], 'true');
    } finally {
      for (const k of ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'CONTAINER_SANDBOX_MOUNT_POINT']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      for (const s of sources.splice(0)) await s.close();
      await tlsServer.close();
    }
  });

  it('close() ends the watch and the lease (annotations) stays', async () => {
    server.create('nodes', node('win1', '10.244.3.0/24'));
    const s = source();
    await s.start(SELF);
    await until('watch open', () => server.watchCount() === 1);
    await s.close();
    await until('watch closed', () => server.watchCount() === 0);
    assert.equal(server.get('nodes', 'win1')!.metadata.annotations['flannel.alpha.coreos.com/kube-subnet-manager'], 'true');
  });
});
