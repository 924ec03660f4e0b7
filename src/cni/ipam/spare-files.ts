/**
 * Spare inodes for the agent's per-pod files: a pod's ADD creates its in-flight marker and its reservation
 * file, removes the marker at its end and the reservation at DEL. Instead of freeing those inodes and
 * allocating new ones for the next pod, the agent renames a file it would remove into a spare name and
 * gives a spare its next name with link(2), which fails with EEXIST on a taken name exactly as
 * O_CREAT|O_EXCL does; the spare's old name is then unlinked (the inode keeps the new one).
 *
 * Why: on ext4 without a journal (common for VM root disks, such as this project's CI machines), each
 * inode allocation steps over every inode of its block group freed in the last minutes (`recently_deleted`,
 * one inode-table lookup per candidate), so under pod churn a file creation costs hundreds of µs on the
 * agent's one thread; on any filesystem an allocation and a free are metadata writes a rename does not need.
 *
 * Only in the long-lived agent (enableSpareFiles), on Linux. Spares live beside the in-flight markers
 * (`<dataDir>/.switchyard-inflight/<network>/.spare.<pid>-<tag>.<n>`), never in the store directory, which
 * stays host-local's exactly; neither store takes a dot-file for a reservation. A pool belongs to one
 * process (its tag): two processes linking one spare would give two files one inode. Spares of a process
 * that is gone are removed by the store's sweep (removeDeadSpares).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Spares kept per directory: a node's churn of pods between two ADDs rarely exceeds this. */
const LIMIT = 128;

let enabled = false;
const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
let seq = 0;
const pools = new Map<string, string[]>();

/** Lets this process keep spare inodes (the agent); `on` false for tests. */
export function enableSpareFiles(on = true): void {
  enabled = on && process.platform === 'linux';
  if (!enabled) removeSpares();
  // A process that ends normally takes its spares with it; a killed one leaves them to the sweep.
  else if (!exitHook) process.once('exit', (exitHook = removeSpares));
}
let exitHook: (() => void) | undefined;

/** Removes every spare this process keeps (its exit, or the pool switched off). */
function removeSpares(): void {
  for (const pool of pools.values())
    for (const spare of pool.splice(0)) {
      try {
        fs.unlinkSync(spare);
      } catch {
        // gone already
      }
    }
  pools.clear();
}

/** Spares kept for `poolDir` now (tests). */
export function sparesKept(poolDir: string): number {
  return pools.get(poolDir)?.length ?? 0;
}

/**
 * Gives `file` (absent) a spare inode from `poolDir`: true when done (the file exists, 0600, with whatever
 * its last user wrote: the caller overwrites it), false when there is none (the caller creates the file as
 * before). A taken name throws EEXIST, as an exclusive create would, and the spare stays.
 */
export function linkSpare(poolDir: string, file: string): boolean {
  const pool = enabled ? pools.get(poolDir) : undefined;
  const spare = pool?.pop();
  if (!spare) return false;
  try {
    fs.linkSync(spare, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      pool!.push(spare);
      throw e;
    }
    // A spare removed behind this process's back (ENOENT) is forgotten; another filesystem (EXDEV) or
    // anything else: the caller creates the file.
    if (code !== 'ENOENT') pool!.push(spare);
    return false;
  }
  try {
    fs.unlinkSync(spare);
  } catch {
    // The inode has its new name; a leftover old name is a spare nobody will link again (swept as dead).
  }
  return true;
}

/**
 * Takes `file` out of the way (as removing it would) by keeping its inode as a spare of `poolDir`: true
 * when kept or already absent, false when the caller must remove it itself (pool full or disabled, or the
 * rename failed).
 */
export function keepAsSpare(poolDir: string, file: string): boolean {
  if (!enabled) return false;
  let pool = pools.get(poolDir);
  if (!pool) pools.set(poolDir, (pool = []));
  if (pool.length >= LIMIT) return false;
  const spare = path.join(poolDir, `.spare.${tag}.${seq++}`);
  try {
    fs.renameSync(file, spare);
  } catch (e) {
    // ENOENT is either the file already gone (done) or the pool directory missing (the caller removes it).
    return (e as NodeJS.ErrnoException).code === 'ENOENT' && !present(file);
  }
  pool.push(spare);
  return true;
}

/**
 * Removes the spares in `poolDir` of processes that are gone (a pid that no longer runs, or this pid with
 * another tag: an earlier run of a process that is pid 1 in its container). Returns the names removed.
 */
export function removeDeadSpares(poolDir: string, names: readonly string[]): string[] {
  const removed: string[] = [];
  const alive = new Map<string, boolean>();
  for (const n of names) {
    const m = /^\.spare\.(\d+)-([0-9a-f]+)\.\d+$/.exec(n);
    if (!m || `${m[1]}-${m[2]}` === tag) continue;
    let live = alive.get(m[1]);
    if (live === undefined) alive.set(m[1], (live = Number(m[1]) !== process.pid && running(Number(m[1]))));
    if (live) continue;
    try {
      fs.unlinkSync(path.join(poolDir, n));
      removed.push(n);
    } catch {
      // gone meanwhile
    }
  }
  return removed;
}

function present(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
