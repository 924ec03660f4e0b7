/**
 * Exclusive advisory file locks that interoperate with the reference CNI plugins: flock(LOCK_EX) on
 * Linux (host-local's `lock` file), LockFileEx(EXCLUSIVE) on 1 byte at offset 0 on Windows. Node has no
 * flock, so it is called through koffi. Acquisition polls with LOCK_NB so an agent's event loop never
 * blocks; the lock dies with the process (kernel-released), so a killed CNI plugin never wedges the store.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;
const EINTR = 4;

interface Locker {
  tryLock(fd: number): boolean;
  unlock(fd: number): void;
  /**
   * Blocks on a koffi worker thread until the lock is granted, so a waiter is woken by the kernel the
   * moment the holder releases instead of sleeping through a poll interval (8 parallel CNI ADDs queue
   * on one lock). Absent where only polling is available.
   */
  lockBlocking?(fd: number): Promise<void>;
}

let locker: Locker | undefined;
let pollOnly = false;

/**
 * Short-lived processes (a CNI call with a deadline) wait by polling: a flock blocked on a worker thread
 * cannot be cancelled, and Node joins its worker threads on exit, so a call cut off by its deadline would
 * not end until the holder let go. Long-lived processes (the agent) keep the kernel's wake-up.
 */
export function preferPollingLocks(): void {
  pollOnly = true;
}

function posixLocker(): Locker {
  const koffi = require('koffi');
  const libc = koffi.load(process.platform === 'darwin' ? 'libc.dylib' : 'libc.so.6');
  const flock = libc.func('int flock(int fd, int operation)');
  return {
    tryLock(fd) {
      for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
        const err = koffi.errno();
        if (err === EINTR) continue;
        if (err === EWOULDBLOCK) return false;
        throw new Error(`flock(LOCK_EX) failed: errno ${err}`);
      }
    },
    unlock(fd) {
      flock(fd, LOCK_UN);
    },
    lockBlocking(fd) {
      return new Promise((resolve, reject) => {
        flock.async(fd, LOCK_EX, (err: unknown, rc: number) => {
          if (err) reject(err);
          else if (rc !== 0) reject(new Error(`flock(LOCK_EX) failed: errno ${koffi.errno()}`));
          else resolve();
        });
      });
    },
  };
}

function windowsLocker(): Locker {
  const koffi = require('koffi');
  const k32 = koffi.load('kernel32.dll');
  const OVERLAPPED = koffi.struct('SY_OVERLAPPED', {
    Internal: 'uintptr_t',
    InternalHigh: 'uintptr_t',
    Offset: 'uint32_t',
    OffsetHigh: 'uint32_t',
    hEvent: 'void *',
  });
  const LockFileEx = k32.func('__stdcall', 'LockFileEx', 'int', [
    'void *',
    'uint32_t',
    'uint32_t',
    'uint32_t',
    'uint32_t',
    koffi.inout(koffi.pointer(OVERLAPPED)),
  ]);
  const UnlockFileEx = k32.func('__stdcall', 'UnlockFileEx', 'int', [
    'void *',
    'uint32_t',
    'uint32_t',
    'uint32_t',
    koffi.inout(koffi.pointer(OVERLAPPED)),
  ]);
  const getHandle = k32.func('intptr_t _get_osfhandle(int fd)');
  const LOCKFILE_FAIL_IMMEDIATELY = 1;
  const LOCKFILE_EXCLUSIVE_LOCK = 2;
  const ov = () => ({ Internal: 0, InternalHigh: 0, Offset: 0, OffsetHigh: 0, hEvent: null });
  return {
    tryLock(fd) {
      const h = getHandle(fd);
      return LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ov()) !== 0;
    },
    unlock(fd) {
      UnlockFileEx(getHandle(fd), 0, 1, 0, ov());
    },
  };
}

function getLocker(): Locker {
  locker ??= process.platform === 'win32' ? windowsLocker() : posixLocker();
  return locker;
}

