/**
 * Running a synchronous piece of work inside another network namespace. setns() affects only the calling
 * thread, and a socket opened there stays bound to that namespace after switching back, so the data plane
 * enters a namespace just long enough to open netlink sockets or write a sysctl.
 */
import * as fs from 'node:fs';
import { libc, OsError } from './netlink/libc';

const CLONE_NEWNET = 0x40000000;

export function withNetns<T>(nsPath: string | undefined, fn: () => T): T {
  if (!nsPath) return fn();
  const self = fs.openSync('/proc/thread-self/ns/net', 'r');
  let target: number;
  try {
    target = fs.openSync(nsPath, 'r');
  } catch (e) {
    fs.closeSync(self);
    throw new OsError(
      'open network namespace',
      (e as NodeJS.ErrnoException).errno ? -((e as NodeJS.ErrnoException).errno as number) : 2,
      nsPath,
    );
  }
  try {
    return inNetns(self, target, nsPath, fn);
  } finally {
    fs.closeSync(target);
    fs.closeSync(self);
  }
}

/** withNetns for a namespace the caller has open already (`label` names it in errors). */
export function withNetnsFd<T>(nsFd: number, label: string, fn: () => T): T {
  const self = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    return inNetns(self, nsFd, label, fn);
  } finally {
    fs.closeSync(self);
  }
}

function inNetns<T>(self: number, target: number, label: string, fn: () => T): T {
  const c = libc();
  if (c.setns(target, CLONE_NEWNET) !== 0) throw new OsError('setns', c.errno(), label);
  try {
    return fn();
  } finally {
    // Failing to return would leave the JS thread in the wrong namespace: nothing sensible can go on.
    if (c.setns(self, CLONE_NEWNET) !== 0) throw new OsError('setns back to the original namespace', c.errno());
  }
}

/** True when `p` is a network namespace handle (a bind mount under /var/run/netns or /proc/<pid>/ns/net). */
export function isNetnsPath(p: string): boolean {
  try {
    const ns = fs.statSync(p);
    const own = fs.statSync('/proc/self/ns/net');
    // nsfs inodes live on their own device; a plain file on another filesystem is not a namespace.
    return ns.dev === own.dev;
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
