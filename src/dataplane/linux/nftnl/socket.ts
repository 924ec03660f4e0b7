/**
 * Sends an nf_tables batch over a NETLINK_NETFILTER socket opened in the data plane's namespace and reads
 * the kernel's verdict. nfnetlink handles a batch within the one skb it arrives in (a batch cannot span
 * datagrams), inside sendmsg: when send returns, every error is queued, so the answer is read without
 * blocking. The send buffer is raised to the batch's size (SO_SNDBUFFORCE, as nft does) so one datagram
 * carries any transaction.
 * One socket per namespace is kept for IDLE_CLOSE_MS after a batch and reused by the next: closing a netfilter
 * socket right after a commit waits for nf_tables' release work (an RCU grace period, ~10-20 ms) while holding
 * the commit mutex, so a change that followed closely used to wait for its predecessor's close. Once idle the
 * socket is closed on a worker thread (by then the release work is long done); the short bound keeps a deleted
 * namespace (and its links) alive no longer than that. A socket whose exchange failed is never reused.
 */
import * as fs from 'node:fs';
import { ERRNO, errnoMessage, errnoName, libc, OsError } from '../netlink/libc';
import { withNetns } from '../netns';
import { boundNetlinkSocket } from '../netlink/socket';
import type { NftBatch } from './batch';
import { NFT_MSG_NAMES } from './wire';

const NETLINK_NETFILTER = 12;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const MSG_DONTWAIT = 0x40;
const NLMSG_ERROR = 2;
const { EAGAIN, ENOBUFS, EMSGSIZE } = ERRNO;
/** The default send buffer holds ~200 KB; below this nothing needs raising. */
const SMALL = 128 * 1024;
const RECV_SIZE = 1 << 16;
const RCVBUF = 4 << 20;

/** The kernel refused the batch (nothing of it was applied): errno and the object the refused message concerned. */
export class NftnlError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(
    readonly op: string,
    errno: number,
    readonly subject: string,
    readonly table: string,
  ) {
    super(`${op} ${subject} (table ${table}): ${errnoName(errno)} (${errnoMessage(errno)})`);
    this.name = 'NftnlError';
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

/** No netfilter netlink socket could be had (nothing was sent): the caller may use another path. */
export class NetlinkUnavailableError extends OsError {}

function setInt(fd: number, level: number, name: number, value: number): number {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value);
  return libc().setsockopt(fd, level, name, v, 4);
}

let seq = Math.floor(Math.random() * 1e6);

/** Opens the socket in `netns` (or the caller's namespace); throws OsError when netfilter netlink is unavailable. */
function open(netns: string | undefined): number {
  const fd = boundNetlinkSocket(NETLINK_NETFILTER, netns, (make) => withNetns(netns, make), NetlinkUnavailableError);
  // Errors carry the refused message's header only, not the whole message back.
  setInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
  return fd;
}

let sent = 0;

/** How long an idle socket is kept for the next batch (ms). */
const IDLE_CLOSE_MS = 250;
const idle = new Map<string, { fd: number; timer: NodeJS.Timeout; identity: string }>();

/**
 * Which namespace a path names now (device and inode of the nsfs file): a namespace deleted and made again
 * under the same name is another one, and a socket kept for the old one must not carry the new one's batch.
 */
function identity(netns: string | undefined): string {
  if (netns === undefined) return '';
  try {
    const st = fs.statSync(netns);
    return `${st.dev}:${st.ino}`;
  } catch {
    return '?';
  }
}

/** A socket for `netns`: the kept one (drained of anything left unread) if it is still that namespace's, else a new one. */
function take(netns: string | undefined): { fd: number; identity: string } {
  const key = netns ?? '';
  const now = identity(netns);
  const kept = idle.get(key);
  if (kept) {
    idle.delete(key);
    clearTimeout(kept.timer);
    if (kept.identity !== now || now === '?') libc().closeInBackground(kept.fd);
    else {
      drain(kept.fd);
      return { fd: kept.fd, identity: now };
    }
  }
  return { fd: open(netns), identity: now };
}

function drain(fd: number): void {
  const c = libc();
  const rx = Buffer.alloc(RECV_SIZE);
  while (c.recv(fd, rx, RECV_SIZE, MSG_DONTWAIT) > 0);
}

