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
