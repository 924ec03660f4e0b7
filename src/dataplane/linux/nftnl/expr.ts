/**
 * The nf_tables expressions the load-balancer rules are made of, encoded as nft 1.0.6 sends them
 * (`nft --debug=netlink` shows the same list): registers 1 and 2 for data, 0 for the verdict.
 */
import { be32, cstr, DATA, EXPR, LIST_ELEM, NFPROTO_IPV4, NFT_GOTO, NFT_JUMP, VERDICT, type Attr } from './wire';

export const REG_VERDICT = 0;
export const REG_1 = 1;
export const REG_2 = 2;
/** NFT_REG32_01: the second 32-bit slot of register 1 (the port of an `ip . port` map value). */
export const REG32_01 = 9;

const expr = (name: string, data: Attr[]): Attr => [
  LIST_ELEM,
  [
    [EXPR.NAME, cstr(name)],
    [EXPR.DATA, data],
  ],
];

/** NFTA_DATA_VERDICT: goto or jump to a chain. */
export function verdictData(kind: 'goto' | 'jump', chain: string): Attr[] {
  return [
    [
      DATA.VERDICT,
      [
        [VERDICT.CODE, be32(kind === 'goto' ? NFT_GOTO : NFT_JUMP)],
        [VERDICT.CHAIN, cstr(chain)],
      ],
    ],
  ];
}

/** immediate: a verdict (goto/jump a chain) into register 0. */
export const immediateVerdict = (kind: 'goto' | 'jump', chain: string): Attr =>
  expr('immediate', [
    [1, be32(REG_VERDICT)],
    [2, verdictData(kind, chain)],
  ]);

/** immediate: raw bytes (already in register byte order) into a data register. */
export const immediateValue = (reg: number, value: Buffer): Attr =>
  expr('immediate', [
    [1, be32(reg)],
    [2, [[DATA.VALUE, value]]],
  ]);

/** payload load from the network header (ip saddr: offset 12, 4 bytes). */
export const payloadNetwork = (reg: number, offset: number, len: number): Attr =>
  expr('payload', [
    [1, be32(reg)],
    [2, be32(1)], // NFT_PAYLOAD_NETWORK_HEADER
    [3, be32(offset)],
    [4, be32(len)],
  ]);

/** meta load (NFT_META_L4PROTO = 16). */
export const metaLoad = (reg: number, key: number): Attr =>
  expr('meta', [
    [2, be32(key)],
    [1, be32(reg)],
  ]);
export const META_L4PROTO = 16;

/** cmp eq register, value. */
export const cmpEq = (reg: number, value: Buffer): Attr =>
  expr('cmp', [
    [1, be32(reg)],
    [2, be32(0)], // NFT_CMP_EQ
    [3, [[DATA.VALUE, value]]],
  ]);

/** lookup of a register in a named set, or (dreg given) in an anonymous map created in the same batch. */
export function lookup(set: string, sreg: number, opts: { dreg?: number; setId?: number } = {}): Attr {
  const data: Attr[] = [[2, be32(sreg)]];
  if (opts.dreg !== undefined) data.push([3, be32(opts.dreg)]);
  data.push([1, cstr(set)]);
  if (opts.setId !== undefined) data.push([4, be32(opts.setId)]);
  return expr('lookup', data);
}

/** dynset update @set { key in register }: refreshes (or adds) the element with the set's timeout. */
export const dynsetUpdate = (set: string, sreg: number): Attr =>
  expr('dynset', [
    [4, be32(1)], // NFT_DYNSET_OP_UPDATE
    [3, be32(sreg)],
    [1, cstr(set)],
  ]);

/** ct set mark with register. */
export const ctSetMark = (sreg: number): Attr =>
  expr('ct', [
    [2, be32(3)], // NFT_CT_MARK
    [4, be32(sreg)],
  ]);

/** nat dnat ip to address register : port register (NF_NAT_RANGE_PROTO_SPECIFIED). */
export const dnatIpv4 = (addrReg: number, protoReg: number): Attr =>
  expr('nat', [
    [1, be32(1)], // NFT_NAT_DNAT
    [2, be32(NFPROTO_IPV4)],
    [3, be32(addrReg)],
    [5, be32(protoReg)],
    [7, be32(2)],
  ]);

/**
 * nat dnat ip to the address and port a map lookup left in registers (nft sends no flags attribute for this
 * form: the kernel derives them from the registers given).
 */
export const dnatIpv4FromRegs = (addrReg: number, protoReg: number): Attr =>
  expr('nat', [
    [1, be32(1)], // NFT_NAT_DNAT
    [2, be32(NFPROTO_IPV4)],
    [3, be32(addrReg)],
    [5, be32(protoReg)],
  ]);

/** byteorder hton: a host-order u32 register (numgen's result) to network order, as an interval map's key is. */
export const byteorderHton32 = (sreg: number, dreg: number): Attr =>
  expr('byteorder', [
    [1, be32(sreg)],
    [2, be32(dreg)],
    [3, be32(1)], // NFT_BYTEORDER_HTON
    [4, be32(4)], // length
    [5, be32(4)], // element size
  ]);

/** reject: a TCP reset (type 1), or ICMP port unreachable (type 0, code 3). */
export const reject = (kind: 'tcp reset' | 'icmp port-unreachable'): Attr =>
  expr(
    'reject',
    kind === 'tcp reset'
      ? [
          [1, be32(1)],
          [2, Buffer.from([0])],
        ]
      : [
          [1, be32(0)],
          [2, Buffer.from([3])],
        ],
  );

/** numgen random mod N into a register. */
export const numgenRandom = (reg: number, modulus: number): Attr =>
  expr('numgen', [
    [1, be32(reg)],
    [2, be32(modulus)],
    [3, be32(1)], // NFT_NG_RANDOM
    [4, be32(0)],
  ]);

/** A u32 in host (little-endian) byte order: what numgen and meta leave in a register. */
export function hostU32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