/** Keeps `fd` for the next batch in `netns`, closing whatever was kept there before. */
function keep(netns: string | undefined, fd: number, id: string): void {
  const key = netns ?? '';
  const old = idle.get(key);
  if (old) {
    clearTimeout(old.timer);
    libc().closeInBackground(old.fd);
  }
  const timer = setTimeout(() => {
    if (idle.get(key)?.fd !== fd) return;
    idle.delete(key);
    libc().closeInBackground(fd);
  }, IDLE_CLOSE_MS);
  timer.unref?.();
  idle.set(key, { fd, timer, identity: id });
}

/** Closes the socket kept for `netns` (the caller's namespace when undefined) now: its data plane is closing. */
export function closeIdleSockets(netns: string | undefined): void {
  for (const [key, kept] of [...idle]) {
    if (key !== (netns ?? '')) continue;
    idle.delete(key);
    clearTimeout(kept.timer);
    libc().closeInBackground(kept.fd);
  }
}

/** How many batches this process has sent (tests tell the netlink path from the libnftables one). */
export function nftnlBatchesSent(): number {
  return sent;
}

/** Applies the batch in one transaction; throws NftnlError naming the first refused object. */
export function sendBatch(netns: string | undefined, batch: NftBatch): void {
  if (!batch.messages.length) return;
  sent++;
  const c = libc();
  const { fd, identity: id } = take(netns);
  let reusable = false;
  try {
    const first = (seq = (seq + batch.messages.length + 2) % 0x7fff0000);
    const data = batch.encode(first);
    if (data.length > SMALL) {
      if (setInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, data.length + 4096) !== 0) setInt(fd, SOL_SOCKET, SO_SNDBUF, data.length + 4096);
      if (setInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF) !== 0) setInt(fd, SOL_SOCKET, SO_RCVBUF, RCVBUF);
    }
    if (c.send(fd, data, data.length, 0) < 0) {
      const e = c.errno();
      throw new OsError(e === EMSGSIZE ? `send (a ${data.length}-byte nf_tables batch)` : 'send (nf_tables batch)', e, netns);
    }
    try {
      readVerdict(fd, batch, first);
    } catch (e) {
      // A refusal was read to its end: the socket is clean. Anything else (a failed recv) leaves it unknown.
      reusable = e instanceof NftnlError && e.op !== 'batch';
      throw e;
    }
    reusable = true;
  } finally {
    if (reusable) keep(netns, fd, id);
    else c.closeInBackground(fd);
  }
}

function readVerdict(fd: number, batch: NftBatch, first: number): void {
  const c = libc();
  const rx = Buffer.alloc(RECV_SIZE);
  const lastSeq = first + batch.messages.length;
  let acked = false;
  let overflow = false;
  let refused: { index: number; errno: number } | undefined;
  for (;;) {
    const n = c.recv(fd, rx, RECV_SIZE, MSG_DONTWAIT);
    if (n < 0) {
      const e = c.errno();
      if (e === EAGAIN) break;
      if (e === ENOBUFS) {
        overflow = true; // more refusals than the buffer holds: the batch failed; keep what is there
        continue;
      }
      throw new OsError('recv (nf_tables batch answer)', e);
    }
    let off = 0;
    while (off + 16 <= n) {
      const len = rx.readUInt32LE(off);
      const type = rx.readUInt16LE(off + 4);
      if (len < 16 || off + len > n) break;
      if (type === NLMSG_ERROR && len >= 36) {
        const errno = -rx.readInt32LE(off + 16);
        const about = rx.readUInt32LE(off + 20 + 8); // the refused message's sequence number
        const index = about - first - 1;
        if (errno !== 0 && (!refused || index < refused.index)) refused = { index, errno };
        if (about === lastSeq) acked = true;
      }
      off += (len + 3) & ~3;
    }
  }
  if (refused) {
    const m = batch.messages[refused.index];
    // Index -1 or past the end: the begin/end message itself (the commit was refused as a whole).
    if (!m) throw new NftnlError('commit', refused.errno, 'the transaction', batch.table);
    throw new NftnlError(NFT_MSG_NAMES[m.msg] ?? `message ${m.msg}`, refused.errno, m.subject, batch.table);
  }
  if (overflow) throw new NftnlError('batch', ENOBUFS, 'the transaction (its refusals overflowed the socket)', batch.table);
  if (!acked) throw new NftnlError('batch', EAGAIN, 'the transaction (no acknowledgement from the kernel)', batch.table);
}
