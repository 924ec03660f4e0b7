/**
 * Crash injection for the "killed mid-ADD" tests: with SWITCHYARD_FAILPOINT=<name> the process dies exactly
 * at that point, as with SIGKILL. Points: linux.endpoint.before-create, linux.endpoint.after-create,
 * linux.attach.after-links.
 */
export type Failpoint = 'linux.endpoint.before-create' | 'linux.endpoint.after-create' | 'linux.attach.after-links';

export function failpoint(env: NodeJS.ProcessEnv, name: Failpoint): void {
  if (env.SWITCHYARD_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}
