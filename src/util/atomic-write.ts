/**
 * Crash-safe file replacement: write a sibling temp file, fsync it, rename over the target, fsync the
 * directory. A reader (or a process killed mid-write) sees either the old or the new file, never half.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface AtomicWriteOptions {
  /**
   * fsync the directory after the rename (default true). Only a power loss or kernel crash can undo a
   * rename that was not synced, and then the name still holds the previous complete file; callers whose
   * previous file is a consistent state they reconcile from (the data planes' state files) skip it.
   */
  syncDir?: boolean;
}

/**
 * Refuses to replace a symlink (or anything but a regular file): a planted link must be an error, not
 * silently turned into a regular file nor followed.
 */
export function refuseNonRegular(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isFile()) {
    throw Object.assign(new Error(`${file} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; refusing to replace it`), {
      code: 'ELOOP',
    });
  }
}

/** mkdir -p with a fixed mode for the directories it creates (0700 unless told), whatever the umask. */
export function mkdirPrivate(dir: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(d)) break;
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      continue;
    }
    if (process.platform !== 'win32') fs.chmodSync(d, mode);
  }
}

/**
 * Reads a state file without following a symlink in its last component (ELOOP then) and refusing
 * anything but a regular file; at most maxBytes (a state file is never that large; /dev/zero is not read).
 */
export function readFileNoFollow(file: string, maxBytes = 256 * 1024 * 1024): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EINVAL' });
    if (st.size > maxBytes) throw Object.assign(new Error(`${file} is larger than ${maxBytes} bytes`), { code: 'EFBIG' });
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A new temp file next to `file` (created exclusively, never through a symlink) with the caller's mode,
 * after the directory is made private and the target is checked to be a regular file or absent.
 */
function openTemp(file: string, mode: number): { dir: string; tmp: string; fd: number } {
  const dir = path.dirname(file);
  mkdirPrivate(dir);
  refuseNonRegular(file);
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.tmp`,
  );
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), mode);
  return { dir, tmp, fd };
}

export function writeFileAtomicSync(file: string, data: string | Buffer, mode = 0o600, opts: AtomicWriteOptions = {}): void {
  const { dir, tmp, fd } = openTemp(file, mode);
  try {
    // The umask must not widen or narrow what the caller asked for.
    if (process.platform !== 'win32') fs.fchmodSync(fd, mode);
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (process.platform !== 'win32' && opts.syncDir !== false) {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  }
}

/**
 * writeFileAtomicSync on libuv's thread pool: the same steps and guarantees, but a long-lived process (the
 * agent serving many CNI calls) keeps running other calls while this one waits for the disk.
 */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  // The same refusals as the synchronous form: fixed directory modes, no symlink replaced or followed.
  mkdirPrivate(dir);
  refuseNonRegular(file);
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.tmp`,
  );
  const fh = await fs.promises.open(
    tmp,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0),
    mode,
  );
  try {
    if (process.platform !== 'win32') await fh.chmod(mode);
    await fh.writeFile(typeof data === 'string' ? Buffer.from(data) : data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  if (process.platform !== 'win32' && opts.syncDir !== false) {
    const dh = await fs.promises.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}

/** A replacement written and synced to its temp file, not yet in place: `commit` renames it over the target. */
export interface PreparedWrite {
  /** Puts the new file in place (rename; synchronous, so commits made on one thread land in call order). */
  commit(): void;
  /** Drops the temp file (a newer replacement was committed first). */
  abort(): void;
}

/**
 * The slow half of writeFileAtomic without the rename, so a caller committing several generations of one
 * file from different calls can skip a stale one and keep renames in order (a rename dispatched to the
 * thread pool could land after a newer one). The temp file is written synchronously (a small file: page
 * cache only) and only the fsync, the part that waits for the disk, goes to libuv's thread pool: one
 * round trip through it instead of one per step, which on a loaded machine costs a scheduling delay
 * each. The same refusals and modes as writeFileAtomic; the directory is not synced (callers that need
 * that use writeFileAtomic).
 */
export async function prepareAtomicWrite(file: string, data: string | Buffer, mode = 0o600): Promise<PreparedWrite> {
  const { tmp, fd } = openTemp(file, mode);
  try {
    try {
      if (process.platform !== 'win32') fs.fchmodSync(fd, mode);
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      await new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  let done = false;
  return {
    commit() {
      if (done) return;
      done = true;
      refuseNonRegular(file);
      try {
        fs.renameSync(tmp, file);
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
      }
    },
    abort() {
      if (done) return;
      done = true;
      fs.rmSync(tmp, { force: true });
    },
  };
}
