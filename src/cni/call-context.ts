/**
 * Where a CNI call's stderr goes. A standalone entrypoint owns its process, so stderr is the process's;
 * inside the agent many calls run at once, so each call's stderr (a delegated IPAM plugin's diagnostics)
 * is collected for its own reply. AsyncLocalStorage keeps the plugin code free of an extra parameter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface CallContext {
  stderr: Buffer[];
  /** Data planes kept open across calls (the agent's warm-services.ts); absent: open and close per call. */
  services?: import('./warm-services').WarmServices;
  /** Network IDs this call took from the warm lookup cache (lower case). */
  cachedNetworks?: Set<string>;
  /** One of them turned out to be gone: the ADD runs once more with a fresh lookup. */
  staleNetwork?: boolean;
}

const storage = new AsyncLocalStorage<CallContext>();

export function runWithCallContext<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(ctx, fn);
}

export function writeCallStderr(data: Buffer): void {
  const ctx = storage.getStore();
  if (ctx) ctx.stderr.push(data);
  else process.stderr.write(data);
}

/** The running call's kept-open data planes, when its process keeps them (the agent). */
export function callServices(): CallContext['services'] {
  return storage.getStore()?.services;
}

/** Records that the running call uses a network ID from the warm lookup cache. */
export function noteCachedNetwork(id: string | undefined): void {
  const ctx = storage.getStore();
  if (ctx && id) (ctx.cachedNetworks ??= new Set()).add(id.toLowerCase());
}

/**
 * A data-plane call that named `networkId` failed with `e`: when the ID came from the warm cache and the
 * data plane says it is not found (the network was deleted, or re-created under a new ID), the entry is
 * dropped and the call is marked for one retry with a fresh lookup (takeStaleNetwork).
 */
export function noteNetworkFailure(
  s: import('../dataplane/types').HostNetworkService,
  networkId: string | undefined,
  e: unknown,
  notFound: (e: unknown) => boolean,
): void {
  const ctx = storage.getStore();
  if (!ctx || !networkId || !ctx.cachedNetworks?.has(networkId.toLowerCase()) || !notFound(e)) return;
  ctx.services?.forgetNetwork(s, networkId);
  ctx.cachedNetworks.delete(networkId.toLowerCase());
  ctx.staleNetwork = true;
}

/**
 * An existing endpoint names another network than `networkId`: when that ID came from the warm cache,
 * the cache may be what is stale (the network was re-created), so the entry is dropped, the call is
 * marked for a retry with a fresh lookup, and true tells the caller to stop before removing anything.
 */
export function suspectCachedNetwork(s: import('../dataplane/types').HostNetworkService, networkId: string | undefined): boolean {
  const ctx = storage.getStore();
  if (!ctx || !networkId || !ctx.cachedNetworks?.has(networkId.toLowerCase())) return false;
  noteNetworkFailure(s, networkId, undefined, () => true);
  return true;
}

/** Whether the running call failed on a stale cached network (and clears the mark: one retry only). */
export function takeStaleNetwork(): boolean {
  const ctx = storage.getStore();
  if (!ctx?.staleNetwork) return false;
  ctx.staleNetwork = false;
  return true;
}
