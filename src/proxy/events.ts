/**
 * Findings as Kubernetes events about their Service (events.k8s.io/v1, what kube-proxy's event recorder
 * writes), so `kubectl describe service` and `kubectl get events` show what the proxy could not do as asked —
 * not only the node's log and metrics. Events are best effort: a failed post is logged and counted, never
 * retried into a storm, and never holds up a sync. A token bucket bounds the rate (a resync that re-reports
 * many Services cannot flood the API server); what it drops is counted.
 */
import { EventsV1Api, V1MicroTime, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { ProxyFinding } from './core';

/** Who reports: the controller name and this node (the instance, as client-go's recorder names it). */
export const REPORTING_CONTROLLER = 'switchyard-proxy';
const NOTE_MAX = 1024;

export interface FindingEventsOptions {
  nodeName: string;
  /** The Service's UID, so `kubectl describe service` (which selects events by UID) shows the event. */
  serviceUid?: (namespace: string, name: string) => string | undefined;
  log?: (level: 'warn' | 'debug', message: string, fields?: Record<string, unknown>) => void;
  /** Events that may be posted at once (default 25) and the time one more token takes (default 1 s). */
  burst?: number;
  refillMs?: number;
  /** Where events go; the default posts through `kc` with the events.k8s.io/v1 client. */
  post?: (namespace: string, body: EventsV1Event) => Promise<unknown>;
  now?: () => number;
}

export class FindingEvents {
  /** Events posted, failed (the API server refused or was unreachable) and dropped by the rate limit. */
  readonly counts = { posted: 0, failed: 0, dropped: 0 };
  private readonly post: (namespace: string, body: EventsV1Event) => Promise<unknown>;
  private readonly inFlight = new Set<Promise<void>>();
  private tokens: number;
  private refilledAt: number;
  private seq = 0;

  constructor(
    kc: KubeConfig | undefined,
    private readonly opts: FindingEventsOptions,
  ) {
    if (opts.post) this.post = opts.post;
    else {
      if (!kc) throw new Error('FindingEvents: a kubeconfig or a post function is required');
      const eventsApi = kc.makeApiClient(EventsV1Api);
      this.post = (namespace, body) => eventsApi.createNamespacedEvent({ namespace, body });
    }
    this.tokens = opts.burst ?? 25;
    this.refilledAt = this.now();
  }

  /** Posts one event for `f` unless the rate limit says no (then it is counted as dropped). */
  record(f: ProxyFinding): void {
    const slash = f.service.indexOf('/');
    if (slash <= 0) return; // not a namespaced Service key: nothing to attach an event to
    if (!this.take()) {
      this.counts.dropped++;
      return;
    }
    const namespace = f.service.slice(0, slash);
    const name = f.service.slice(slash + 1);
    const body = this.event(f, namespace, name);
    const p = this.post(namespace, body).then(
      () => {
        this.counts.posted++;
      },
      (e: unknown) => {
        this.counts.failed++;
        const err = e as { code?: number; message?: string };
        this.opts.log?.('warn', `event for service ${f.service} (${f.reason}) was not recorded: ${err.message ?? String(e)}`, {
          service: f.service,
          reason: f.reason,
          ...(err.code ? { status: err.code } : {}),
        });
      },
    );
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Resolves once every event recorded so far was posted or failed. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private event(f: ProxyFinding, namespace: string, name: string): EventsV1Event {
    const t = this.now();
    const uid = this.opts.serviceUid?.(namespace, name);
    return {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // client-go's recorder names events <object>.<time in hex>; the sequence keeps two in one ms apart.
      metadata: { name: `${name}.${(BigInt(t) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`, namespace },
      eventTime: new V1MicroTime(t),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: `${REPORTING_CONTROLLER}-${this.opts.nodeName}`.slice(0, 128),
      action: 'ProgramLoadBalancers',
      reason: f.reason,
      type: 'Warning',
      note: truncate(f.message, NOTE_MAX),
      regarding: { apiVersion: 'v1', kind: 'Service', namespace, name, ...(uid ? { uid } : {}) },
      related: { apiVersion: 'v1', kind: 'Node', name: this.opts.nodeName },
    };
  }

  private take(): boolean {
    const burst = this.opts.burst ?? 25;
    const refill = this.opts.refillMs ?? 1000;
    const now = this.now();
    const earned = Math.floor((now - this.refilledAt) / refill);
    if (earned > 0) {
      this.tokens = Math.min(burst, this.tokens + earned);
      this.refilledAt += earned * refill;
    }
    if (this.tokens <= 0) return false;
    this.tokens--;
    return true;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}

/** At most `max` bytes of UTF-8, cut on a character boundary. */
function truncate(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = s;
  while (Buffer.byteLength(out) > max - 3) out = out.slice(0, -1);
  return `${out}...`;
}
