/**
 * Who is on the other end of an accepted unix-socket connection: SO_PEERCRED through koffi's getsockopt on
 * the descriptor libuv holds (Node exposes it as `socket._handle.fd` on Unix). Linux only; the kernel fills
 * the credentials at connect time, so a client cannot forge them.
 */
import type * as net from 'node:net';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, len: Buffer) => number;
let getsockopt: GetSockOpt | undefined;

function bind(): GetSockOpt {
  if (!getsockopt) {
    const koffi = require('koffi');
    const libc = koffi.load('libc.so.6');
    getsockopt = libc.func('int getsockopt(int fd, int level, int optname, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)') as GetSockOpt;
  }
  return getsockopt;
}

export function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** The peer's credentials, or an Error saying why they cannot be read (the caller refuses the peer). */
export function peerCredentials(socket: net.Socket): PeerCredentials | Error {
  if (process.platform !== 'linux') return new Error(`peer credentials are not implemented on ${process.platform}`);
  const fd = socketFd(socket);
  if (fd === undefined) return new Error('the connection has no file descriptor');
  const value = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12, 0);
  let rc: number;
  try {
    rc = bind()(fd, SOL_SOCKET, SO_PEERCRED, value, len);
  } catch (e) {
    return new Error(`getsockopt(SO_PEERCRED): ${(e as Error).message}`);
  }
  if (rc !== 0) return new Error(`getsockopt(SO_PEERCRED) failed: errno ${require('koffi').errno()}`);
  return { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
}
