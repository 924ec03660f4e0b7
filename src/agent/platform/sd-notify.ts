/**
 * systemd readiness (Type=notify): READY=1 once the network, host endpoint and CNI configuration exist, and
 * STOPPING=1 when a graceful stop begins. The message is a datagram to $NOTIFY_SOCKET sent from the agent's own
 * process (libc socket/sendto through koffi), so systemd attributes it to the main PID — `systemd-notify`, a
 * short-lived child, can be dropped when it exits before systemd reads its credentials. When koffi or libc is
 * unusable, `systemd-notify --ready` (accepted because the unit has NotifyAccess=all) is the fallback.
 * Without NOTIFY_SOCKET (not under systemd) both calls do nothing.
 *
 * COORDINATOR: call notifyReady() on the agent's ready path and notifyStopping() at the start of its stop.
 */
import { execFile } from 'node:child_process';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;

type Fn = (...args: unknown[]) => number;
let libc: { socket: Fn; sendto: Fn; close: Fn } | null | undefined;

function loadLibc(): typeof libc {
  if (libc !== undefined) return libc;
  try {
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    libc = {
      socket: lib.func('int socket(int domain, int type, int protocol)') as Fn,
      sendto: lib.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)') as Fn,
      close: lib.func('int close(int fd)') as Fn,
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** struct sockaddr_un for a NOTIFY_SOCKET value: a path, or "@name" for the abstract namespace. */
export function sockaddrUn(socketPath: string): Buffer {
  const name = Buffer.from(socketPath.startsWith('@') ? '\0' + socketPath.slice(1) : socketPath, 'utf8');
  if (name.length >= 108) throw new Error(`NOTIFY_SOCKET ${socketPath} is longer than sun_path`);
  const addr = Buffer.alloc(2 + name.length + (socketPath.startsWith('@') ? 0 : 1));
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  return addr;
}

/** Sends one notification; resolves true when it was delivered (or there is no systemd to tell). */
export async function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const socketPath = env.NOTIFY_SOCKET;
  if (!socketPath || process.platform !== 'linux') return true;
  const c = loadLibc();
  if (c && (socketPath.startsWith('/') || socketPath.startsWith('@'))) {
    const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      try {
        const msg = Buffer.from(state, 'utf8');
        const addr = sockaddrUn(socketPath);
        if (Number(c.sendto(fd, msg, msg.length, MSG_NOSIGNAL, addr, addr.length)) === msg.length) return true;
      } finally {
        c.close(fd);
      }
    }
  }
  const args = state.split('\n').filter(Boolean);
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { env }, (err) => resolve(!err));
  });
}

export const notifyReady = (env?: NodeJS.ProcessEnv) => sdNotify('READY=1\nSTATUS=pod network ready', env);
export const notifyStopping = (env?: NodeJS.ProcessEnv) => sdNotify('STOPPING=1\nSTATUS=stopping', env);
