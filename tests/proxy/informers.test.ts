/**
 * The informer adapter against a small in-test API server: the initial lists arrive whole, then each watch
 * event is one upsert/delete; end to end, a slice change on the API server becomes one modifyLoadBalancer.
 */
import * as assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { summarizeCalls } from '../../src/dataplane/call-log';
import { ProxyInformers, SERVICE_SELECTOR, SLICE_SELECTOR, type ProxyInput } from '../../src/proxy/informers';
import { MemoryOwnershipStore, ServiceProxy } from '../../src/proxy/sync';
import { Lab, NODE, NODE_IP, l2bridgeNetwork, service, slice } from './helpers';
import { MiniApiServer } from './mini-apiserver';

const SVC = '/api/v1/services';
const EPS = '/apis/discovery.k8s.io/v1/endpointslices';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

class Recorder implements ProxyInput {
  events: string[] = [];
  replaceAll(services: readonly V1Service[], slices: readonly V1EndpointSlice[]): void {
    this.events.push(`replaceAll ${services.map((s) => s.metadata?.name).join(',')} | ${slices.map((s) => s.metadata?.name).join(',')}`);
  }
  upsertService(s: V1Service): void {
    this.events.push(`upsertService ${s.metadata?.name}`);
  }
  deleteService(s: V1Service): void {
    this.events.push(`deleteService ${s.metadata?.name}`);
  }
  upsertSlice(s: V1EndpointSlice): void {
    this.events.push(`upsertSlice ${s.metadata?.name}`);
  }
  deleteSlice(s: V1EndpointSlice): void {
    this.events.push(`deleteSlice ${s.metadata?.name}`);
  }
}

describe('proxy informers (list + watch of Services and EndpointSlices)', function () {
  let api: MiniApiServer;
  let informers: ProxyInformers | undefined;
  let lab: Lab | undefined;
  let proxy: ServiceProxy | undefined;

  beforeEach(async function () {
    api = new MiniApiServer();
    await api.start();
  });
  afterEach(async function () {
    await informers?.stop();
    await proxy?.stop();
    await api.stop();
    await lab?.close();
    informers = proxy = lab = undefined;
  });

  it("hands over the initial lists whole, then one call per watch event, with kube-proxy's selectors", async function () {
    api.emit(SVC, 'ADDED', service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] }));
    api.emit(EPS, 'ADDED', slice('web', [{ ip: '10.244.1.5' }], [{ port: 80 }]));
    const rec = new Recorder();
    informers = new ProxyInformers(api.kubeConfig(), rec);
    await informers.start();
    assert.deepEqual(rec.events, ['replaceAll web | web-abcde']);
    await until(() => api.watcherCount(SVC) === 1 && api.watcherCount(EPS) === 1, 'both watches open');
    api.emit(EPS, 'MODIFIED', slice('web', [{ ip: '10.244.1.6' }], [{ port: 80 }]));
    api.emit(SVC, 'ADDED', service('api', { clusterIP: '10.96.5.6', ports: [{ port: 443 }] }));
    api.emit(SVC, 'DELETED', service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] }));
    await until(() => rec.events.length === 4, 'three watch events');
    assert.deepEqual(rec.events.slice(1).sort(), ['deleteService web', 'upsertService api', 'upsertSlice web-abcde']);
    const selectors = api.requests.map((r) => new URL(r.split(' ')[1], 'http://x').searchParams.get('labelSelector'));
    assert.ok(api.requests.some((r) => r.startsWith(`GET ${SVC}`)) && api.requests.some((r) => r.startsWith(`GET ${EPS}`)));
    assert.deepEqual([...new Set(selectors)].sort(), [SERVICE_SELECTOR, SLICE_SELECTOR].sort());
  });

  it('fails start naming the resource when the API server refuses the list', async function () {
    await api.stop();
    const down = new MiniApiServer();
    await down.start();
    const port = down.port;
    await down.stop();
    api = new MiniApiServer();
    await api.start();
    const kc = api.kubeConfig();
    kc.clusters[0] = { ...kc.clusters[0], server: `http://127.0.0.1:${port}` };
    informers = new ProxyInformers(kc, new Recorder());
    await assert.rejects(informers.start(), /listing (services|endpointslices) from the API server failed/);
  });

  it('end to end: a slice change on the API server becomes one modifyLoadBalancer on the memory data plane', async function () {
    lab = new Lab();
    await lab.open();
    const ids = await lab.network(l2bridgeNetwork(), ['10.244.1.5', '10.244.1.6']);
    api.emit(SVC, 'ADDED', service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] }));
    api.emit(EPS, 'ADDED', slice('web', [{ ip: '10.244.1.5' }, { ip: '10.244.1.6' }], [{ port: 80 }]));
    proxy = new ServiceProxy({
      hns: lab.hns,
      network: { name: 'cbr0' },
      nodeName: NODE,
      nodeIPs: [NODE_IP],
      ownership: new MemoryOwnershipStore(),
      coalesceMs: 5,
      resyncIntervalMs: 0,
    });
    informers = new ProxyInformers(api.kubeConfig(), proxy);
    await informers.start();
    await proxy.start();
    assert.equal((await lab.hns.listLoadBalancers()).length, 1);
    await until(() => api.watcherCount(EPS) === 1, 'slice watch open');
    const from = lab.mark();
    api.emit(EPS, 'MODIFIED', slice('web', [{ ip: '10.244.1.6' }], [{ port: 80 }]));
    await until(() => proxy!.counters.loadBalancersModified === 1, 'the load balancer modified');
    assert.deepEqual(summarizeCalls(lab.callsSince(from)), { 'v2 modifyLoadBalancer': 1 });
    assert.deepEqual((await lab.hns.listLoadBalancers())[0].HostComputeEndpoints, [ids.get('10.244.1.6')]);
  });
});