export class LockTimeoutError extends Error {
  constructor(
    readonly file: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for the lock on ${file}`);
    this.name = 'LockTimeoutError';
  }
}

export interface FileLock {
  readonly file: string;
  /** The locked file's inode, to tell whether the path still names it (lock files that get unlinked). */
  readonly ino?: number;
  release(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class AbandonedLockError extends Error {
  constructor(readonly inner: Error) {
    super(inner.message);
  }
}

/**
 * A blocked flock cannot be cancelled; on timeout the waiter is abandoned and, if the kernel grants the
 * lock later, it is released and the descriptor closed right away so no other process is held up.
 */
function blockWithTimeout(l: Locker, fd: number, file: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new AbandonedLockError(new LockTimeoutError(file, timeoutMs)));
    }, timeoutMs);
    timer.unref();
    l.lockBlocking!(fd).then(
      () => {
        clearTimeout(timer);
        if (!timedOut) return resolve();
        l.unlock(fd);
        fs.closeSync(fd);
      },
      (err: Error) => {
        clearTimeout(timer);
        if (!timedOut) reject(err);
        else fs.closeSync(fd);
      },
    );
  });
}

/**
 * Waiters inside one process queue here before asking the kernel: in a long-lived process (the agent runs
 * many CNI calls at once) each blocked flock would otherwise hold one of libuv's few worker threads, and
 * a lock holder that then needs a worker would wait behind its own waiters. The kernel lock still decides
 * between processes; this only keeps one in-process waiter per file at the kernel.
 */
const inProcessTails = new Map<string, Promise<void>>();

async function inProcessTurn(file: string, timeoutMs: number): Promise<() => void> {
  const key = path.resolve(file);
  const prev = inProcessTails.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = prev.then(() => mine);
  inProcessTails.set(key, tail);
  const finish = () => {
    done();
    // Forgotten only once everyone queued before has gone too (a timed-out waiter finishes early).
    void tail.then(() => {
      if (inProcessTails.get(key) === tail) inProcessTails.delete(key);
    });
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LockTimeoutError(file, timeoutMs)), timeoutMs);
  });
  try {
    await Promise.race([prev, timedOut]);
  } catch (e) {
    finish();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return finish;
}

/** Opens (creating if needed, mode 0600 like host-local) and exclusively locks `file`. */
export async function acquireLock(file: string, timeoutMs = 30_000): Promise<FileLock> {
  const started = Date.now();
  const endTurn = await inProcessTurn(file, timeoutMs);
  try {
    const lock = await acquireKernelLock(file, Math.max(1, timeoutMs - (Date.now() - started)));
    return {
      file,
      ino: lock.ino,
      release() {
        try {
          lock.release();
        } finally {
          endTurn();
        }
      },
    };
  } catch (e) {
    endTurn();
    throw e instanceof LockTimeoutError ? new LockTimeoutError(file, timeoutMs) : e;
  }
}

/**
 * Opens a lock file without following a symlink in its last component (a link planted in a writable
 * directory must not make root create or truncate a file elsewhere) and with a fixed mode whatever the
 * umask: 0600.
 */
export function openLockFile(file: string, create = true): number {
  const fd = fs.openSync(file, fs.constants.O_RDWR | (create ? fs.constants.O_CREAT : 0) | (fs.constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`lock file ${file} is not a regular file`), { code: 'EINVAL' });
    if (process.platform !== 'win32' && (st.mode & 0o777) !== 0o600 && st.uid === process.getuid?.()) fs.fchmodSync(fd, 0o600);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * Takes the lock only if it is free right now (no waiting, no in-process queue: a second descriptor in
 * the same process conflicts like another process would). Used to ask "is anyone holding this?".
 */
export function tryAcquireLock(file: string, create = true): FileLock | undefined {
  const fd = openLockFile(file, create);
  const l = getLocker();
  let got = false;
  try {
    got = l.tryLock(fd);
  } finally {
    if (!got) fs.closeSync(fd);
  }
  if (!got) return undefined;
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      try {
        l.unlock(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

async function acquireKernelLock(file: string, timeoutMs: number): Promise<FileLock> {
  const fd = openLockFile(file);
  const l = getLocker();
  const deadline = Date.now() + timeoutMs;
  let wait = 1;
  try {
    if (!l.tryLock(fd)) {
      if (l.lockBlocking && !pollOnly) await blockWithTimeout(l, fd, file, timeoutMs);
      else {
        while (!l.tryLock(fd)) {
          if (Date.now() >= deadline) throw new LockTimeoutError(file, timeoutMs);
          await sleep(wait);
          wait = Math.min(wait * 2, 20);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof AbandonedLockError)) fs.closeSync(fd);
    throw e instanceof AbandonedLockError ? e.inner : e;
  }
  let released = false;
  return {
    file,
    ino: fs.fstatSync(fd).ino,
    release() {
      if (released) return;
      released = true;
      try {
        l.unlock(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

export async function withFileLock<T>(file: string, fn: () => Promise<T> | T, timeoutMs?: number): Promise<T> {
  const lock = await acquireLock(file, timeoutMs);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
