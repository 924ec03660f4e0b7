/** What the sync's parts share: the host network service, the log, the counters and how a failed HNS call is reported. */
import type { HostNetworkService } from '../../dataplane/types';
import type { ProxyCounters } from './counters';

export type ProxyLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ProxyLogger = (level: ProxyLogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface SyncContext {
  readonly hns: HostNetworkService;
  readonly counters: ProxyCounters;
  readonly log: ProxyLogger;
}

/** A failed HNS call: logged with what and for which Service, counted; the next full sync retries it. */
export function reportFailure(ctx: SyncContext, e: unknown, what: string, service?: string): void {
  ctx.counters.errors++;
  ctx.log('error', `${what}${service ? ` for service ${service}` : ''}: ${(e as Error).message}`, { service });
}
