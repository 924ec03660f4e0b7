/**
 * The load-balancer table's rules and map elements (the text lb-nft.ts realizes, also what the state records)
 * turned into nf_tables expressions and element keys. Only the forms lb-nft.ts produces are known; anything
 * else is refused with UnsupportedRuleError, and the caller falls back to libnftables for the transaction.
 */
import {
  byteorderHton32,
  cmpEq,
  ctSetMark,
  dnatIpv4,
  dnatIpv4FromRegs,
  dynsetUpdate,
  hostU32,
  immediateValue,
  immediateVerdict,
  lookup,
  META_L4PROTO,
  metaLoad,
  numgenRandom,
  payloadNetwork,
  REG_1,
  REG_2,
  REG32_01,
  REG_VERDICT,
  reject,
} from './expr';
import type { Attr } from './wire';

export class UnsupportedRuleError extends Error {
  constructor(what: string) {
    super(`no netlink encoding for ${what}`);
    this.name = 'UnsupportedRuleError';
  }
}

export const PROTO_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

/** An anonymous verdict map a rule looks up (created in the same batch): key (u32) → goto chain. */
export interface AnonVmap {
  entries: Array<[key: number, chain: string]>;
}

export interface EncodedRule {
  exprs: Attr[];
  /** The anonymous map the rule's lookup names by set ID, if any. */
  vmap?: AnonVmap;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const NAME = '([A-Za-z0-9_.-]+)';

export function ipv4Bytes(ip: string): Buffer {
  const m = IPV4.exec(ip);
  const parts = m ? m.slice(1).map(Number) : [];
  if (parts.length !== 4 || parts.some((p) => p > 255)) throw new UnsupportedRuleError(`address "${ip}"`);
  return Buffer.from(parts);
}

function portBytes(port: string): Buffer {
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UnsupportedRuleError(`port "${port}"`);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function protoNumber(name: string): number {
  const p = PROTO_NUMBERS[name];
  if (p === undefined) throw new UnsupportedRuleError(`protocol "${name}"`);
  return p;
}

const l4proto = (name: string): Attr[] => [metaLoad(REG_1, META_L4PROTO), cmpEq(REG_1, Buffer.from([protoNumber(name)]))];

/** One rule of lb-nft.ts's realization. `vmapId`: the set ID the rule's anonymous map (if any) gets. */
export function encodeRule(rule: string, vmapId: number): EncodedRule {
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`^goto ${NAME}$`).exec(rule))) return { exprs: [immediateVerdict('goto', m[1])] };
  if ((m = new RegExp(`^ip saddr @${NAME} goto ${NAME}$`).exec(rule)))
    return { exprs: [payloadNetwork(REG_1, 12, 4), lookup(m[1], REG_1), immediateVerdict('goto', m[2])] };
  if ((m = new RegExp(`^update @${NAME} \\{ ip saddr \\}$`).exec(rule)))
    return { exprs: [payloadNetwork(REG_1, 12, 4), dynsetUpdate(m[1], REG_1)] };
  if ((m = /^ct mark set (0x[0-9a-fA-F]{1,8}|\d+)$/.exec(rule)))
    return { exprs: [immediateValue(REG_1, hostU32(Number(m[1]))), ctSetMark(REG_1)] };
  if ((m = /^meta l4proto (tcp|udp|sctp) dnat ip to ([\d.]+):(\d+)$/.exec(rule)))
    return {
      exprs: [...l4proto(m[1]), immediateValue(REG_1, ipv4Bytes(m[2])), immediateValue(REG_2, portBytes(m[3])), dnatIpv4(REG_1, REG_2)],
    };
  if ((m = new RegExp(`^meta l4proto (tcp|udp|sctp) dnat ip to numgen random mod (\\d+) map @${NAME}$`).exec(rule)))
    return {
      exprs: [
        ...l4proto(m[1]),
        numgenRandom(REG_1, Number(m[2])),
        byteorderHton32(REG_1, REG_1),
        lookup(m[3], REG_1, { dreg: REG_1 }),
        dnatIpv4FromRegs(REG_1, REG32_01),
      ],
    };
  if (rule === 'meta l4proto tcp reject with tcp reset') return { exprs: [...l4proto('tcp'), reject('tcp reset')] };
  if (rule === 'reject') return { exprs: [reject('icmp port-unreachable')] };
  if ((m = /^numgen random mod (\d+) vmap \{ (.*) \}$/.exec(rule))) {
    const modulus = Number(m[1]);
    const entries = m[2].split(', ').map((e): [number, string] => {
      const em = new RegExp(`^(\\d+) : goto ${NAME}$`).exec(e);
      if (!em) throw new UnsupportedRuleError(`vmap entry "${e}"`);
      return [Number(em[1]), em[2]];
    });
    return {
      exprs: [numgenRandom(REG_1, modulus), lookup('__map%d', REG_1, { dreg: REG_VERDICT, setId: vmapId })],
      vmap: { entries },
    };
  }
  throw new UnsupportedRuleError(`rule "${rule}"`);
}

/**
 * A map element key ("10.96.0.10 . tcp . 80", "tcp . 30080") as the concatenation the kernel stores: each
 * component in its own 4-byte register slot (address as is, protocol one byte, port two bytes big-endian).
 */
export function elementKey(key: string): Buffer {
  const parts = key.split(' . ').map((p) => {
    const raw = IPV4.test(p) ? ipv4Bytes(p) : p in PROTO_NUMBERS ? Buffer.from([PROTO_NUMBERS[p]]) : portBytes(p);
    return Buffer.concat([raw, Buffer.alloc(4 - raw.length)]);
  });
  return Buffer.concat(parts);
}

/** "goto chain" / "jump chain" → the verdict. */
export function elementVerdict(verdict: string): { kind: 'goto' | 'jump'; chain: string } {
  const m = new RegExp(`^(goto|jump) ${NAME}$`).exec(verdict);
  if (!m) throw new UnsupportedRuleError(`verdict "${verdict}"`);
  return { kind: m[1] as 'goto' | 'jump', chain: m[2] };
}

/** A backend map value ("10.244.1.5 . 8080"): the address, then the port big-endian in its own 4-byte slot. */
export function backendValue(value: string): Buffer {
  const m = /^([\d.]+) \. (\d+)$/.exec(value);
  if (!m) throw new UnsupportedRuleError(`map value "${value}"`);
  return Buffer.concat([ipv4Bytes(m[1]), portBytes(m[2]), Buffer.alloc(2)]);
}

/** A slot range ("0-32767") of a backend map. */
export function slotRange(range: string): [start: number, end: number] {
  const m = /^(\d+)-(\d+)$/.exec(range);
  const [start, end] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(start <= end && end < 0xffffffff)) throw new UnsupportedRuleError(`interval "${range}"`);
  return [start, end];
}
