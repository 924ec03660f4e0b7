/**
 * Data planes kept open across the agent's CNI calls (issue 10's warm state): opening one per call costs a
 * netlink socket, the koffi bindings and a link dump (the linux plane's open-time reconcile check). One
 * open data plane per distinct data-plane selection (the call's SWITCHYARD_* variables), shared by
 * concurrent calls: every operation still re-reads the state file under its lock, so standalone plugins
 * writing the same state interleave as before. What a standalone process may leave behind when killed is
 * what the open-time check repairs; a kept-open plane runs that check again before a call whenever
 * another process replaced the state file since this one last wrote or checked it (`revalidate`).
 */
import type { HostNetworkService } from '../dataplane/types';

/** A data plane that can re-run its open-time checks (the linux plane); others need none. */
interface Revalidating {
  revalidate?(): Promise<void>;
}

/** Distinct selections kept open; beyond this, calls open and close their own (no unbounded growth). */
const MAX_OPEN = 8;

export class WarmServices {
  private readonly open = new Map<string, Promise<HostNetworkService>>();

  constructor(private readonly opener: (env: Record<string, string | undefined>) => Promise<HostNetworkService>) {}

  async with<T>(env: Record<string, string | undefined>, fn: (s: HostNetworkService) => Promise<T>): Promise<T> {
    const key = JSON.stringify(
      Object.keys(env)
        .filter((k) => k.startsWith('SWITCHYARD_'))
        .sort()
        .map((k) => [k, env[k]]),
    );
    let pending = this.open.get(key);
    if (!pending) {
      if (this.open.size >= MAX_OPEN) return this.once(env, fn);
      pending = this.opener(env);
      this.open.set(key, pending);
      // A failed open is not kept: the next call tries again (and reports its own error).
      pending.catch(() => this.open.get(key) === pending && this.open.delete(key));
      const s = await pending;
      return fn(s);
    }
    const s = await pending;
    await (s as Revalidating).revalidate?.();
    return fn(s);
  }

  private async once<T>(env: Record<string, string | undefined>, fn: (s: HostNetworkService) => Promise<T>): Promise<T> {
    const s = await this.opener(env);
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const p of all) await (await p.catch(() => undefined))?.close();
  }
}
