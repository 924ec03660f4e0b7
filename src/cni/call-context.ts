/**
 * Where a CNI call's stderr goes. A standalone entrypoint owns its process, so stderr is the process's;
 * inside the agent many calls run at once, so each call's stderr (a delegated IPAM plugin's diagnostics)
 * is collected for its own reply. AsyncLocalStorage keeps the plugin code free of an extra parameter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface CallContext {
  stderr: Buffer[];
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
