/**
 * Background processes the lab leaves running (etcd, the fake API server, one agent per node): started in
 * their own session with output to a log file, so `lab up` can exit and they keep running, and recorded by
 * pid *and* kernel start time, so `lab down` (possibly much later) only ever signals the process the lab
 * started, never an unrelated one that reused the pid.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

export interface LabProcess {
  /** What it is, for messages and `lab list` (etcd, apiserver, agent <node>). */
  name: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot): with the pid, identifies this very process. */
  startTime: string;
  log: string;
}

/** The kernel's start time of a pid, or undefined when no such process exists. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: count fields from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True while the recorded process (same pid, same start time) is alive and not a zombie. */
export function isRunning(p: Pick<LabProcess, 'pid' | 'startTime'>): boolean {
  if (processStartTime(p.pid) !== p.startTime) return false;
  try {
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Starts argv in a new session (it outlives the caller), stdout and stderr appended to `log`. */
export function startProcess(name: string, argv: string[], opts: { env?: NodeJS.ProcessEnv; log: string }): LabProcess {
  const fd = fs.openSync(opts.log, 'a', 0o600);
  try {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: opts.env ?? process.env });
    if (child.pid === undefined) throw new Error(`${name}: could not start ${argv[0]}`);
    child.unref();
    // Reap it if it ends while this process still runs (otherwise it stays a zombie until we exit).
    child.on('error', () => undefined);
    const startTime = processStartTime(child.pid);
    if (startTime === undefined) throw new Error(`${name} (${argv[0]}) exited at once: see ${opts.log}`);
    return { name, pid: child.pid, startTime, log: opts.log };
  } finally {
    fs.closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signals the recorded process (only if it is still that process) and waits for it to end; SIGKILL after graceMs. */
export async function stopProcess(p: LabProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<boolean> {
  if (!isRunning(p)) return false;
  try {
    process.kill(p.pid, signal);
  } catch {
    return false;
  }
  const end = Date.now() + graceMs;
  while (isRunning(p)) {
    if (Date.now() > end) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // ended meanwhile
      }
      await sleep(50);
      if (Date.now() > end + 5000) break;
    }
    await sleep(20);
  }
  return true;
}

/** Waits until `ready()` is true, failing with the process's log tail if it exits or time runs out. */
export async function waitUntil(p: LabProcess, what: string, ready: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    const tail = () => {
      try {
        return fs.readFileSync(p.log, 'utf8').slice(-2000);
      } catch {
        return '';
      }
    };
    if (!isRunning(p)) throw new Error(`${p.name} exited before ${what}:\n${tail()}`);
    if (Date.now() > end) throw new Error(`${p.name}: not ${what} after ${timeoutMs} ms:\n${tail()}`);
    await sleep(20);
  }
}

/** stopProcess for synchronous callers (`lab down`, test cleanup): polls with a blocking sleep. */
export function stopProcessSync(p: LabProcess, graceMs = 5000): boolean {
  if (!isRunning(p)) return false;
  const nap = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return false;
  }
  const end = Date.now() + graceMs;
  while (isRunning(p) && Date.now() < end) nap(20);
  if (isRunning(p)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
    for (let i = 0; i < 250 && isRunning(p); i++) nap(20);
  }
  return true;
}
