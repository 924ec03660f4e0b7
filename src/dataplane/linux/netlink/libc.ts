/**
 * The few libc calls the netlink layer needs, bound lazily with koffi so nothing is loaded until the
 * linux data plane is actually used. All calls are synchronous: netlink answers in microseconds, and
 * setns() must happen on the JS thread that then opens the socket.
 */
export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  errno(): number;
  /**
   * send on a worker thread, for requests the kernel takes long to answer (a link deletion waits for RCU
   * inside send): the JS thread serves other work meanwhile. The result is the syscall's return;
   * errno is not available from the worker (a negative return is reported without it).
   */
  sendAsync(fd: number, buf: Buffer, len: number, flags: number): Promise<number>;
  /**
   * close on a worker thread, the JS thread not waiting: closing a netfilter socket right after an nf_tables
   * commit waits for the commit's release work (an RCU grace period). Errors are ignored (nothing to do).
   */
  closeInBackground(fd: number): void;
}

let cached: Libc | undefined;

export function libc(): Libc {
  if (cached) return cached;

  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int, int, int)');
  const bind = lib.func('int bind(int, void *, uint32_t)');
  const send = lib.func('intptr_t send(int, void *, size_t, int)');
  const recv = lib.func('intptr_t recv(int, void *, size_t, int)');
  const setsockopt = lib.func('int setsockopt(int, int, int, void *, uint32_t)');
  const close = lib.func('int close(int)');
  const setns = lib.func('int setns(int, int)');
  cached = {
    socket: (d, t, p) => socket(d, t, p) as number,
    bind: (fd, a, l) => bind(fd, a, l) as number,
    send: (fd, b, l, f) => Number(send(fd, b, l, f)),
    recv: (fd, b, l, f) => Number(recv(fd, b, l, f)),
    setsockopt: (fd, lv, n, v, l) => setsockopt(fd, lv, n, v, l) as number,
    close: (fd) => close(fd) as number,
    setns: (fd, t) => setns(fd, t) as number,
    errno: () => koffi.errno(),
    sendAsync: (fd, b, l, f) => onWorker(send, fd, b, l, f),
    closeInBackground: (fd) => void onWorker(close, fd).catch(() => undefined),
  };
  return cached;
}

function onWorker(fn: { async: (...args: unknown[]) => unknown }, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) =>
    fn.async(...args, (err: unknown, res: unknown) => (err ? reject(err as Error) : resolve(Number(res)))),
  );
}

const SYSTEM_ERRORS = (require('node:util') as typeof import('node:util')).getSystemErrorMap();

export function errnoName(errno: number): string {
  return SYSTEM_ERRORS.get(-errno)?.[0] ?? `errno ${errno}`;
}

export function errnoMessage(errno: number): string {
  return SYSTEM_ERRORS.get(-errno)?.[1] ?? `errno ${errno}`;
}

/** The errno values the netlink and nf_tables layers act on (Linux x86-64 and arm64 share them). */
export const ERRNO: Readonly<
  Record<'ENOENT' | 'ESRCH' | 'EIO' | 'EAGAIN' | 'EEXIST' | 'ENODEV' | 'EMSGSIZE' | 'EADDRNOTAVAIL' | 'ENOBUFS', number>
> = Object.freeze({
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  EAGAIN: 11,
  EEXIST: 17,
  ENODEV: 19,
  EMSGSIZE: 90,
  EADDRNOTAVAIL: 99,
  ENOBUFS: 105,
});

/** The link named in the request does not exist (by name: ENODEV; some kernels answer ENOENT). */
export const isNoSuchLink = (e: unknown): boolean => e instanceof OsError && (e.errno === ERRNO.ENODEV || e.errno === ERRNO.ENOENT);

/** An OS-level failure with the operation and subject that caused it (e.g. RTM_NEWLINK veth sy1234). */
export class OsError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly op: string;
  constructor(op: string, errno: number, subject?: string) {
    super(`${op}${subject ? ` ${subject}` : ''}: ${errnoName(errno)} (${errnoMessage(errno)})`);
    this.name = 'OsError';
    this.errno = errno;
    this.code = errnoName(errno);
    this.op = op;
  }
}
