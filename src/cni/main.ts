/**
 * Process glue for a CNI executable: environment and stdin in, result or error JSON out, exit status.
 * Kept tiny: every entrypoint imports only this, the protocol and its own plugin module.
 */
import * as fs from 'node:fs';
import { dispatch, STDIN_LIMIT, type PluginFuncs } from './protocol/skel';
import { CniError, ErrCode } from './protocol/errors';
import { ALL_VERSIONS } from './protocol/versions';
import { getLogger } from '../util/log';
import { preferPollingLocks } from '../util/file-lock';

export const SWITCHYARD_VERSION = '0.1.0';

/** Reads stdin up to STDIN_LIMIT (+1 byte, so the dispatcher can refuse a larger config with code 5). */
function readStdin(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = fs.readSync(0, buf, 0, buf.length, null);
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
        total += n;
        if (total > STDIN_LIMIT) break;
      }
      resolve(Buffer.concat(chunks));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EOF') {
        const chunks: Buffer[] = [];
        let total = 0;
        process.stdin.on('data', (d: Buffer) => {
          chunks.push(d);
          total += d.length;
          if (total > STDIN_LIMIT) {
            process.stdin.destroy();
            resolve(Buffer.concat(chunks));
          }
        });
        process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
        process.stdin.on('error', reject);
        return;
      }
      reject(e);
    }
  });
}

export async function runPlugin(funcs: PluginFuncs, about: string, supported: readonly string[] = ALL_VERSIONS): Promise<void> {
  const started = process.hrtime.bigint();
  preferPollingLocks();
  let outcome;
  try {
    outcome = await dispatch({ env: process.env, readStdin }, funcs, about, supported);
  } catch (e) {
    outcome = {
      stdout: new CniError(ErrCode.Internal, `internal error: ${(e as Error)?.stack ?? String(e)}`).print(),
      stderr: '',
      exitCode: 1,
    };
  }
  logOutcome(about, process.env, outcome, Number(process.hrtime.bigint() - started) / 1e6);
  if (outcome.stderr) process.stderr.write(outcome.stderr);
  if (outcome.stdout) fs.writeSync(1, outcome.stdout);
  process.exitCode = outcome.exitCode;
  // A call cut off by its deadline may still have work pending (a hung filesystem, a stuck delegate): the
  // runtime has its answer, so the process ends now rather than whenever that work does.
  if (outcome.deadline) setImmediate(() => process.exit(outcome.exitCode)).unref();
}

function loggable(v: string | undefined, shape: RegExp): string | undefined {
  if (v === undefined || v === '') return v;
  return shape.test(v) ? v : '(malformed, not logged)';
}

/**
 * One line per invocation in SWITCHYARD_LOG_FILE (when set): which command for which container, how it
 * ended and how long it took. Only identity fields from the environment are logged, never the config
 * (runtimeConfig can carry anything a runtime passes).
 */
export function logOutcome(
  about: string,
  env: Record<string, string | undefined>,
  outcome: { stdout: string; exitCode: number },
  ms: number,
): void {
  const log = getLogger(about.split(' ')[1] ?? 'cni', env as NodeJS.ProcessEnv);
  // Identity fields are logged only in the shape the runtime sends them: a value that fails the shape is
  // an arbitrary string (issue 11, defect 7) and is named, not written.
  const meta: Record<string, unknown> = {
    command: loggable(env.CNI_COMMAND, /^[A-Z]{1,16}$/),
    containerId: loggable(env.CNI_CONTAINERID, /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,255}$/),
    netns: loggable(env.CNI_NETNS, /^[\w./:{}-]{1,1024}$/),
    ifname: loggable(env.CNI_IFNAME, /^[^\s/:]{1,15}$/),
    ms: Math.round(ms * 10) / 10,
  };
  if (outcome.exitCode === 0) return log.info('cni call succeeded', meta);
  let error: unknown = outcome.stdout;
  try {
    error = JSON.parse(outcome.stdout);
  } catch {
    // keep the raw text
  }
  log.error('cni call failed', { ...meta, error });
}
