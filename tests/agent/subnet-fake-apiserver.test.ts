/**
 * The fake API server fixture, driven through the real @kubernetes/client-node client: if it did not behave
 * like kube-apiserver for list/watch/patch, the kubernetes subnet source tests would prove nothing.
 */
import * as k8s from '@kubernetes/client-node';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeApiServer, makeTestCertificate, writeKubeconfig } from '../../src/lab/fake-apiserver';

const node = (name: string, podCIDR?: string) => ({
  metadata: { name, labels: { 'kubernetes.io/os': 'linux' } },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agent subnet: fake API server through @kubernetes/client-node', () => {
  let server: FakeApiServer;
  let dir: string;
  let kc: k8s.KubeConfig;
  let api: k8s.CoreV1Api;

  beforeEach(async () => {
    server = new FakeApiServer({ token: 's3cret', bookmarkMs: 50 });
    await server.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-fakeapi-'));
    kc = new k8s.KubeConfig();
    kc.loadFromFile(writeKubeconfig(path.join(dir, 'kubeconfig'), server.url, { token: 's3cret' }));
    api = kc.makeApiClient(k8s.CoreV1Api);
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('create, list with resourceVersion, get, and Status errors (401, 404, 409)', async () => {
    const created = await api.createNode({ body: node('n1', '10.244.1.0/24') });
    assert.equal(created.metadata?.name, 'n1');
    assert.ok(created.metadata?.uid);
    await api.createNode({ body: node('n2') });
    const list = await api.listNode();
    assert.deepEqual(list.items.map((n) => n.metadata?.name).sort(), ['n1', 'n2']);
    assert.equal(list.metadata?.resourceVersion, server.resourceVersion);
    assert.ok(Number(list.items[1].metadata?.resourceVersion) > Number(list.items[0].metadata?.resourceVersion));
    assert.equal((await api.readNode({ name: 'n1' })).spec?.podCIDR, '10.244.1.0/24');

    await assert.rejects(
      api.readNode({ name: 'nope' }),
      (e: k8s.ApiException<string>) => e.code === 404 && JSON.parse(e.body).reason === 'NotFound' && JSON.parse(e.body).kind === 'Status',
    );
    await assert.rejects(
      api.createNode({ body: node('n1') }),
      (e: k8s.ApiException<string>) => e.code === 409 && JSON.parse(e.body).reason === 'AlreadyExists',
    );
    const anon = new k8s.KubeConfig();
    anon.loadFromFile(writeKubeconfig(path.join(dir, 'anon'), server.url));
    await assert.rejects(anon.makeApiClient(k8s.CoreV1Api).listNode(), (e: k8s.ApiException<string>) => e.code === 401);
  });

  it('strategic-merge and merge patches on annotations; status subresource keeps spec; 409 and 422', async () => {
    await api.createNode({ body: node('n1', '10.244.1.0/24') });
    const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    let n = await api.patchNodeStatus(
      { name: 'n1', body: { metadata: { annotations: { a: '1', b: '2' } }, spec: { unschedulable: true } } },
      strategic,
    );
    assert.deepEqual(n.metadata?.annotations, { a: '1', b: '2' });
    assert.equal(n.spec?.unschedulable, undefined, 'the status subresource ignores spec');
    const rv1 = Number(n.metadata?.resourceVersion);
    n = await api.patchNode({ name: 'n1', body: { metadata: { annotations: { a: null, c: '3' } } } }, merge);
    assert.deepEqual(n.metadata?.annotations, { b: '2', c: '3' });
    assert.ok(Number(n.metadata?.resourceVersion) > rv1);
    const same = await api.patchNode({ name: 'n1', body: { metadata: { annotations: { c: '3' } } } }, merge);
    assert.equal(same.metadata?.resourceVersion, n.metadata?.resourceVersion, 'a no-op patch does not bump resourceVersion');
    const last = server.requests.filter((r) => r.method === 'PATCH').map((r) => [r.path, r.contentType]);
    assert.deepEqual(last[0], ['/api/v1/nodes/n1/status', 'application/strategic-merge-patch+json']);
    assert.deepEqual(last[1], ['/api/v1/nodes/n1', 'application/merge-patch+json']);

    await assert.rejects(
      api.patchNode({ name: 'n1', body: { metadata: { resourceVersion: String(rv1), annotations: { d: '4' } } } }, merge),
      (e: k8s.ApiException<string>) => e.code === 409 && JSON.parse(e.body).reason === 'Conflict',
    );
    await assert.rejects(
      api.patchNode({ name: 'n1', body: { spec: { podCIDR: '10.244.9.0/24' } } }, merge),
      (e: k8s.ApiException<string>) => e.code === 422 && JSON.parse(e.body).reason === 'Invalid',
    );
    // The podCIDR may go from "" to a value (the node IPAM controller does exactly this).
    await api.createNode({ body: node('n2') });
    assert.equal(
      (await api.patchNode({ name: 'n2', body: { spec: { podCIDR: '10.244.2.0/24' } } }, strategic)).spec?.podCIDR,
      '10.244.2.0/24',
    );
  });

  it('watch: replay from a resourceVersion, live events, bookmarks, and 410 Expired for a compacted one', async () => {
    await api.createNode({ body: node('n1') });
    const from = server.resourceVersion;
    await api.createNode({ body: node('n2') });
    const events: { type: string; name?: string; rv?: string; code?: number }[] = [];
    let doneErr: unknown = 'open';
    const w = new k8s.Watch(kc);
    const req = await w.watch(
      '/api/v1/nodes',
      { resourceVersion: from, allowWatchBookmarks: true },
      (type, obj) => events.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion, code: obj.code }),
      (err) => (doneErr = err),
    );
    await until('replayed ADDED n2', () => events.some((e) => e.type === 'ADDED' && e.name === 'n2'));
    assert.ok(!events.some((e) => e.name === 'n1'), 'events at or before the resourceVersion are not replayed');
    server.patch('nodes', 'n1', { metadata: { labels: { x: 'y' } } });
    server.remove('nodes', 'n2');
    await until(
      'MODIFIED n1 and DELETED n2',
      () => events.some((e) => e.type === 'MODIFIED' && e.name === 'n1') && events.some((e) => e.type === 'DELETED' && e.name === 'n2'),
    );
    await until('a BOOKMARK', () => events.some((e) => e.type === 'BOOKMARK'));
    const rvs = events.filter((e) => e.type !== 'BOOKMARK').map((e) => Number(e.rv));
    assert.deepEqual(
      rvs,
      [...rvs].sort((a, b) => a - b),
      'events arrive in resourceVersion order',
    );
    req.abort();

    server.compact();
    const expired: { type: string; code?: number; reason?: string }[] = [];
    let ended: unknown = 'open';
    await w.watch(
      '/api/v1/nodes',
      { resourceVersion: from },
      (type, obj) => expired.push({ type, code: obj.code, reason: obj.reason }),
      (err) => (ended = err),
    );
    await until('the stream to end', () => ended !== 'open');
    assert.deepEqual(expired, [{ type: 'ERROR', code: 410, reason: 'Expired' }]);
    assert.equal(ended, null, 'HTTP 200 then an ERROR event, as kube-apiserver does');
    void doneErr;
  });

  it("serves HTTPS that the client verifies against the kubeconfig's certificate authority", async () => {
    const cert = makeTestCertificate(path.join(dir, 'tls'));
    const tlsServer = new FakeApiServer({ token: 't', tls: cert });
    await tlsServer.start();
    try {
      assert.match(tlsServer.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      tlsServer.create('nodes', node('n1'));
      const good = new k8s.KubeConfig();
      good.loadFromFile(writeKubeconfig(path.join(dir, 'tls-good'), tlsServer.url, { token: 't', caFile: cert.certFile }));
      assert.deepEqual(
        (await good.makeApiClient(k8s.CoreV1Api).listNode()).items.map((n) => n.metadata?.name),
        ['n1'],
      );
      const unverified = new k8s.KubeConfig();
      unverified.loadFromFile(writeKubeconfig(path.join(dir, 'tls-bad'), tlsServer.url, { token: 't' }));
      await assert.rejects(unverified.makeApiClient(k8s.CoreV1Api).listNode(), /self[- ]signed certificate/i);
    } finally {
      await tlsServer.close();
    }
  });

  it('an informer re-lists after 410 and misses no change made while its watch was down', async () => {
    await api.createNode({ body: node('n1') });
    const informer = k8s.makeInformer(kc, '/api/v1/nodes', () => api.listNode());
    const seen = new Set<string>();
    informer.on(k8s.ADD, (n) => seen.add(n.metadata!.name!));
    informer.on(k8s.DELETE, (n) => seen.delete(n.metadata!.name!));
    try {
      await informer.start();
      await until('n1 listed', () => seen.has('n1') && server.watchCount() === 1);
      const listsBefore = server.requests.filter((r) => r.method === 'GET' && !r.query.watch).length;
      // The change lands and history is compacted while no watch is open: only a re-list can reveal it.
      server.breakWatches();
      server.create('nodes', node('n3'));
      server.remove('nodes', 'n1');
      server.compact();
      await until('n3 added and n1 deleted after the re-list', () => seen.has('n3') && !seen.has('n1'));
      assert.ok(server.requests.filter((r) => r.method === 'GET' && !r.query.watch).length > listsBefore, 'the informer re-listed');
    } finally {
      await informer.stop();
    }
  });
});
