/**
 * The host-local on-disk store (plugins/ipam/host-local/backend/disk), byte-compatible so Switchyard and
 * the reference host-local can share one directory:
 * `<dataDir>/<network>/<ip>` (create-exclusive, 0600, content `<containerID>\r\n<ifname>`, `:`→`_` on
 * Windows), `last_reserved_ip.<rangeIndex>`, and the `lock` file (flock / LockFileEx via file-lock.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tryAcquireLock, withFileLock, type FileLock } from '../../util/file-lock';
import { mkdirPrivate } from '../../util/atomic-write';
import { cacheable, dirStamp, dropListing, keepListing, validListing, type Listing } from './listing-cache';
import { keepAsSpare, linkSpare, removeDeadSpares } from './spare-files';
import { formatIp as formatIP, parseIpGo as parseIP, type IP } from '../../net/ip';

export const LINE_BREAK = '\r\n';
const LAST_IP_PREFIX = 'last_reserved_ip.';

export interface Reservation {
  ip: IP;
  file: string;
  containerID: string;
  /** Absent in legacy files that hold only the container ID. */
  ifname?: string;
}

/**
 * Replaces a small file's content without following a symlink planted in its place. Overwritten from offset
 * 0 and cut to length rather than opened with O_TRUNC: ext4 (auto_da_alloc) starts writeback of a file
 * truncated to zero and rewritten when it is closed, which made this write ~2 ms of every ADD. The file
 * is only read under the store's lock, so nobody sees it half-written; a crash mid-write leaves at worst
 * an unparseable hint, which allocation treats as absent (host-local's is a hint too).
 */
function writeNoFollow(file: string, text: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    const data = Buffer.from(text);
    fs.writeSync(fd, data, 0, data.length, 0);
    fs.ftruncateSync(fd, data.length);
  } finally {
    fs.closeSync(fd);
  }
}

const scratch = Buffer.alloc(4096);

/**
 * A reservation file's text: open, one read into a shared buffer, close (readFileSync also fstats each
 * file; a scan reads every reservation of the network, so per-file system calls add up). Longer files are
 * read whole.
 */
function readSmall(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY);
  try {
    const n = fs.readSync(fd, scratch, 0, scratch.length, 0);
    if (n < scratch.length) return scratch.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
  return fs.readFileSync(file, 'utf8');
}

interface Hold {
  listing?: Listing<Reservation>;
  writing: boolean;
  dirty: boolean;
}

export class DiskStore {
  readonly dir: string;

  /** `create: false` opens an existing store only (readers such as STATUS never create directories). */
  /** In-flight markers live beside the store, not in it: the store directory stays host-local's exactly. */
  readonly markerDir: string;

  constructor(dataDir: string, network: string, create = true) {
    this.dir = path.join(dataDir, network);
    this.markerDir = path.join(dataDir, '.switchyard-inflight', network);
    // host-local's 0755, created level by level: Node's recursive mkdir never returns under /proc.
    if (create) mkdirPrivate(this.dir, 0o755);
  }

