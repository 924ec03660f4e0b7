/**
 * rtnetlink wire encoding: headers, attributes (TLVs, 4-byte aligned) and the parsed forms the data plane
 * reads back from dumps. Pure byte handling; no I/O.
 */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3 } as const;
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
} as const;
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
  GETNEIGH: 30,
} as const;
export const RTM_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RTM).map(([k, v]) => [v, `RTM_${k}`]));

export const AF = { UNSPEC: 0, INET: 2, BRIDGE: 7, INET6: 10 } as const;
export const IFF_UP = 0x1;
export const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  LINKINFO: 18,
  IFALIAS: 20,
  NET_NS_FD: 28,
  GROUP: 27,
  NUM_TX_QUEUES: 31,
  NUM_RX_QUEUES: 32,
} as const;
export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
export const VETH_INFO_PEER = 1;
export const IFLA_VXLAN = { ID: 1, LINK: 3, LOCAL: 4, TTL: 5, LEARNING: 7, PORT: 15 } as const;
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE_BRIDGE = 4;
export const IFA = { ADDRESS: 1, LOCAL: 2 } as const;
export const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
export const RTN_UNICAST = 1;
export const RTPROT_STATIC = 4;
export const RT_SCOPE = { UNIVERSE: 0, LINK: 253, HOST: 254 } as const;
export const RT_TABLE_MAIN = 254;
export const RTNH_F_ONLINK = 4;
export const NDA = { DST: 1, LLADDR: 2 } as const;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;

const align4 = (n: number) => (n + 3) & ~3;

/** One attribute: a raw payload or nested attributes. */
export type Attr = [type: number, value: Buffer | Attr[]];

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
export function u16be(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
export function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}
export function str(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
}

export function encodeAttrs(attrs: Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const [type, value] of attrs) {
    const payload = Buffer.isBuffer(value) ? value : encodeAttrs(value);
    const hdr = Buffer.alloc(4);
    hdr.writeUInt16LE(4 + payload.length, 0);
    // NLA_F_NESTED is optional for rtnetlink; the kernel accepts nests without it.
    hdr.writeUInt16LE(type, 2);
    parts.push(hdr, payload, Buffer.alloc(align4(payload.length) - payload.length));
  }
  return Buffer.concat(parts);
}

export function decodeAttrs(buf: Buffer, start = 0, end = buf.length): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = start;
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > end) break;
    out.set(type, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

export function message(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE(type, 4);
  hdr.writeUInt16LE(flags, 6);
  hdr.writeUInt32LE(seq, 8);
  hdr.writeUInt32LE(0, 12);
  return Buffer.concat([hdr, body]);
}

export function ifinfomsg(opts: { family?: number; index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(opts.family ?? AF.UNSPEC, 0);
  b.writeInt32LE(opts.index ?? 0, 4);
  b.writeUInt32LE(opts.flags ?? 0, 8);
  b.writeUInt32LE(opts.change ?? 0, 12);
  return b;
}

export function ifaddrmsg(family: number, prefixLen: number, index: number, scope = RT_SCOPE.UNIVERSE): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLen, 1);
  b.writeUInt8(0, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

export function rtmsg(o: {
  family: number;
  dstLen: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  flags?: number;
}): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(o.family, 0);
  b.writeUInt8(o.dstLen, 1);
  b.writeUInt8(0, 2);
  b.writeUInt8(0, 3);
  b.writeUInt8(o.table ?? RT_TABLE_MAIN, 4);
  b.writeUInt8(o.protocol ?? RTPROT_STATIC, 5);
  b.writeUInt8(o.scope ?? RT_SCOPE.UNIVERSE, 6);
  b.writeUInt8(o.type ?? RTN_UNICAST, 7);
  b.writeUInt32LE(o.flags ?? 0, 8);
  return b;
}

export function ndmsg(family: number, index: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  b.writeUInt8(0, 11);
  return b;
}

// ---- addresses ------------------------------------------------------------------------------------
export function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    const [head, tail] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
    const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    if (groups.length !== 8) throw new Error(`invalid IPv6 address "${ip}"`);
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
    return b;
  }
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`invalid IPv4 address "${ip}"`);
  return Buffer.from(parts);
}

export function ipString(b: Buffer): string {
  if (b.length === 4) return Array.from(b).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export function familyOf(ip: string): number {
  return ip.includes(':') ? AF.INET6 : AF.INET;
}

/** Accepts 00-15-5D-.. (HNS) or 00:15:5d:.. (Linux). */
export function macBytes(mac: string): Buffer {
  const hex = mac.replace(/[-:]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new Error(`invalid MAC address "${mac}"`);
  return Buffer.from(hex, 'hex');
}

export function macString(b: Buffer): string {
  return Array.from(b)
    .map((x) => x.toString(16).padStart(2, '0'))
    .join(':');
}
