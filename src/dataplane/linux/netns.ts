/**
 * Running a synchronous piece of work inside another network namespace. setns() affects only the calling
 * thread, and a socket opened there stays bound to that namespace after switching back, so the data plane
 * enters a namespace just long enough to open netlink sockets or write a sysctl.
 */
import * as fs from 'node:fs';
import { libc, OsError } from './netlink/libc';

const CLONE_NEWNET = 0x40000000;

/**
 * The calling thread's own namespace, opened once: nothing in this process moves a thread for good (setns
 * only here, always undone), so the descriptor taken at the first switch names it for the process's life
 * and a switch costs no open of /proc (every pod's attach switches). Per thread: worker threads load
 * their own copy of this module.
 */
let home: number | undefined;
function homeNetns(): number {
  return (home ??= fs.openSync('/proc/thread-self/ns/net', 'r'));
}

export function withNetns<T>(nsPath: string | undefined, fn: () => T): T {
  if (!nsPath) return fn();
  let target: number;
  try {
    target = fs.openSync(nsPath, 'r');
  } catch (e) {
    throw new OsError(
      'open network namespace',
      (e as NodeJS.ErrnoException).errno ? -((e as NodeJS.ErrnoException).errno as number) : 2,
      nsPath,
    );
  }
  try {
    return inNetns(homeNetns(), target, nsPath, fn);
  } finally {
    fs.closeSync(target);
  }
}

/** withNetns for a namespace the caller has open already (`label` names it in errors). */
export function withNetnsFd<T>(nsFd: number, label: string, fn: () => T): T {
  return inNetns(homeNetns(), nsFd, label, fn);
}

/** Switches nested inside another (fn of one calling withNetns again) on this thread now. */
let depth = 0;

function inNetns<T>(own: number, target: number, label: string, fn: () => T): T {
  // A nested switch returns to the namespace the outer one entered, not to the thread's own.
  const back = depth === 0 ? own : fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    const c = libc();
    if (c.setns(target, CLONE_NEWNET) !== 0) throw new OsError('setns', c.errno(), label);
    depth++;
    try {
      return fn();
    } finally {
      depth--;
      // Failing to return would leave the JS thread in the wrong namespace: nothing sensible can go on.
      if (c.setns(back, CLONE_NEWNET) !== 0) throw new OsError('setns back to the original namespace', c.errno());
    }
  } finally {
    if (back !== own) fs.closeSync(back);
  }
}

let nsfsDev: number | undefined;

/** True when `p` is a network namespace handle (a bind mount under /var/run/netns or /proc/<pid>/ns/net). */
export function isNetnsPath(p: string): boolean {
  try {
    const ns = fs.statSync(p);
    // nsfs inodes live on their own device (one per boot); a plain file on another filesystem is not a namespace.
    nsfsDev ??= fs.statSync('/proc/self/ns/net').dev;
    return ns.dev === nsfsDev;
  } catch {
    return false;
  }
}

/** Write a /proc/sys value inside the namespace (sysctls under net/ follow the opener's namespace). */
export function writeSysctl(nsPath: string | undefined, key: string, value: string): void {
  withNetns(nsPath, () => fs.writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value));
}

export function readSysctl(nsPath: string | undefined, key: string): string {
  return withNetns(nsPath, () => fs.readFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8').trim());
}
