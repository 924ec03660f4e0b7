/**
 * The agent's Prometheus metrics (its own registry, so several agents in one test process do not collide)
 * and the HTTP endpoint serving /healthz, /readyz and /metrics on the metrics address.
 */
import * as http from 'node:http';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class AgentMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'result'>;
  readonly reconcileDuration: Histogram<string>;
  readonly reconcileErrors: Counter<string>;
  readonly driftRepairs: Counter<'kind'>;
  readonly peers: Gauge<'state'>;
  readonly peersRefused: Counter<'node'>;
  readonly cniCalls: Counter<'command' | 'result'>;
  readonly cniDuration: Histogram<'command'>;

  constructor() {
    const prom = require('prom-client') as typeof import('prom-client');
    this.registry = new prom.Registry();
    const registers = [this.registry];
    this.reconciles = new prom.Counter({
      name: 'switchyard_agent_reconciles_total',
      help: 'Reconcile passes, by result',
      labelNames: ['result'],
      registers,
    });
    this.reconcileDuration = new prom.Histogram({
      name: 'switchyard_agent_reconcile_duration_seconds',
      help: 'Duration of a reconcile pass',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.reconcileErrors = new prom.Counter({
      name: 'switchyard_agent_reconcile_errors_total',
      help: 'Reconcile passes that failed',
      registers,
    });
    this.driftRepairs = new prom.Counter({
      name: 'switchyard_agent_drift_repairs_total',
      help: 'Objects or policies the agent had programmed, found missing or changed, and repaired; by kind',
      labelNames: ['kind'],
      registers,
    });
    this.peers = new prom.Gauge({
      name: 'switchyard_agent_peers',
      help: 'Peers by state (programmed, pending, refused)',
      labelNames: ['state'],
      registers,
    });
    this.peersRefused = new prom.Counter({
      name: 'switchyard_agent_peer_refusals_total',
      help: 'Times a peer was refused (backend type, VNI or subnet mismatch), by peer node',
      labelNames: ['node'],
      registers,
    });
    this.cniCalls = new prom.Counter({
      name: 'switchyard_agent_cni_calls_total',
      help: 'CNI calls served, by command and result',
      labelNames: ['command', 'result'],
      registers,
    });
    this.cniDuration = new prom.Histogram({
      name: 'switchyard_agent_cni_call_duration_seconds',
      help: 'Latency of CNI calls served, by command',
      labelNames: ['command'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  /** For the CNI handler: one call, its command (ADD, DEL, ...), whether it succeeded, and how long it took. */
  recordCniCall(command: string, result: 'ok' | 'error', seconds: number): void {
    this.cniCalls.inc({ command, result });
    this.cniDuration.observe({ command }, seconds);
  }
}

/** CNI calls served, for `switchyard status`: counts by command, errors, and p50/p95 latency from the histogram. */
export interface CniSummary {
  calls: number;
  errors: number;
  byCommand: Record<string, { calls: number; errors: number }>;
  /** Estimated from the histogram's buckets as Prometheus' histogram_quantile does; absent with no calls. */
  p50Ms?: number;
  p95Ms?: number;
}

export async function cniSummary(metrics: AgentMetrics): Promise<CniSummary> {
  const byCommand: CniSummary['byCommand'] = {};
  for (const v of (await metrics.cniCalls.get()).values) {
    const cmd = String(v.labels.command ?? '?');
    const e = (byCommand[cmd] ??= { calls: 0, errors: 0 });
    e.calls += v.value;
    if (v.labels.result === 'error') e.errors += v.value;
  }
  // Buckets summed over commands: cumulative counts per upper bound.
  const buckets = new Map<number, number>();
  for (const v of (await metrics.cniDuration.get()).values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const bound = (v.labels as Record<string, string | number | undefined>).le;
    const le = bound === '+Inf' ? Infinity : Number(bound);
    buckets.set(le, (buckets.get(le) ?? 0) + v.value);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const calls = Object.values(byCommand).reduce((n, c) => n + c.calls, 0);
  const errors = Object.values(byCommand).reduce((n, c) => n + c.errors, 0);
  const p50 = histogramQuantile(0.5, sorted);
  const p95 = histogramQuantile(0.95, sorted);
  return {
    calls,
    errors,
    byCommand,
    ...(p50 !== undefined ? { p50Ms: round(p50 * 1000) } : {}),
    ...(p95 !== undefined ? { p95Ms: round(p95 * 1000) } : {}),
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Linear interpolation inside the bucket holding the q-th observation; the +Inf bucket answers its lower bound. */
export function histogramQuantile(q: number, cumulative: [number, number][]): number | undefined {
  const total = cumulative.length ? cumulative[cumulative.length - 1][1] : 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of cumulative) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket > 0 ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export interface HealthSource {
  /** Alive: the process is serving and its loop is not wedged. */
  healthy(): boolean;
  /** Ready: network, host endpoint and CNI config exist; with the reasons when not. */
  readiness(): { ready: boolean; missing: string[] };
}

export interface MetricsServer {
  readonly address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(address: string, metrics: AgentMetrics, health: HealthSource): Promise<MetricsServer> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(address.slice(i + 1));
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (url === '/healthz') return health.healthy() ? reply(200, 'ok\n') : reply(503, 'unhealthy\n');
    if (url === '/readyz') {
      const r = health.readiness();
      return r.ready ? reply(200, 'ok\n') : reply(503, `not ready: ${r.missing.join(', ')}\n`);
    }
    if (url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => reply(200, text, metrics.registry.contentType),
        (e: Error) => reply(500, `${e.message}\n`),
      );
      return;
    }
    reply(404, 'not found: try /healthz, /readyz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`--metrics-address ${address}: cannot listen (${e.code ?? e.message})`)),
    );
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  const bound = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : address;
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
