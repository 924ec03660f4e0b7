/**
 * A minimal in-test API server for the proxy's informers: list and watch of Services and EndpointSlices on
 * 127.0.0.1 (a free port). Only what client-node's ListWatch uses: GET list with resourceVersion in the list
 * metadata, GET ?watch=true streaming one JSON event per line. The shared fake API server will replace it.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

const KINDS: Record<string, { list: string; apiVersion: string }> = {
  '/api/v1/services': { list: 'ServiceList', apiVersion: 'v1' },
  '/apis/discovery.k8s.io/v1/endpointslices': { list: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1' },
};

export class MiniApiServer {
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly objects = new Map<string, Map<string, KubernetesObject>>(Object.keys(KINDS).map((k) => [k, new Map()]));
  private readonly watchers = new Map<string, Set<http.ServerResponse>>(Object.keys(KINDS).map((k) => [k, new Set()]));
  private rv = 1;
  readonly requests: string[] = [];
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'mini', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'mini', cluster: 'mini', user: 'u' }],
      currentContext: 'mini',
    });
    return kc;
  }

  /** Stores (ADDED/MODIFIED) or removes (DELETED) an object and tells every watcher. */
  emit(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubernetesObject): void {
    const o = structuredClone(obj);
    o.metadata = {
      ...o.metadata,
      resourceVersion: String(++this.rv),
      uid: o.metadata?.uid ?? `${o.metadata?.namespace}/${o.metadata?.name}`,
    };
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    if (type === 'DELETED') this.objects.get(path)!.delete(key);
    else this.objects.get(path)!.set(key, o);
    for (const w of this.watchers.get(path)!) w.write(JSON.stringify({ type, object: o }) + '\n');
  }

  watcherCount(path: string): number {
    return this.watchers.get(path)!.size;
  }

  async stop(): Promise<void> {
    for (const set of this.watchers.values()) for (const w of set) w.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const kind = KINDS[url.pathname];
    if (!kind || req.method !== 'GET') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 404 }));
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      const set = this.watchers.get(url.pathname)!;
      set.add(res);
      res.on('close', () => set.delete(res));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: kind.list,
        apiVersion: kind.apiVersion,
        metadata: { resourceVersion: String(this.rv) },
        items: [...this.objects.get(url.pathname)!.values()],
      }),
    );
  }
}