  exists(): boolean {
    try {
      return fs.statSync(this.dir).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * The in-flight marker of an attachment: an ADD holds an flock on `.inflight.<id>.<ifname>` from before
   * its IPAM ADD until its endpoint exists (or it has undone everything). The kernel drops the lock when
   * the process dies, so "marker locked" means exactly "an ADD for this attachment is running now"; a
   * killed ADD leaves an unlocked file, which means nothing. The name starts with a dot, so neither this
   * store nor host-local takes it for a reservation.
   */
  inflightFile(id: string, ifname: string): string {
    const key = `${id.trim()}.${ifname}`;
    const safe =
      key.length <= 200 && /^[A-Za-z0-9_.-]+$/.test(key) ? key : require('node:crypto').createHash('sha256').update(key).digest('hex');
    return path.join(this.markerDir, `.inflight.${safe}`);
  }

  /**
   * Holds the attachment's in-flight marker (waits for another ADD of the same attachment); releasing it
   * removes the file, so a store holds markers only while calls run. A waiter that was granted the lock
   * of a file its holder has just removed tries again on the path's new file.
   */
  async holdInflight(id: string, ifname: string): Promise<FileLock> {
    const { acquireLock } = require('../../util/file-lock') as typeof import('../../util/file-lock');
    const file = this.inflightFile(id, ifname);
    mkdirPrivate(this.markerDir);
    const markerDir = this.markerDir;
    for (;;) {
      // The agent gives the marker a spare inode (spare-files.ts); a marker that exists is waited on as before.
      try {
        linkSpare(markerDir, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const lock = await acquireLock(file);
      let current: number | undefined;
      try {
        current = fs.lstatSync(file).ino;
      } catch {
        current = undefined;
      }
      if (current !== undefined && current === lock.ino) {
        return {
          file,
          ino: lock.ino,
          release() {
            if (!keepAsSpare(markerDir, file)) fs.rmSync(file, { force: true });
            lock.release();
          },
        };
      }
      lock.release();
    }
  }

  /** true when an ADD of (id, ifname) is running right now (its marker is locked). */
  inflight(id: string, ifname: string | undefined): boolean {
    const names = ifname === undefined ? this.markersOf(id) : [this.inflightFile(id, ifname)];
    for (const f of names) {
      let l: FileLock | undefined;
      try {
        l = tryAcquireLock(f, false);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      if (!l) return true;
      l.release();
    }
    return false;
  }

  /** Markers left by killed ADDs (not locked by anyone): removed while held, so a waiter moves on. */
  removeStaleMarkers(): string[] {
    const removed: string[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.markerDir);
    } catch {
      return removed;
    }
    removed.push(...removeDeadSpares(this.markerDir, names));
    names = names.filter((n) => n.startsWith('.inflight.'));
    for (const n of names) {
      const f = path.join(this.markerDir, n);
      let l: FileLock | undefined;
      try {
        l = tryAcquireLock(f, false);
      } catch {
        continue;
      }
      if (!l) continue;
      fs.rmSync(f, { force: true });
      l.release();
      removed.push(n);
    }
    return removed;
  }

  private markersOf(id: string): string[] {
    const prefix = `.inflight.${id.trim()}.`;
    try {
      return fs
        .readdirSync(this.markerDir)
        .filter((n) => n.startsWith(prefix))
        .map((n) => path.join(this.markerDir, n));
    } catch {
      return [];
    }
  }

  private fileFor(name: string): string {
    return path.join(this.dir, process.platform === 'win32' ? name.replace(/:/g, '_') : name);
  }

  /**
   * This instance's hold of the lock (locked): the kept listing it found current (listing-cache.ts), whether
   * a change of the directory is under way (one that fails half-way leaves the listing unusable), and
   * whether its changes were applied to the listing (restamped before the lock goes).
   */
  private hold?: Hold;

  /** Runs fn holding the store's `lock` file exclusively (interoperates with host-local's flock). */
  locked<T>(fn: () => Promise<T> | T): Promise<T> {
    return withFileLock(path.join(this.dir, 'lock'), async () => {
      const hold: Hold = (this.hold = { writing: false, dirty: false });
      try {
        return await fn();
      } finally {
        this.hold = undefined;
        if (hold.listing && hold.writing) dropListing(this.dir);
        else if (hold.listing && hold.dirty) {
          const stamp = dirStamp(this.dir);
          if (stamp) hold.listing.stamp = stamp;
          else dropListing(this.dir);
        }
      }
    });
  }

  /** Before changing the directory. */
  private willWrite(): void {
    if (this.hold) this.hold.writing = true;
    else dropListing(this.dir);
  }

  /** After a change: `name`'s reservation is now `r` (undefined: gone); no `name`: no reservation changed. */
  private wrote(name?: string, r?: Reservation): void {
    const h = this.hold;
    if (!h) return;
    h.writing = false;
    h.dirty = true;
    if (h.listing && name !== undefined) {
      if (r) h.listing.entries.set(name, r);
      else h.listing.entries.delete(name);
    }
  }

  /** A change that did not happen (the name was taken). */
  private unchanged(): void {
    if (this.hold) this.hold.writing = false;
  }

  /** false when the address is already taken (the file exists). */
  reserve(id: string, ifname: string, ip: IP, rangeID: string): boolean {
    if (!this.reserveExact(id, ifname, ip)) return false;
    this.willWrite();
    writeNoFollow(this.fileFor(LAST_IP_PREFIX + rangeID), formatIP(ip));
    this.wrote();
    return true;
  }

  lastReservedIP(rangeID: string): IP | undefined {
    try {
      return parseIP(fs.readFileSync(this.fileFor(LAST_IP_PREFIX + rangeID), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /**
   * Every reservation file in the directory (lock, last_reserved_ip.* and temp files are skipped). Under the
   * lock in the agent, the kept listing while the directory is unchanged (listing-cache.ts).
   */
  list(): Reservation[] {
    const hold = this.hold;
    if (!hold) return this.scan();
    // Stamped before the scan: a change during it makes the next call scan again.
    const stamp = dirStamp(this.dir);
    if (!cacheable(this.dir, this.markerDir, stamp)) return this.scan();
    const kept = validListing<Reservation>(this.dir, stamp);
    if (kept) {
      hold.listing = kept;
      return [...kept.entries.values()].map((r) => ({ ...r }));
    }
    const out = this.scan();
    if (stamp) {
      hold.listing = { stamp, entries: new Map(out.map((r) => [path.basename(r.file), { ...r }])) };
      keepListing(this.dir, hold.listing);
    }
    return out;
  }

  private scan(): Reservation[] {
    const out: Reservation[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw e;
    }
    for (const name of names) {
      if (name === 'lock' || name.startsWith(LAST_IP_PREFIX) || name.startsWith('.')) continue;
      const ip = parseIP(process.platform === 'win32' ? name.replace(/_/g, ':') : name);
      if (!ip) continue;
      const file = path.join(this.dir, name);
      let content: string;
      try {
        content = readSmall(file).trim();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') continue;
        throw e;
      }
      const nl = content.indexOf(LINE_BREAK);
      out.push(
        nl < 0
          ? { ip, file, containerID: content }
          : { ip, file, containerID: content.slice(0, nl).trim(), ifname: content.slice(nl + 2).trim() },
      );
    }
    return out;
  }

  private matching(id: string, ifname: string): { exact: Reservation[]; legacy: Reservation[] } {
    const all = this.list();
    const wanted = id.trim();
    return {
      exact: all.filter((r) => r.ifname !== undefined && r.containerID === wanted && r.ifname === ifname),
      legacy: all.filter((r) => r.ifname === undefined && r.containerID === wanted),
    };
  }

  /** Addresses held by (id, ifname), either form. */
  getByID(id: string, ifname: string): IP[] {
    const m = this.matching(id, ifname);
    return [...m.exact, ...m.legacy].map((r) => r.ip);
  }

  /** ReleaseByID: exact `id\r\nifname` files first; the legacy `id` form only when none matched. */
  releaseByID(id: string, ifname: string): boolean {
    const m = this.matching(id, ifname);
    const victims = m.exact.length > 0 ? m.exact : m.legacy;
    for (const r of victims) {
      this.willWrite();
      this.remove(r.file);
      this.wrote(path.basename(r.file));
    }
    return victims.length > 0;
  }

  release(ip: IP): void {
    const file = this.fileFor(formatIP(ip));
    this.willWrite();
    this.remove(file);
    this.wrote(path.basename(file));
  }

  /** A reservation file removed: its inode kept as a spare in the agent (spare-files.ts). */
  private remove(file: string): void {
    if (!keepAsSpare(this.markerDir, file)) fs.rmSync(file, { force: true });
  }

  /** The reservation of one address, if any. */
  holder(ip: IP): Reservation | undefined {
    return this.list().find((r) => formatIP(r.ip) === formatIP(ip));
  }

  /** Reserves a known address for (id, ifname) without touching last_reserved_ip (a repair, not an allocation). */
  reserveExact(id: string, ifname: string, ip: IP): boolean {
    const file = this.fileFor(formatIP(ip));
    let fd: number;
    let reused = false;
    this.willWrite();
    try {
      // A spare inode (the agent) is linked to the name, which fails on a taken one as O_EXCL does.
      reused = linkSpare(this.markerDir, file);
      fd = reused
        ? fs.openSync(file, fs.constants.O_WRONLY | (fs.constants.O_NOFOLLOW ?? 0))
        : fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        this.unchanged();
        return false;
      }
      throw e;
    }
    try {
      const data = Buffer.from(id.trim() + LINE_BREAK + ifname);
      fs.writeSync(fd, data, 0, data.length, 0);
      // A spare holds its last user's bytes: cut to length (not O_TRUNC, see writeNoFollow).
      if (reused) fs.ftruncateSync(fd, data.length);
      fs.closeSync(fd);
    } catch (e) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
      fs.rmSync(file, { force: true });
      throw e;
    }
    this.wrote(path.basename(file), { ip, file, containerID: id.trim(), ifname });
    return true;
  }
}
