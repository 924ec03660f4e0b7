/**
 * nf_tables netlink wire format (linux/netfilter/nf_tables.h, nfnetlink.h): message types, the attribute
 * numbers the load-balancer table's changes use, and a TLV encoder that marks nests with NLA_F_NESTED as
 * libnftnl does. Pure byte handling; no I/O.
 */
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 16;
export const NFNL_MSG_BATCH_END = 17;
export const NFPROTO_IPV4 = 2;

/** enum nf_tables_msg_types (the low byte of the message type; the subsystem is the high byte). */
export const NFT_MSG = {
  NEWCHAIN: 3,
  DELCHAIN: 5,
  NEWRULE: 6,
  DELRULE: 8,
  NEWSET: 9,
  DELSET: 11,
  NEWSETELEM: 12,
  DELSETELEM: 14,
} as const;
export const NFT_MSG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(NFT_MSG).map(([k, v]) => [v, `NFT_MSG_${k}`]));

// The netlink header flags are rtnetlink's (one definition for both families).
export { NLM_F } from '../netlink/codec';
const NLA_F_NESTED = 0x8000;

export const CHAIN_ATTR = { TABLE: 1, NAME: 3 } as const;
export const RULE_ATTR = { TABLE: 1, CHAIN: 2, EXPRESSIONS: 4 } as const;
export const SET_ATTR = {
  TABLE: 1,
  NAME: 2,
  FLAGS: 3,
  KEY_TYPE: 4,
  KEY_LEN: 5,
  DATA_TYPE: 6,
  DATA_LEN: 7,
  DESC: 9,
  ID: 10,
  TIMEOUT: 11,
  USERDATA: 13,
} as const;
export const SET_DESC_SIZE = 1;
export const SET_FLAG = { ANONYMOUS: 0x1, CONSTANT: 0x2, INTERVAL: 0x4, MAP: 0x8, TIMEOUT: 0x10, EVAL: 0x20 } as const;
export const SETELEM_LIST = { TABLE: 1, SET: 2, ELEMENTS: 3, SET_ID: 4 } as const;
export const SETELEM = { KEY: 1, DATA: 2, FLAGS: 3 } as const;
/** NFT_SET_ELEM_INTERVAL_END: the element closes an interval (its key is the first value after it). */
export const SET_ELEM_INTERVAL_END = 1;
export const LIST_ELEM = 1;
export const EXPR = { NAME: 1, DATA: 2 } as const;
export const DATA = { VALUE: 1, VERDICT: 2 } as const;
export const VERDICT = { CODE: 1, CHAIN: 2 } as const;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
/** nft's datatypes (the set key types the kernel stores for nft to print them back). */
export const DATATYPE = { INTEGER: 4, IPADDR: 7, INET_SERVICE: 13 } as const;
/** nft's concatenated datatype: each component's type in 6 bits, the first one highest (ipv4_addr . inet_service = 461). */
export const concatType = (...types: number[]) => types.reduce((acc, t) => (acc << 6) | t, 0);
/** NFT_DATA_VERDICT: a map's data type when it maps to verdicts. */
export const NFT_DATA_VERDICT = 0xffffff00;

/** An attribute: a raw payload, or nested attributes (sent with NLA_F_NESTED). */
export type Attr = [type: number, value: Buffer | Attr[]];

const align4 = (n: number) => (n + 3) & ~3;

export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const [type, value] of attrs) {
    const nested = !Buffer.isBuffer(value);
    const payload = nested ? encodeAttrs(value) : value;
    const hdr = Buffer.alloc(4);
    hdr.writeUInt16LE(4 + payload.length, 0);
    hdr.writeUInt16LE(type | (nested ? NLA_F_NESTED : 0), 2);
    parts.push(hdr, payload, Buffer.alloc(align4(payload.length) - payload.length));
  }
  return Buffer.concat(parts);
}

/** Big-endian u32: nf_tables attributes that are numbers are in network byte order. */
export function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
export function be64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
}
export function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
}

/** struct nfgenmsg: family, version 0, res_id (big-endian). */
export function nfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(family, 0);
  b.writeUInt16BE(resId, 2);
  return b;
}

export function nlmsg(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE(type, 4);
  hdr.writeUInt16LE(flags, 6);
  hdr.writeUInt32LE(seq >>> 0, 8);
  return Buffer.concat([hdr, body]);
}

/** A nf_tables message type: subsystem in the high byte. */
export const nftType = (msg: number) => (NFNL_SUBSYS_NFTABLES << 8) | msg;
