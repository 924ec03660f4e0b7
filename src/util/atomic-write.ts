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

export function writeFileAtomicSync(file: string, data: string | Buffer, mode = 0o600, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.tmp`,
  );
  const fd = fs.openSync(tmp, 'w', mode);
  try {
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
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.tmp`,
  );
  const fh = await fs.promises.open(tmp, 'w', mode);
  try {
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
