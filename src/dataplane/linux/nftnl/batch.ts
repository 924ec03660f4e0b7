/**
 * One nf_tables transaction as netlink messages: BATCH_BEGIN, the changes, BATCH_END. The kernel applies
 * the whole batch or nothing. Every message keeps a subject (the chain, set or element it concerns) so a
 * refusal can be reported naming the object.
 */
import { backendValue, encodeRule, elementKey, elementVerdict, slotRange } from './lb-rules';
import { hostU32, verdictData } from './expr';
import {
  be32,
  be64,
  CHAIN_ATTR,
  concatType,
  cstr,
  DATA,
  DATATYPE,
  encodeAttrs,
  LIST_ELEM,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  nfgenmsg,
  NFT_DATA_VERDICT,
  NFT_MSG,
  nftType,
  NLM_F,
  nlmsg,
  RULE_ATTR,
  SET_ATTR,
  SET_DESC_SIZE,
  SET_FLAG,
  SETELEM,
  SET_ELEM_INTERVAL_END,
  SETELEM_LIST,
  type Attr,
} from './wire';

export interface BatchMessage {
  /** NFT_MSG_* (without the subsystem byte). */
  msg: number;
  flags: number;
  body: Buffer;
  /** What the message concerns, for errors: "chain svc-…", "element service-ips { … }". */
  subject: string;
}

/** nft's set user data: the key's byte order (big-endian: an address). */
const KEY_BIG_ENDIAN_UDATA = Buffer.from('000402000000', 'hex');
/**
 * nft 1.0.6's user data for `numgen … vmap { … }` maps: key in host byte order, data typeof a verdict, no
 * interval. `nft list` reads it back to print the map the way it was written.
 */
const NUMGEN_VMAP_UDATA = Buffer.from('00040100000001040000000004080004010000000100060400000000', 'hex');

/**
 * nft 1.0.6's user data for `typeof numgen random mod 65536 : ip daddr . th dport` (key in host byte order,
 * then the key's and the data's expressions), so that `nft list` prints the backend maps as nft would.
 */
const BACKEND_MAP_UDATA = Buffer.from(
  '000401000000010400000000031a0004170000000112000401000000010400000100020400000000043400040d000000012c0014000407000000010c' +
    '00040c00000001040c0000000114000407000000010c00040b000000010402000000060400000000',
  'hex',
);

export class NftBatch {
  readonly messages: BatchMessage[] = [];
  private setIds = 0;

  constructor(
    readonly family: number,
    readonly table: string,
  ) {}

  private add(msg: number, flags: number, attrs: Attr[], subject: string): void {
    this.messages.push({ msg, flags, body: Buffer.concat([nfgenmsg(this.family), encodeAttrs(attrs)]), subject });
  }

  private get tableAttr(): Attr {
    return [1, cstr(this.table)];
  }

  newChain(name: string): void {
    this.add(NFT_MSG.NEWCHAIN, NLM_F.CREATE, [this.tableAttr, [CHAIN_ATTR.NAME, cstr(name)]], `chain ${name}`);
  }

  deleteChain(name: string): void {
    this.add(NFT_MSG.DELCHAIN, 0, [this.tableAttr, [CHAIN_ATTR.NAME, cstr(name)]], `chain ${name}`);
  }

  /** DELRULE naming the chain only: every rule of the chain (`flush chain`). */
  flushChain(name: string): void {
    this.add(NFT_MSG.DELRULE, 0, [this.tableAttr, [RULE_ATTR.CHAIN, cstr(name)]], `chain ${name} (flush)`);
  }

  /** Appends one rule (lb-nft.ts text form) to a chain; an anonymous map it uses is created just before. */
  appendRule(chain: string, rule: string): void {
    const id = ++this.setIds;
    const enc = encodeRule(rule, id);
    if (enc.vmap) this.anonymousVmap(id, enc.vmap.entries, chain);
    else this.setIds--;
    const attrs: Attr[] = [this.tableAttr, [RULE_ATTR.CHAIN, cstr(chain)], [RULE_ATTR.EXPRESSIONS, enc.exprs]];
    this.add(NFT_MSG.NEWRULE, NLM_F.CREATE | NLM_F.APPEND, attrs, `rule "${rule}" in chain ${chain}`);
  }

