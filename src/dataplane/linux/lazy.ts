/**
 * Builtins the per-pod path avoids. node:child_process and node:crypto each cost ~3 ms to load, paid by
 * every CNI process that opens the data plane, while a pod ADD/DEL (libnftables present, no QOS) spawns
 * nothing: only namespace creation, QOS (`tc`) and the nft binary fallback load child_process.
 */
import * as fs from 'node:fs';

export const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');

/**
 * A random (RFC 4122 version 4) UUID from the kernel's random source: loading node:crypto (or Web Crypto)
 * to make one took 3-5 ms of a CNI ADD, which needs exactly one.
 */
export function randomUuid(): string {
  const b = Buffer.alloc(16);
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    if (fs.readSync(fd, b, 0, 16, null) !== 16) throw new Error('short read from /dev/urandom');
  } finally {
    fs.closeSync(fd);
  }
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
