/** A NETLINK_ROUTE socket: one request at a time, acknowledged, errors carrying errno and the operation. */
import { libc, OsError } from './libc';
import { message, NLM_F, NLMSG, RTM_NAMES } from './codec';
import { withNetns } from '../netns';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_EXT_ACK = 11;
const RECV_SIZE = 1 << 16;

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  body: Buffer;
}

export class NetlinkSocket {
  private fd: number;
  private seq = Math.floor(Math.random() * 1e6);
  private readonly rx = Buffer.alloc(RECV_SIZE);

  private constructor(
    fd: number,
    readonly netns?: string,
  ) {
    this.fd = fd;
  }

  /** Opens a socket in `netns` (a namespace path) or in the caller's namespace. */
  static open(netns?: string): NetlinkSocket {
    const c = libc();
    const fd = withNetns(netns, () => c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (fd < 0) throw new OsError('socket(AF_NETLINK)', c.errno(), netns);
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(AF_NETLINK, 0);
    if (c.bind(fd, sa, sa.length) !== 0) {
      const e = c.errno();
      c.close(fd);
      throw new OsError('bind(AF_NETLINK)', e, netns);
    }
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

  dump(type: number, body: Buffer, subject?: string): NlMessage[] {
    return this.exchange(type, NLM_F.REQUEST | NLM_F.DUMP, body, subject);
  }

  private exchange(type: number, flags: number, body: Buffer, subject?: string): NlMessage[] {
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
      let off = 0;
      while (off + 16 <= n) {
        const len = this.rx.readUInt32LE(off);
        const mtype = this.rx.readUInt16LE(off + 4);
        const mflags = this.rx.readUInt16LE(off + 6);
        const mseq = this.rx.readUInt32LE(off + 8);
        if (len < 16 || off + len > n) break;
        const mbody = Buffer.from(this.rx.subarray(off + 16, off + len));
        off += (len + 3) & ~3;
        if (mseq !== seq) continue; // a late answer to an earlier request
        if (mtype === NLMSG.ERROR) {
          const err = -mbody.readInt32LE(0);
          if (err !== 0) throw new OsError(op, err, subject);
          return out;
        }
        if (mtype === NLMSG.DONE) return out;
        out.push({ type: mtype, flags: mflags, seq: mseq, body: mbody });
        if (!(mflags & NLM_F.MULTI) && !(flags & NLM_F.ACK)) return out;
      }
    }
  }
}