  private anonymousVmap(id: number, entries: Array<[number, string]>, chain: string): void {
    const subject = `anonymous map of a rule in chain ${chain}`;
    this.add(
      NFT_MSG.NEWSET,
      NLM_F.CREATE,
      [
        this.tableAttr,
        [SET_ATTR.NAME, cstr('__map%d')],
        [SET_ATTR.FLAGS, be32(SET_FLAG.ANONYMOUS | SET_FLAG.CONSTANT | SET_FLAG.MAP)],
        [SET_ATTR.KEY_TYPE, be32(DATATYPE.INTEGER)],
        [SET_ATTR.KEY_LEN, be32(4)],
        [SET_ATTR.DATA_TYPE, be32(NFT_DATA_VERDICT)],
        [SET_ATTR.DATA_LEN, be32(0)],
        [SET_ATTR.ID, be32(id)],
        [SET_ATTR.DESC, [[SET_DESC_SIZE, be32(entries.length)]]],
        [SET_ATTR.USERDATA, NUMGEN_VMAP_UDATA],
      ],
      subject,
    );
    // Numbered 1, 2, … as libnftnl does (the kernel reads a list's members whatever their type).
    const elems: Attr[] = entries.map(([k, target], i) => [
      LIST_ELEM + i,
      [
        [SETELEM.KEY, [[DATA.VALUE, hostU32(k)]]],
        [SETELEM.DATA, verdictData('goto', target)],
      ],
    ]);
    this.add(
      NFT_MSG.NEWSETELEM,
      NLM_F.CREATE,
      [this.tableAttr, [SETELEM_LIST.SET, cstr('__map%d')], [SETELEM_LIST.SET_ID, be32(id)], [SETELEM_LIST.ELEMENTS, elems]],
      subject,
    );
  }

  /** A set of IPv4 addresses that rules add to (`flags dynamic,timeout`), elements expiring after timeoutMs. */
  newDynamicSet(name: string, timeoutMs: number): void {
    this.newNamedSet(
      `set ${name}`,
      name,
      [
        [SET_ATTR.FLAGS, be32(SET_FLAG.TIMEOUT | SET_FLAG.EVAL)],
        [SET_ATTR.KEY_TYPE, be32(DATATYPE.IPADDR)],
        [SET_ATTR.KEY_LEN, be32(4)],
      ],
      [
        [SET_ATTR.TIMEOUT, be64(timeoutMs)],
        [SET_ATTR.USERDATA, KEY_BIG_ENDIAN_UDATA],
      ],
    );
  }

  /**
   * A backend map (`typeof numgen random mod 65536 : ip daddr . th dport; flags interval`): slot ranges →
   * address . port, read by the service chain's dnat. Its elements are data, not verdicts: changing them
   * never makes the kernel re-validate the table's chains.
   */
  newBackendMap(name: string): void {
    this.newNamedSet(
      `map ${name}`,
      name,
      [
        [SET_ATTR.FLAGS, be32(SET_FLAG.MAP | SET_FLAG.INTERVAL)],
        [SET_ATTR.KEY_TYPE, be32(DATATYPE.INTEGER)],
        [SET_ATTR.KEY_LEN, be32(4)],
        [SET_ATTR.DATA_TYPE, be32(concatType(DATATYPE.IPADDR, DATATYPE.INET_SERVICE))],
        [SET_ATTR.DATA_LEN, be32(8)],
      ],
      [[SET_ATTR.USERDATA, BACKEND_MAP_UDATA]],
    );
  }

  /** NEWSET of a named set in this batch's table: `shape` before the set ID, `tail` after it (nft's order). */
  private newNamedSet(subject: string, name: string, shape: Attr[], tail: Attr[]): void {
    this.add(
      NFT_MSG.NEWSET,
      NLM_F.CREATE,
      [this.tableAttr, [SET_ATTR.NAME, cstr(name)], ...shape, [SET_ATTR.ID, be32(++this.setIds)], ...tail],
      subject,
    );
  }

