/**
 * One CNI call executed inside a long-lived process (the agent's fast path): the plugin named as the
 * runtime invoked it, the call's own environment and stdin bytes, and the outcome the standalone
 * entrypoint would print — same dispatcher, same handlers, same locks (the IPAM store's `lock` file and
 * the data plane's state lock are flock/LockFileEx locks per open file, so agent and standalone calls
 * exclude each other exactly as two standalone calls do). Calls are independent: nothing here serializes
 * them, only those locks do.
 */
import { dispatch, type Outcome } from './protocol/skel';
import { CniError, ErrCode } from './protocol/errors';
import { lookupPlugin } from './registry';
import { runWithCallContext } from './call-context';
import { logOutcome } from './main';
import type { WarmServices } from './warm-services';

export interface CniExecRequest {
  plugin: string;
  /** The call's environment as the runtime set it (CNI_*, SWITCHYARD_*). */
  env: Record<string, string>;
  stdin: Buffer;
}

export interface CniExecOptions {
  /**
   * Defaults under the call's own variables: the agent's data-plane selection (SWITCHYARD_DATAPLANE,
   * SWITCHYARD_STATE, …) and PATH for delegated IPAM plugins. The call's variables win.
   */
  baseEnv?: Record<string, string | undefined>;
  /** Data planes kept open across calls (warm-services.ts); without it each call opens and closes its own. */
  services?: WarmServices;
}

export async function execCni(req: CniExecRequest, opts: CniExecOptions = {}): Promise<Outcome> {
  const started = process.hrtime.bigint();
  const env: Record<string, string | undefined> = { ...(opts.baseEnv ?? {}), ...req.env };
  const plugin = lookupPlugin(req.plugin);
  if (!plugin) {
    // What a runtime would see had it executed a name this build does not provide.
    const e = new CniError(
      ErrCode.PluginNotAvailable,
      `unknown plugin ${JSON.stringify(req.plugin)}`,
      'this agent serves win-bridge, win-overlay, switchyard and switchyard-ipam',
    );
    return { stdout: e.print(), stderr: '', exitCode: 1 };
  }
  const stderr: Buffer[] = [];
  let outcome: Outcome;
  try {
    outcome = await runWithCallContext({ stderr, services: opts.services }, () =>
      dispatch({ env, readStdin: async () => req.stdin }, plugin.funcs(), plugin.about),
    );
  } catch (e) {
    outcome = {
      stdout: new CniError(ErrCode.Internal, `internal error: ${(e as Error)?.stack ?? String(e)}`).print(),
      stderr: '',
      exitCode: 1,
    };
  }
  logOutcome(plugin.about, env, outcome, Number(process.hrtime.bigint() - started) / 1e6);
  // Delegated plugins' stderr came first in the standalone process too (written as it arrived).
  if (stderr.length > 0) outcome = { ...outcome, stderr: Buffer.concat(stderr).toString('utf8') + outcome.stderr };
  return outcome;
}
