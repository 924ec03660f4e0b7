/**
 * A CNI process the crash suites may SIGKILL at a chosen instant: spawned in its own process group and killed
 * whole, as a reboot or kubelet's timeout would (a delegated IPAM plugin dies with it).
 */
import { spawn } from 'node:child_process';

export interface KillableOutcome {
  code: number;
  stdout: string;
  /** The kill landed: the process ended by our SIGKILL. */
  killed: boolean;
}

export function runKillable(
  file: string,
  env: NodeJS.ProcessEnv,
  stdin: object,
  killAfterMs: number | undefined,
): Promise<KillableOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, detached: true });
    let out = '';
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    if (killAfterMs !== undefined) {
      timer = setTimeout(() => {
        killed = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, killAfterMs);
    }
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', () => {});
    child.on('error', reject);
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(stdin));
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: out, killed: killed && signal === 'SIGKILL' });
    });
  });
}
