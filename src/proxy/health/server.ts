/**
 * The health check node ports of `externalTrafficPolicy: Local` Services (src/proxy/core/health.ts), served as
 * kube-proxy serves them (pkg/proxy/healthcheck): one HTTP listener per port on the node's addresses; any
 * path answers 200 when the Service has a local ready endpoint and the proxy is healthy, else 503, with the
 * same JSON body and headers, so cloud load balancers configured for kube-proxy keep working unchanged.
 * Listeners follow the Services: opened when a Service appears, closed when it goes or changes port. A port
 * that cannot be bound is logged and retried on the next update; nothing else is affected.
 */
import * as http from 'node:http';
import type { HealthCheckService } from '../core/health';

export interface ServiceHealthServerOptions {
  /** Addresses to listen on (the node's IPs; kube-proxy's node port addresses). */
  addresses: string[];
  log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

interface Listener {
  servers: http.Server[];
  entry: HealthCheckService;
}

export class ServiceHealthServer {
  private readonly listeners = new Map<number, Listener>();
  private proxyHealthy = true;
  /** Ports that could not be bound at the last update (retried at the next). */
  readonly failed = new Set<number>();

  constructor(private readonly opts: ServiceHealthServerOptions) {}

  /** Makes the listeners match `entries`; counts and health are answered from the newest update. */
  async update(entries: readonly HealthCheckService[], proxyHealthy: boolean): Promise<void> {
    this.proxyHealthy = proxyHealthy;
    const wanted = new Map<number, HealthCheckService>();
    for (const e of entries) {
      const other = wanted.get(e.port);
      if (other) {
        this.opts.log?.(
          'warn',
          `health check node port ${e.port} of service ${e.namespace}/${e.name} is also ${other.namespace}/${other.name}'s; serving the first`,
        );
        continue;
      }
      wanted.set(e.port, e);
    }
    for (const [port, l] of this.listeners) {
      const w = wanted.get(port);
      if (!w || w.namespace !== l.entry.namespace || w.name !== l.entry.name) await this.closePort(port);
    }
    this.failed.clear();
    for (const [port, e] of wanted) {
      const l = this.listeners.get(port);
      if (l) {
        l.entry = e;
        continue;
      }
      try {
        const servers = await Promise.all(this.opts.addresses.map((a) => this.listen(a, port)));
        this.listeners.set(port, { servers, entry: e });
        this.opts.log?.('info', `serving the health check of service ${e.namespace}/${e.name} on port ${port}`);
      } catch (err) {
        this.failed.add(port);
        this.opts.log?.(
          'warn',
          `health check node port ${port} of service ${e.namespace}/${e.name} cannot be served: ${(err as Error).message}`,
        );
      }
    }
  }

  ports(): number[] {
    return [...this.listeners.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    for (const port of [...this.listeners.keys()]) await this.closePort(port);
  }

  private async closePort(port: number): Promise<void> {
    const l = this.listeners.get(port);
    this.listeners.delete(port);
    for (const s of l?.servers ?? []) {
      s.closeAllConnections?.();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  private listen(address: string, port: number): Promise<http.Server> {
    const server = http.createServer((_req, res) => {
      const e = this.listeners.get(port)?.entry;
      if (!e) {
        res.writeHead(503).end();
        return;
      }
      const ok = e.localEndpoints > 0 && this.proxyHealthy;
      const body =
        `{\n\t"service": {\n\t\t"namespace": ${JSON.stringify(e.namespace)},\n\t\t"name": ${JSON.stringify(e.name)}\n\t},\n` +
        `\t"localEndpoints": ${e.localEndpoints},\n\t"serviceProxyHealthy": ${this.proxyHealthy}\n}`;
      res.writeHead(ok ? 200 : 503, {
        'Content-Type': 'application/json',
        'X-Content-Type-Options': 'nosniff',
        'X-Load-Balancing-Endpoint-Weight': String(e.localEndpoints),
      });
      res.end(body);
    });
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        server.close();
        reject(err);
      });
      server.listen({ host: address, port }, () => resolve(server));
    });
  }
}
