/**
 * The agent's memory of host-local store directories. Every ADD and DEL needs the reservations of the
 * network (the attachment's own, host-local's duplicate check; DEL's release by ID), which means reading
 * every reservation file: ~20 µs each measured here, ~0.5 ms per call at 50 pods, ~3 ms at 300, on the
 * agent's one JS thread. A listing is reused while the directory's stamp (device, inode, ctime, mtime) is
 * the one recorded with it: adding or removing a name changes the directory's ctime and mtime, and a
 * reservation file is written whole under the store lock and never rewritten (here and in host-local).
 *
 * An unchanged stamp proves "no change" only where a directory's timestamps are fine-grained once they
 * have been read (multigrain timestamps: Linux 6.13+ on ext4, xfs, btrfs, tmpfs); with a coarse clock two
 * changes within one tick leave the same stamp. So each filesystem is probed first (successive changes,
 * each after a stat, must all get distinct timestamps), and the cache stays off where the probe fails, on
 * other systems, and outside the agent (enableListingCache). Used and refreshed only under the store's
 * lock, which every writer (this store, host-local) holds while it changes the directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface Listing<R> {
  stamp: string;
  /** File name → reservation. */
  entries: Map<string, R>;
}

let enabled = false;
const listings = new Map<string, Listing<unknown>>();
/** Per device (st_dev): whether the probe found fine-grained directory timestamps. */
const probed = new Map<string, boolean>();

/** Lets this process reuse listings (the agent, which calls ADD and DEL on the same stores all day); `on` false for tests. */
export function enableListingCache(on = true): void {
  enabled = on && process.platform === 'linux';
  if (!enabled) {
    listings.clear();
    decided.clear();
  }
}

/** The directory's stamp, or undefined when it cannot be read. */
export function dirStamp(dir: string): string | undefined {
  try {
    const st = fs.statSync(dir, { bigint: true });
    return `${st.dev}:${st.ino}:${st.ctimeNs}:${st.mtimeNs}`;
  } catch {
    return undefined;
  }
}

/** Per store directory: the device it was on when its probe directory was checked, and the answer. */
const decided = new Map<string, { dev: string; ok: boolean }>();

/**
 * Whether listings of `dir` may be kept, given its current `stamp` (dirStamp): the cache is on and `dir`'s
 * filesystem passed the probe, run in `probeDir` (a directory of this project's own on the same filesystem;
 * the store directory itself is left exactly as host-local keeps it). Decided once per directory and device,
 * so a call pays no system call here.
 */
export function cacheable(dir: string, probeDir: string, stamp: string | undefined): boolean {
  if (!enabled || stamp === undefined) return false;
  const dev = stamp.slice(0, stamp.indexOf(':'));
  const known = decided.get(dir);
  if (known?.dev === dev) return known.ok;
  let ok: boolean;
  try {
    ok = String(fs.statSync(probeDir, { bigint: true }).dev) === dev;
  } catch {
    return false;
  }
  if (ok) {
    let fine = probed.get(dev);
    if (fine === undefined) probed.set(dev, (fine = fineGrainedAfterRead(probeDir)));
    ok = fine;
  }
  decided.set(dir, { dev, ok });
  return ok;
}

/**
 * Makes and removes a few names in a fresh subdirectory of `parent`, reading the subdirectory's ctime
 * after each change: with multigrain timestamps every change after a read gets a later timestamp; with a
 * coarse clock the changes, microseconds apart, share one. `stat` is for tests.
 */
export function fineGrainedAfterRead(
  parent: string,
  stat: (p: string) => bigint = (p) => fs.statSync(p, { bigint: true }).ctimeNs,
): boolean {
  const dir = path.join(parent, `.mgtime-probe.${randomBytes(6).toString('hex')}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch {
    return false;
  }
  try {
    let last = stat(dir);
    for (let i = 0; i < 6; i++) {
      const f = path.join(dir, String(i));
      fs.writeFileSync(f, '');
      const t = stat(dir);
      if (t <= last) return false;
      last = t;
    }
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The listing of `dir` if its stamp is still `stamp`. */
export function validListing<R>(dir: string, stamp: string | undefined): Listing<R> | undefined {
  const l = listings.get(dir) as Listing<R> | undefined;
  return l && stamp !== undefined && l.stamp === stamp ? l : undefined;
}

export function keepListing<R>(dir: string, listing: Listing<R>): void {
  listings.set(dir, listing as Listing<unknown>);
}

export function dropListing(dir: string): void {
  listings.delete(dir);
}