  /**
   * Adds (value given) or deletes slot ranges of a backend map, one message: each range as a start element
   * (key = first slot, big-endian as the rule's byteorder leaves it) and an end element flagged INTERVAL_END
   * (key = last slot + 1), as nft sends them.
   */
  backendElements(op: 'add' | 'delete', map: string, entries: Array<[range: string, value?: string]>): void {
    if (!entries.length) return;
    const elems: Attr[] = [];
    for (const [range, value] of entries) {
      const [start, end] = slotRange(range);
      const startElem: Attr[] = [[SETELEM.KEY, [[DATA.VALUE, be32(start)]]]];
      if (op === 'add') startElem.push([SETELEM.DATA, [[DATA.VALUE, backendValue(value ?? '')]]]);
      elems.push([LIST_ELEM + elems.length, startElem]);
      elems.push([
        LIST_ELEM + elems.length,
        [
          [SETELEM.FLAGS, be32(SET_ELEM_INTERVAL_END)],
          [SETELEM.KEY, [[DATA.VALUE, be32(end + 1)]]],
        ],
      ]);
    }
    const text = entries.map(([r, v]) => (op === 'add' ? `${r} : ${v}` : r)).join(', ');
    this.add(
      op === 'add' ? NFT_MSG.NEWSETELEM : NFT_MSG.DELSETELEM,
      op === 'add' ? NLM_F.CREATE : 0,
      [this.tableAttr, [SETELEM_LIST.SET, cstr(map)], [SETELEM_LIST.ELEMENTS, elems]],
      `element ${map} { ${text} }`,
    );
  }

  deleteSet(name: string): void {
    this.add(NFT_MSG.DELSET, 0, [this.tableAttr, [SET_ATTR.NAME, cstr(name)]], `set ${name}`);
  }

  /** An element of a named verdict map: key ("10.96.0.10 . tcp . 80") → verdict ("goto svc-…"). */
  addElement(map: string, key: string, verdict: string): void {
    const v = elementVerdict(verdict);
    const elem: Attr[] = [
      [SETELEM.KEY, [[DATA.VALUE, elementKey(key)]]],
      [SETELEM.DATA, verdictData(v.kind, v.chain)],
    ];
    this.add(
      NFT_MSG.NEWSETELEM,
      NLM_F.CREATE,
      [this.tableAttr, [SETELEM_LIST.SET, cstr(map)], [SETELEM_LIST.ELEMENTS, [[LIST_ELEM, elem]]]],
      `element ${map} { ${key} : ${verdict} }`,
    );
  }

  deleteElement(map: string, key: string): void {
    const elem: Attr[] = [[SETELEM.KEY, [[DATA.VALUE, elementKey(key)]]]];
    this.add(
      NFT_MSG.DELSETELEM,
      0,
      [this.tableAttr, [SETELEM_LIST.SET, cstr(map)], [SETELEM_LIST.ELEMENTS, [[LIST_ELEM, elem]]]],
      `element ${map} { ${key} }`,
    );
  }

  /**
   * The datagram: begin, the messages with sequence numbers firstSeq+1…, end. Only the last change asks for
   * an acknowledgement: the kernel reports every refused message anyway, and acknowledging thousands of
   * accepted ones would overflow the receive buffer.
   */
  encode(firstSeq: number): Buffer {
    const parts: Buffer[] = [nlmsg(NFNL_MSG_BATCH_BEGIN, NLM_F.REQUEST, firstSeq, nfgenmsg(0, NFNL_SUBSYS_NFTABLES))];
    this.messages.forEach((m, i) => {
      const last = i === this.messages.length - 1;
      parts.push(nlmsg(nftType(m.msg), NLM_F.REQUEST | m.flags | (last ? NLM_F.ACK : 0), firstSeq + 1 + i, m.body));
    });
    parts.push(nlmsg(NFNL_MSG_BATCH_END, NLM_F.REQUEST, firstSeq + this.messages.length + 1, nfgenmsg(0, NFNL_SUBSYS_NFTABLES)));
    return Buffer.concat(parts);
  }
}
