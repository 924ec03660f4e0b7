/** A NETLINK_ROUTE socket: one request at a time, acknowledged, errors carrying errno and the operation. */
import { ERRNO, libc, OsError } from './libc';
import { message, NLM_F, NLMSG, RTM_NAMES } from './codec';
import { withNetns, withNetnsFd } from '../netns';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const NETLINK_NETFILTER = 12;
const SOL_NETLINK = 270;
const NETLINK_EXT_ACK = 11;
const RECV_SIZE = 1 << 16;
/** Reported when a worker-thread send/recv fails: errno is not available there. */
const { EIO } = ERRNO;

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  body: Buffer;
}

/**
 * A new AF_NETLINK socket of `protocol`, created inside the namespace `enter` switches to (sockets stay in the
 * namespace they were made in) and bound; closed again if binding fails. `Err` is the error thrown, naming
 * the call and the namespace.
 */
export function boundNetlinkSocket(
  protocol: number,
  netns: string | undefined,
  enter: (make: () => number) => number,
  Err: new (op: string, errno: number, subject?: string) => OsError = OsError,
): number {
  const c = libc();
  const what =
    protocol === NETLINK_ROUTE
      ? 'AF_NETLINK'
      : protocol === NETLINK_NETFILTER
        ? 'AF_NETLINK, NETLINK_NETFILTER'
        : `AF_NETLINK, ${protocol}`;
  const fd = enter(() => c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (fd < 0) throw new Err(`socket(${what})`, c.errno(), netns);
  const sa = Buffer.alloc(12);
  sa.writeUInt16LE(AF_NETLINK, 0);
  if (c.bind(fd, sa, sa.length) !== 0) {
    const e = c.errno();
    c.close(fd);
    throw new Err(`bind(${what})`, e, netns);
  }
  return fd;
}

/**
 * One receive buffer for every socket of this thread: a datagram is received and parsed (its messages
 * copied out) within one synchronous stretch, so no two exchanges ever share it at once, and an attach's
 * pod-side socket no longer zeroes 64 KiB of its own.
 */
let sharedRx: Buffer | undefined;

export class NetlinkSocket {
  private fd: number;
  private seq = Math.floor(Math.random() * 1e6);
  private readonly rx = (sharedRx ??= Buffer.allocUnsafe(RECV_SIZE));

  private constructor(
    fd: number,
    readonly netns?: string,
  ) {
    this.fd = fd;
  }

  /** Opens a socket in `netns` (a namespace path) or in the caller's namespace. */
  static open(netns?: string): NetlinkSocket {
    const c = libc();
    const fd = boundNetlinkSocket(NETLINK_ROUTE, netns, (make) => withNetns(netns, make));
    c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, Buffer.from([1, 0, 0, 0]), 4);
    return new NetlinkSocket(fd, netns);
  }

  /**
   * open() for a namespace the caller holds open as `nsFd` (no second open of its path); `netns` is that
   * path, for errors and for sockets opened beside this one (Rtnl.deleteLinkAsync).
   */
  static openIn(nsFd: number, netns: string): NetlinkSocket {
    const c = libc();
    const fd = boundNetlinkSocket(NETLINK_ROUTE, netns, (make) => withNetnsFd(nsFd, netns, make));
    c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, Buffer.from([1, 0, 0, 0]), 4);
    return new NetlinkSocket(fd, netns);
  }

  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
    this.fd = -1;
  }

  /** Sends one request and waits for its acknowledgement; throws OsError on a negative ack. */
  request(type: number, flags: number, body: Buffer, subject?: string): NlMessage[] {
    return this.exchange(type, flags | NLM_F.REQUEST | NLM_F.ACK, body, subject);
  }

  /**
   * request(), where a negative acknowledgement with one of `absent` (e.g. ENODEV for a name that is free)
   * gives undefined instead of an error: a lookup that usually finds nothing (every attach asks whether its
   * veth name is free) builds no error object and stack.
   */
  requestUnless(type: number, flags: number, body: Buffer, absent: readonly number[], subject?: string): NlMessage[] | undefined {
    return this.exchange(type, flags | NLM_F.REQUEST | NLM_F.ACK, body, subject, absent);
  }

  /**
   * Several requests in one sendmsg, each acknowledged: rtnetlink handles every message of the datagram
   * inside that one system call, so no signal (SIGKILL included) can land between them — what makes a link
   * and its owner tag appear together. Every message is processed even if an earlier one fails; the first
   * negative acknowledgement is thrown after all were read.
   */
  requestAll(reqs: readonly { type: number; flags: number; body: Buffer; subject?: string }[]): void {
    if (this.fd < 0) throw new Error('netlink socket is closed');
    const c = libc();
    const first = this.seq + 1;
    const msgs = reqs.map((r) => message(r.type, r.flags | NLM_F.REQUEST | NLM_F.ACK, ++this.seq, r.body));
    const all = Buffer.concat(msgs);
    const op = (i: number) => RTM_NAMES[reqs[i].type] ?? `netlink ${reqs[i].type}`;
    if (c.send(this.fd, all, all.length, 0) < 0) throw new OsError(op(0), c.errno(), reqs[0].subject);
    let failure: OsError | undefined;
    for (let i = 0; i < reqs.length; i++) {
      try {
        const out: NlMessage[] = [];
        for (;;) {
          const n = c.recv(this.fd, this.rx, RECV_SIZE, 0);
          if (n < 0) throw new OsError(`${op(i)} (recv)`, c.errno(), reqs[i].subject);
          if (this.parseAcks(n, first + i, op(i), reqs[i].subject, out)) break;
        }
      } catch (e) {
        if (!(e instanceof OsError)) throw e;
        failure ??= e;
      }
    }
    if (failure) throw failure;
  }

  /** Each acknowledgement comes as a datagram of its own (netlink_ack unicasts one per message), in order. */
  private parseAcks(n: number, seq: number, op: string, subject: string | undefined, out: NlMessage[]): boolean {
    return this.parse(this.rx, n, seq, NLM_F.ACK, op, subject, out) === true;
  }

  dump(type: number, body: Buffer, subject?: string): NlMessage[] {
    return this.exchange(type, NLM_F.REQUEST | NLM_F.DUMP, body, subject);
  }

  /**
   * request() with the send on a worker thread (libc.ts sendAsync): for requests the kernel answers
   * slowly (it does the work inside sendmsg), so the JS thread is not held. Use a socket of its own: a request made on the
   * same socket meanwhile would read this one's answer.
   */
  async requestAsync(type: number, flags: number, body: Buffer, subject?: string): Promise<void> {
    if (this.fd < 0) throw new Error('netlink socket is closed');
    const c = libc();
    const seq = ++this.seq;
    const op = RTM_NAMES[type] ?? `netlink ${type}`;
    const msg = message(type, flags | NLM_F.REQUEST | NLM_F.ACK, seq, body);
    if ((await c.sendAsync(this.fd, msg, msg.length, 0)) < 0) throw new OsError(op, EIO, subject);
    // rtnetlink handles a request inside sendmsg: the acknowledgement is queued by the time send returns,
    // so it is read here without another trip through the worker pool.
    const out: NlMessage[] = [];
    for (;;) {
      const n = c.recv(this.fd, this.rx, RECV_SIZE, 0);
      if (n < 0) throw new OsError(`${op} (recv)`, c.errno(), subject);
      if (this.parse(this.rx, n, seq, NLM_F.ACK, op, subject, out)) return;
    }
  }

  /** One request and its answers; undefined when it was refused with one of `absent`. */
  private exchange(type: number, flags: number, body: Buffer, subject?: string): NlMessage[];
  private exchange(
    type: number,
    flags: number,
    body: Buffer,
    subject: string | undefined,
    absent: readonly number[],
  ): NlMessage[] | undefined;
  private exchange(type: number, flags: number, body: Buffer, subject?: string, absent?: readonly number[]): NlMessage[] | undefined {
    if (this.fd < 0) throw new Error('netlink socket is closed');
    const c = libc();
    const seq = ++this.seq;
    const op = RTM_NAMES[type] ?? `netlink ${type}`;
    const msg = message(type, flags, seq, body);
    if (c.send(this.fd, msg, msg.length, 0) < 0) throw new OsError(op, c.errno(), subject);
    const out: NlMessage[] = [];
    for (;;) {
      const n = c.recv(this.fd, this.rx, RECV_SIZE, 0);
      if (n < 0) throw new OsError(`${op} (recv)`, c.errno(), subject);
      const done = this.parse(this.rx, n, seq, flags, op, subject, out, absent);
      if (done === 'absent') return undefined;
      if (done) return out;
    }
  }

  /**
   * Adds the answers to `seq` in rx[0..n) to out; true when the exchange is complete, 'absent' when it was
   * refused with one of `absent` (throws on any other negative ack).
   */
  private parse(
    rx: Buffer,
    n: number,
    seq: number,
    flags: number,
    op: string,
    subject: string | undefined,
    out: NlMessage[],
    absent?: readonly number[],
  ): boolean | 'absent' {
    let off = 0;
    while (off + 16 <= n) {
      const len = rx.readUInt32LE(off);
      const mtype = rx.readUInt16LE(off + 4);
      const mflags = rx.readUInt16LE(off + 6);
      const mseq = rx.readUInt32LE(off + 8);
      if (len < 16 || off + len > n) break;
      const mbody = Buffer.from(rx.subarray(off + 16, off + len));
      off += (len + 3) & ~3;
      if (mseq !== seq) continue; // a late answer to an earlier request
      if (mtype === NLMSG.ERROR) {
        const err = -mbody.readInt32LE(0);
        if (err === 0) return true;
        if (absent?.includes(err)) return 'absent';
        throw new OsError(op, err, subject);
      }
      if (mtype === NLMSG.DONE) return true;
      out.push({ type: mtype, flags: mflags, seq: mseq, body: mbody });
      if (!(mflags & NLM_F.MULTI) && !(flags & NLM_F.ACK)) return true;
    }
    return false;
  }
}
