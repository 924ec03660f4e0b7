/**
 * Health check node ports of `externalTrafficPolicy: Local` LoadBalancer Services, as kube-proxy serves them:
 * which Services get one and what they count (pure core), and the HTTP answers (status, JSON body, headers) of
 * the listeners on loopback, which follow the Services as they come, change and go.
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { healthCheckOf } from '../../src/proxy/core';
import { ServiceHealthServer } from '../../src/proxy/health/server';
import { freePort, httpGet } from './helpers';

const svc = (over: Partial<V1Service['spec']> = {}): V1Service => ({
  metadata: { name: 'web', namespace: 'shop' },
  spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ port: 80 }], ...over },
});
const slice = (eps: { ip: string; node: string; ready?: boolean }[], ports = [8080]): V1EndpointSlice => ({
  metadata: { name: `web-${Math.random().toString(16).slice(2, 6)}`, namespace: 'shop' },
  addressType: 'IPv4',
  endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: e.ready === undefined ? {} : { ready: e.ready } })),
  ports: ports.map((p) => ({ port: p, protocol: 'TCP' })),
});

describe('health check node ports: which Services, what they count', () => {
  it('only a LoadBalancer Service with externalTrafficPolicy Local and a healthCheckNodePort has one', () => {
    assert.equal(healthCheckOf(svc({ externalTrafficPolicy: 'Cluster' }), [], 'n1'), undefined);
    assert.equal(healthCheckOf(svc({ type: 'NodePort' }), [], 'n1'), undefined);
    assert.equal(healthCheckOf(svc({ healthCheckNodePort: 0 }), [], 'n1'), undefined);
    assert.deepEqual(healthCheckOf(svc(), [], 'n1'), { namespace: 'shop', name: 'web', port: 32000, localEndpoints: 0 });
  });

  it('counts distinct local ready ip:port pairs over every slice, as kube-proxy does', () => {
    const slices = [
      slice([
        { ip: '10.244.1.5', node: 'n1' },
        { ip: '10.244.1.6', node: 'n1', ready: false },
        { ip: '10.244.2.5', node: 'n2' },
      ]),
      // The same pod listed again (a pod moving between slices) counts once; another port counts again.
      slice([{ ip: '10.244.1.5', node: 'n1' }], [8080, 9090]),
      { ...slice([{ ip: 'fd00::5', node: 'n1' }]), addressType: 'IPv6' },
    ];
    assert.equal(healthCheckOf(svc(), slices, 'n1')?.localEndpoints, 2);
    assert.equal(healthCheckOf(svc(), slices, 'n2')?.localEndpoints, 1);
    assert.equal(healthCheckOf(svc(), slices, 'n3')?.localEndpoints, 0);
  });
});

describe('health check node ports: the listeners', function () {
  this.timeout(20_000);
  let server: ServiceHealthServer;
  const lines: string[] = [];
  beforeEach(() => {
    server = new ServiceHealthServer({ addresses: ['127.0.0.1'], log: (_l, m) => lines.push(m) });
  });
  afterEach(async () => server.close());

  it("answers 200 with kube-proxy's body and headers while the Service has a local endpoint, else 503", async () => {
    const port = await freePort();
    await server.update([{ namespace: 'shop', name: 'web', port, localEndpoints: 2 }], true);
    const ok = await httpGet(port);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], 'application/json');
    assert.equal(ok.headers['x-content-type-options'], 'nosniff');
    assert.equal(ok.headers['x-load-balancing-endpoint-weight'], '2');
    assert.equal(
      ok.body,
      '{\n\t"service": {\n\t\t"namespace": "shop",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}',
    );
    assert.deepEqual(JSON.parse(ok.body), { service: { namespace: 'shop', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true });

    await server.update([{ namespace: 'shop', name: 'web', port, localEndpoints: 0 }], true);
    const none = await httpGet(port);
    assert.equal(none.status, 503);
    assert.equal(JSON.parse(none.body).localEndpoints, 0);

    // Local endpoints but a proxy whose last sync failed: not healthy either.
    await server.update([{ namespace: 'shop', name: 'web', port, localEndpoints: 1 }], false);
    const sick = await httpGet(port);
    assert.equal(sick.status, 503);
    assert.equal(JSON.parse(sick.body).serviceProxyHealthy, false);
  });

  it('closes the port when the Service goes, and moves it when its port changes', async () => {
    const [a, b] = [await freePort(), await freePort()];
    await server.update([{ namespace: 'shop', name: 'web', port: a, localEndpoints: 1 }], true);
    assert.deepEqual(server.ports(), [a]);
    await server.update([{ namespace: 'shop', name: 'web', port: b, localEndpoints: 1 }], true);
    assert.deepEqual(server.ports(), [b]);
    await assert.rejects(httpGet(a), /ECONNREFUSED/);
    assert.equal((await httpGet(b)).status, 200);
    await server.update([], true);
    assert.deepEqual(server.ports(), []);
    await assert.rejects(httpGet(b), /ECONNREFUSED/);
  });

  it('a port another process holds is logged and retried at the next update', async () => {
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', () => r()));
    try {
      await server.update([{ namespace: 'shop', name: 'web', port, localEndpoints: 1 }], true);
      assert.deepEqual(server.ports(), []);
      assert.ok(server.failed.has(port));
      assert.match(lines.join('\n'), new RegExp(`health check node port ${port} of service shop/web cannot be served`));
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
    await server.update([{ namespace: 'shop', name: 'web', port, localEndpoints: 1 }], true);
    assert.deepEqual(server.ports(), [port]);
    assert.equal((await httpGet(port)).status, 200);
  });
});
