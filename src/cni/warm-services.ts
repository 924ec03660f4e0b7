/**
 * Data planes kept open across the agent's CNI calls (issue 10's warm state): opening one per call costs a
 * netlink socket, the koffi bindings and a link dump (the linux plane's open-time reconcile check). One
 * open data plane per distinct data-plane selection (the call's SWITCHYARD_* variables), shared by
 * concurrent calls: every mutation works on the newest state under the state lock (re-read from the file
 * whenever this process let the lock go: linux/state-store.ts), so standalone plugins
 * writing the same state interleave as before. What a standalone process may leave behind when killed is
 * what the open-time check repairs; a kept-open plane runs that check again before a call whenever
 * another process replaced the state file since this one last wrote or checked it (`revalidate`).
 */
import type { HostNetworkService } from '../dataplane/types';
import { noteCachedNetwork } from './call-context';

/**
 * What a data plane may offer beyond HostNetworkService (the linux plane does): re-running its open-time
 * checks, and running one call's work as a batch whose state writes are deferred to its end and shared
 * with concurrent calls (one durable write instead of one per HCN call).
 */
interface Revalidating {
  revalidate?(): Promise<void>;
  batch?<T>(fn: () => Promise<T>): Promise<T>;
}

/** fn(s) as one batch where the data plane offers it (the result is durable when this resolves). */
export function inBatch<T>(s: HostNetworkService, fn: (s: HostNetworkService) => Promise<T>): Promise<T> {
  const b = s as HostNetworkService & Revalidating;
  return b.batch ? b.batch(() => fn(s)) : fn(s);
}

/** Distinct selections kept open; beyond this, calls open and close their own (no unbounded growth). */
const MAX_OPEN = 8;

/**
 * How long an ADD may use a network looked up by name by an earlier call (ms). An ADD needs the network's
 * ID and type, which change only when the network is deleted and re-created: an endpoint create on a
 * vanished ID fails as not found, which drops the entry and re-runs the ADD with a fresh lookup
 * (call-context.ts). The bound covers in-place changes of the fields the endpoint document reads
 * (subnets, the provider address), made by another process.
 */
const NETWORK_TTL_MS = 10_000;

export class WarmServices {
  private readonly open = new Map<string, Promise<HostNetworkService>>();
  /** Networks looked up by name for ADDs, per kept-open data plane (`v1:` / `v2:` + name). */
  private readonly networks = new WeakMap<HostNetworkService, Map<string, { net: { ID?: string }; at: number }>>();

  /**
   * A network by name for an ADD: from this data plane's cache when looked up less than NETWORK_TTL_MS ago
   * (a data plane call saved: on Windows each costs milliseconds), else `load`ed and remembered. Only data
   * planes kept open here are cached (an instance opened for one call is not in `open`).
   */
  async networkByName<N extends { ID?: string }>(s: HostNetworkService, key: string, load: () => Promise<N>): Promise<N> {
    let byName = this.networks.get(s);
    if (!byName) this.networks.set(s, (byName = new Map()));
    const hit = byName.get(key);
    if (hit && Date.now() - hit.at < NETWORK_TTL_MS) {
      noteCachedNetwork(hit.net.ID);
      return structuredClone(hit.net) as N;
    }
    const net = await load();
    byName.set(key, { net: structuredClone(net), at: Date.now() });
    return net;
  }

  /** Drops the cached lookups of data plane `s` that resolved to `id` (it was not found). */
  forgetNetwork(s: HostNetworkService, id: string): void {
    const byName = this.networks.get(s);
    const want = id.toLowerCase();
    for (const [k, v] of byName ?? []) if ((v.net.ID ?? '').toLowerCase() === want) byName!.delete(k);
  }

  /**
   * `shared`: a data plane the caller already has open for the selection `env` names (the agent's own): calls
   * with that selection use it instead of opening a second instance of the same state in this process — which
   * would take every write of the other for another process's (a re-read and the open-time check). Never
   * closed here.
   */
  constructor(
    private readonly opener: (env: Record<string, string | undefined>) => Promise<HostNetworkService>,
    shared?: { env: Record<string, string | undefined>; service: HostNetworkService },
  ) {
    if (shared) {
      this.open.set(selection(shared.env), Promise.resolve(shared.service));
      this.shared = shared.service;
    }
  }

  private readonly shared?: HostNetworkService;

  async with<T>(env: Record<string, string | undefined>, fn: (s: HostNetworkService) => Promise<T>): Promise<T> {
    const key = selection(env);
    let pending = this.open.get(key);
    if (!pending) {
      if (this.open.size >= MAX_OPEN) return this.once(env, fn);
      pending = this.opener(env);
      this.open.set(key, pending);
      // A failed open is not kept: the next call tries again (and reports its own error).
      pending.catch(() => this.open.get(key) === pending && this.open.delete(key));
      const s = await pending;
      return inBatch(s, fn);
    }
    const s = await pending;
    await (s as Revalidating).revalidate?.();
    return inBatch(s, fn);
  }

  private async once<T>(env: Record<string, string | undefined>, fn: (s: HostNetworkService) => Promise<T>): Promise<T> {
    const s = await this.opener(env);
    try {
      return await inBatch(s, fn);
    } finally {
      await s.close();
    }
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const p of all) {
      const s = await p.catch(() => undefined);
      if (s && s !== this.shared) await s.close();
    }
  }
}

/**
 * The data-plane selection a call's environment makes: its SWITCHYARD_* variables, less the native
 * entrypoint's own (SWITCHYARD_AGENT_*: which agent to reach, how long to wait), which select nothing here.
 */
function selection(env: Record<string, string | undefined>): string {
  return JSON.stringify(
    Object.keys(env)
      .filter((k) => k.startsWith('SWITCHYARD_') && !k.startsWith('SWITCHYARD_AGENT_'))
      .sort()
      .map((k) => [k, env[k]]),
  );
}
