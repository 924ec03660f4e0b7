/**
 * rtnetlink operations the linux data plane needs: links (bridge, veth with its peer created directly in
 * another namespace, vxlan, macvlan), addresses, routes (incl. onlink), neighbours and vxlan fdb entries.
 * Each instance is bound to one namespace through its socket.
 */
import {
  AF,
  Attr,
  IFA,
  IFF_UP,
  IFLA,
  IFLA_INFO,
  IFLA_MACVLAN_MODE,
  IFLA_VXLAN,
  MACVLAN_MODE_BRIDGE,
  NDA,
  NLM_F,
  NTF_SELF,
  NUD_PERMANENT,
  RTA,
  RTM,
  RTNH_F_ONLINK,
  RT_SCOPE,
  RT_TABLE_MAIN,
  VETH_INFO_PEER,
  decodeAttrs,
  familyOf,
  ifaddrmsg,
  ifinfomsg,
  ipBytes,
  ipString,
  macBytes,
  macString,
  ndmsg,
  rtmsg,
  str,
  u16be,
  u32,
  u8,
  encodeAttrs,
} from './codec';
import { NetlinkSocket } from './socket';
import { reapLink } from './link-reaper';
import { ERRNO, isNoSuchLink, OsError } from './libc';

export interface Link {
  index: number;
  name: string;
  kind?: string;
  master?: number;
  mtu: number;
  mac?: string;
  up: boolean;
  /** IFLA_IFALIAS: Switchyard writes its owner tag there (reconcile deletes only links carrying its own). */
  alias?: string;
}

export interface Address {
  index: number;
  ip: string;
  prefixLen: number;
  family: number;
}

export interface RouteSpec {
  dst: string;
  prefixLen: number;
  gateway?: string;
  oif?: number;
  onlink?: boolean;
  scope?: number;
  metric?: number;
  table?: number;
}

export interface Route extends RouteSpec {
  family: number;
  protocol: number;
  type: number;
}

/**
 * One TX and one RX queue, named in a veth's create. Without them the kernel allocates a queue per possible
 * CPU and then cuts the active count to one on the registered device (veth_init_queues →
 * netif_set_real_num_tx_queues), which waits for an expedited RCU grace period under the RTNL lock, once
 * per end of the pair: an IPI to every CPU and up to ~1.5 ms each on this VM. The device has one active
 * queue either way.
 */
const ONE_QUEUE: Attr[] = [
  [IFLA.NUM_TX_QUEUES, u32(1)],
  [IFLA.NUM_RX_QUEUES, u32(1)],
];

export interface PeerSpec {
  name: string;
  netnsFd: number;
  mac?: string;
  mtu?: number;
}

const { ENODEV, ENOENT, ESRCH, EEXIST, EADDRNOTAVAIL } = ERRNO;
/** The answers to a lookup of a link that does not exist (isNoSuchLink's errnos). */
const NO_SUCH_LINK = [ENODEV, ENOENT];

export class Rtnl {
  /** Written as the alias of every bridge, veth and vxlan this instance creates (see linux/reconcile.ts). */
  ownerTag?: string;

  constructor(readonly sock: NetlinkSocket) {}

  /** Sets a link's alias (IFLA_IFALIAS; the kernel takes it on change, not on create). */
  setAlias(index: number, alias: string): void {
    this.sock.request(
      RTM.NEWLINK,
      0,
      Buffer.concat([ifinfomsg({ index }), encodeAttrs([[IFLA.IFALIAS, str(alias)]])]),
      `alias of link ${index}`,
    );
  }

  private tagged(link: Link): Link {
    // Links made by newLink carry the tag from their creation; this is for any made otherwise.
    if (this.ownerTag && link.alias !== this.ownerTag) {
      this.setAlias(link.index, this.ownerTag);
      link.alias = this.ownerTag;
    }
    return link;
  }

  static open(netns?: string): Rtnl {
    return new Rtnl(NetlinkSocket.open(netns));
  }

  /** An instance bound to the namespace open as `nsFd` (`netns`: its path). */
  static openIn(nsFd: number, netns: string): Rtnl {
    return new Rtnl(NetlinkSocket.openIn(nsFd, netns));
  }

  close(): void {
    this.sock.close();
  }

  // ---- links -------------------------------------------------------------------------------------
  links(): Link[] {
    return this.sock
      .dump(RTM.GETLINK, ifinfomsg(), 'dump')
      .filter((m) => m.type === RTM.NEWLINK)
      .map((m) => parseLink(m.body));
  }

  linkByName(name: string): Link | undefined {
    const r = this.sock.requestUnless(
      RTM.GETLINK,
      0,
      Buffer.concat([ifinfomsg(), encodeAttrs([[IFLA.IFNAME, str(name)]])]),
      NO_SUCH_LINK,
      name,
    );
    return r?.length ? parseLink(r[0].body) : undefined;
  }

  mustLink(name: string): Link {
    const l = this.linkByName(name);
    if (!l) throw new OsError('RTM_GETLINK', ENODEV, name);
    return l;
  }

  /**
   * Creates a link; `tag`: with the owner tag. Macvlans are not tagged (they are created straight into the pod
   * namespace and found through their intent record): the alias message names the link by name in this
   * socket's namespace, where another link may carry that name (the node's own eth0).
   */
  private newLink(name: string, kind: string, data: Attr[] | undefined, extra: Attr[], up: boolean, tag = true): void {
    const info: Attr[] = [[IFLA_INFO.KIND, Buffer.from(kind)]];
    if (data) info.push([IFLA_INFO.DATA, data]);
    const body = Buffer.concat([
      ifinfomsg({ flags: up ? IFF_UP : 0, change: up ? IFF_UP : 0 }),
      encodeAttrs([[IFLA.IFNAME, str(name)], ...extra, [IFLA.LINKINFO, info]]),
    ]);
    const create = { type: RTM.NEWLINK, flags: NLM_F.CREATE | NLM_F.EXCL, body, subject: `${kind} ${name}` };
    if (!this.ownerTag || !tag) {
      this.sock.request(create.type, create.flags, create.body, create.subject);
      return;
    }
    // The owner tag goes in the same datagram as the create: the kernel takes an alias only on change, and a
    // process killed between two system calls would leave a link nobody may prove theirs (reconcile.ts). The
    // name is checked free first, so the alias message can only ever tag the link this create makes.
    if (this.linkByName(name)) throw new OsError('RTM_NEWLINK', EEXIST, `${kind} ${name}`);
    this.sock.requestAll([
      create,
      {
        type: RTM.NEWLINK,
        flags: 0,
        body: Buffer.concat([
          ifinfomsg(),
          encodeAttrs([
            [IFLA.IFNAME, str(name)],
            [IFLA.IFALIAS, str(this.ownerTag)],
          ]),
        ]),
        subject: `alias of ${kind} ${name}`,
      },
    ]);
  }

  createBridge(name: string, o: { mtu?: number; mac?: string; up?: boolean } = {}): Link {
    this.newLink(name, 'bridge', undefined, linkAttrs(o), o.up ?? true);
    return this.tagged(this.mustLink(name));
  }

  /** A veth pair whose peer is created directly inside `peer.netnsFd` (no move between namespaces). */
  createVeth(name: string, o: { mtu?: number; master?: number; mac?: string; up?: boolean; peer: PeerSpec }): Link {
    this.addVeth(name, o);
    return this.tagged(this.mustLink(name));
  }

  /** createVeth without reading the link back (it carries the owner tag from its creation). */
  addVeth(name: string, o: { mtu?: number; master?: number; mac?: string; up?: boolean; peer: PeerSpec }): void {
    const p = o.peer;
    const peerBody = Buffer.concat([
      // The peer cannot be brought up from here (the kernel answers ENOTCONN): the caller does it inside the namespace.
      ifinfomsg(),
      encodeAttrs([
        [IFLA.IFNAME, str(p.name)],
        [IFLA.NET_NS_FD, u32(p.netnsFd)],
        ...linkAttrs({ mtu: p.mtu ?? o.mtu, mac: p.mac }),
        ...ONE_QUEUE,
      ]),
    ]);
    const extra = [...linkAttrs(o), ...ONE_QUEUE];
    if (o.master) extra.push([IFLA.MASTER, u32(o.master)]);
    this.newLink(name, 'veth', [[VETH_INFO_PEER, peerBody]], extra, o.up ?? true);
  }

  createVxlan(
    name: string,
    o: { vni: number; port: number; local?: string; underlay?: number; mtu?: number; mac?: string; master?: number },
  ): Link {
    const data: Attr[] = [
      [IFLA_VXLAN.ID, u32(o.vni)],
      [IFLA_VXLAN.PORT, u16be(o.port)],
      [IFLA_VXLAN.LEARNING, u8(0)],
    ];
    if (o.local) data.push([IFLA_VXLAN.LOCAL, ipBytes(o.local)]);
    if (o.underlay) data.push([IFLA_VXLAN.LINK, u32(o.underlay)]);
    const extra = linkAttrs(o);
    if (o.master) extra.push([IFLA.MASTER, u32(o.master)]);
    this.newLink(name, 'vxlan', data, extra, true);
    return this.tagged(this.mustLink(name));
  }

  /** A macvlan (bridge mode) on `parent`, created directly inside `netnsFd` when given. */
  createMacvlan(name: string, parent: number, o: { netnsFd?: number; mac?: string; mtu?: number }): void {
    const extra: Attr[] = [[IFLA.LINK, u32(parent)], ...linkAttrs(o)];
    if (o.netnsFd !== undefined) extra.push([IFLA.NET_NS_FD, u32(o.netnsFd)]);
    this.newLink(name, 'macvlan', [[IFLA_MACVLAN_MODE, u32(MACVLAN_MODE_BRIDGE)]], extra, true, false);
  }

  setLink(index: number, o: { up?: boolean; master?: number; mtu?: number; mac?: string; name?: string }, subject?: string): void {
    const r = setLinkRequest(index, o, subject);
    this.sock.request(r.type, r.flags, r.body, r.subject);
  }

  /**
   * Several changes in one datagram (setLinkRequest, addAddressRequest, addRouteRequest), applied in order:
   * one system call instead of one per change. Every change is attempted; the first failure is thrown.
   */
  apply(reqs: readonly NlRequest[]): void {
    if (reqs.length) this.sock.requestAll(reqs);
  }

  /** Deletes a link by name; false when it did not exist (idempotent delete). */
  deleteLink(name: string): boolean {
    try {
      this.sock.request(RTM.DELLINK, 0, Buffer.concat([ifinfomsg(), encodeAttrs([[IFLA.IFNAME, str(name)]])]), name);
      return true;
    } catch (e) {
      if (isNoSuchLink(e)) return false;
      throw e;
    }
  }

  /**
   * deleteLink with the kernel's wait off the JS thread: deleting a veth waits for RCU (~15 ms) inside the
   * request, during which the caller's process can serve other work; deletions that overlap are sent to
   * the kernel as one (link-reaper.ts).
   */
  deleteLinkAsync(name: string): Promise<boolean> {
    return reapLink(this.sock.netns, name);
  }

  // ---- addresses ---------------------------------------------------------------------------------
  addAddress(index: number, ip: string, prefixLen: number, subject?: string): void {
    const r = addAddressRequest(index, ip, prefixLen, subject);
    this.sock.request(r.type, r.flags, r.body, r.subject);
  }

  deleteAddress(index: number, ip: string, prefixLen: number): boolean {
    try {
      this.sock.request(
        RTM.DELADDR,
        0,
        Buffer.concat([ifaddrmsg(familyOf(ip), prefixLen, index), encodeAttrs([[IFA.LOCAL, ipBytes(ip)]])]),
        `${ip}/${prefixLen}`,
      );
      return true;
    } catch (e) {
      if (e instanceof OsError && [ENODEV, ENOENT, EADDRNOTAVAIL].includes(e.errno)) return false;
      throw e;
    }
  }

  addresses(index?: number): Address[] {
    return this.sock
      .dump(RTM.GETADDR, ifaddrmsg(AF.UNSPEC, 0, 0), 'dump')
      .map((m) => {
        const a = decodeAttrs(m.body, 8);
        const raw = a.get(IFA.LOCAL) ?? a.get(IFA.ADDRESS);
        return { index: m.body.readUInt32LE(4), prefixLen: m.body.readUInt8(1), family: m.body.readUInt8(0), ip: raw ? ipString(raw) : '' };
      })
      .filter((a) => a.ip && (index === undefined || a.index === index));
  }

  // ---- routes ------------------------------------------------------------------------------------
  addRoute(r: RouteSpec, replace = true): void {
    const q = addRouteRequest(r, replace);
    this.sock.request(q.type, q.flags, q.body, q.subject);
  }

  deleteRoute(r: RouteSpec): boolean {
    try {
      this.sock.request(RTM.DELROUTE, 0, routeBody(r), routeSubject(r));
      return true;
    } catch (e) {
      if (e instanceof OsError && (e.errno === ESRCH || e.errno === ENOENT)) return false;
      throw e;
    }
  }

  routes(family: number = AF.INET): Route[] {
    return this.sock.dump(RTM.GETROUTE, rtmsg({ family, dstLen: 0, table: 0, protocol: 0, type: 0 }), 'dump').map((m) => {
      const b = m.body;
      const a = decodeAttrs(b, 12);
      const tableAttr = a.get(RTA.TABLE);
      return {
        family: b.readUInt8(0),
        prefixLen: b.readUInt8(1),
        table: tableAttr ? tableAttr.readUInt32LE(0) : b.readUInt8(4),
        protocol: b.readUInt8(5),
        scope: b.readUInt8(6),
        type: b.readUInt8(7),
        onlink: (b.readUInt32LE(8) & RTNH_F_ONLINK) !== 0,
        dst: a.get(RTA.DST) ? ipString(a.get(RTA.DST)!) : family === AF.INET ? '0.0.0.0' : '::',
        gateway: a.get(RTA.GATEWAY) ? ipString(a.get(RTA.GATEWAY)!) : undefined,
        oif: a.get(RTA.OIF)?.readUInt32LE(0),
        metric: a.get(RTA.PRIORITY)?.readUInt32LE(0),
      };
    });
  }

  // ---- neighbours and fdb ------------------------------------------------------------------------
  setNeighbor(index: number, ip: string, mac: string): void {
    const body = Buffer.concat([
      ndmsg(familyOf(ip), index, NUD_PERMANENT, 0),
      encodeAttrs([
        [NDA.DST, ipBytes(ip)],
        [NDA.LLADDR, macBytes(mac)],
      ]),
    ]);
    this.sock.request(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.REPLACE, body, `neighbour ${ip} lladdr ${mac}`);
  }

  deleteNeighbor(index: number, ip: string): boolean {
    const body = Buffer.concat([ndmsg(familyOf(ip), index, 0, 0), encodeAttrs([[NDA.DST, ipBytes(ip)]])]);
    return ignoreMissing(() => this.sock.request(RTM.DELNEIGH, 0, body, `neighbour ${ip}`));
  }

  /** vxlan forwarding entry: frames for `mac` are sent to the VTEP at `dst` (bridge fdb ... self). */
  setFdb(index: number, mac: string, dst: string): void {
    const body = Buffer.concat([
      ndmsg(AF.BRIDGE, index, NUD_PERMANENT, NTF_SELF),
      encodeAttrs([
        [NDA.LLADDR, macBytes(mac)],
        [NDA.DST, ipBytes(dst)],
      ]),
    ]);
    this.sock.request(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.REPLACE, body, `fdb ${mac} dst ${dst}`);
  }

  deleteFdb(index: number, mac: string, dst: string): boolean {
    const body = Buffer.concat([
      ndmsg(AF.BRIDGE, index, 0, NTF_SELF),
      encodeAttrs([
        [NDA.LLADDR, macBytes(mac)],
        [NDA.DST, ipBytes(dst)],
      ]),
    ]);
    return ignoreMissing(() => this.sock.request(RTM.DELNEIGH, 0, body, `fdb ${mac}`));
  }

  neighbors(family: number): { index: number; ip?: string; mac?: string; state: number; flags: number }[] {
    return this.sock.dump(RTM.GETNEIGH, ndmsg(family, 0, 0, 0), 'dump').map((m) => {
      const a = decodeAttrs(m.body, 12);
      return {
        index: m.body.readInt32LE(4),
        state: m.body.readUInt16LE(8),
        flags: m.body.readUInt8(10),
        ip: a.get(NDA.DST) ? ipString(a.get(NDA.DST)!) : undefined,
        mac: a.get(NDA.LLADDR)?.length === 6 ? macString(a.get(NDA.LLADDR)!) : undefined,
      };
    });
  }
}

/** One rtnetlink change, for Rtnl.apply. */
export interface NlRequest {
  type: number;
  flags: number;
  body: Buffer;
  subject?: string;
}

/** The loopback device's index in every network namespace (the kernel registers it first: LOOPBACK_IFINDEX). */
export const LOOPBACK_IFINDEX = 1;

export function setLinkRequest(
  index: number,
  o: { up?: boolean; master?: number; mtu?: number; mac?: string; name?: string },
  subject?: string,
): NlRequest {
  const attrs: Attr[] = linkAttrs(o);
  if (o.master !== undefined) attrs.push([IFLA.MASTER, u32(o.master)]);
  if (o.name) attrs.push([IFLA.IFNAME, str(o.name)]);
  const up = o.up === undefined ? {} : { flags: o.up ? IFF_UP : 0, change: IFF_UP };
  return {
    type: RTM.NEWLINK,
    flags: 0,
    body: Buffer.concat([ifinfomsg({ index, ...up }), encodeAttrs(attrs)]),
    subject: subject ?? `link ${index}`,
  };
}

export function addAddressRequest(index: number, ip: string, prefixLen: number, subject?: string): NlRequest {
  const attrs: Attr[] = [
    [IFA.LOCAL, ipBytes(ip)],
    [IFA.ADDRESS, ipBytes(ip)],
  ];
  return {
    type: RTM.NEWADDR,
    flags: NLM_F.CREATE | NLM_F.REPLACE,
    body: Buffer.concat([ifaddrmsg(familyOf(ip), prefixLen, index), encodeAttrs(attrs)]),
    subject: subject ?? `${ip}/${prefixLen}`,
  };
}

export function addRouteRequest(r: RouteSpec, replace = true): NlRequest {
  return { type: RTM.NEWROUTE, flags: NLM_F.CREATE | (replace ? NLM_F.REPLACE : NLM_F.EXCL), body: routeBody(r), subject: routeSubject(r) };
}

function ignoreMissing(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof OsError && [ENODEV, ENOENT, ESRCH].includes(e.errno)) return false;
    throw e;
  }
}

function linkAttrs(o: { mtu?: number; mac?: string }): Attr[] {
  const a: Attr[] = [];
  if (o.mtu) a.push([IFLA.MTU, u32(o.mtu)]);
  if (o.mac) a.push([IFLA.ADDRESS, macBytes(o.mac)]);
  return a;
}

function routeBody(r: RouteSpec): Buffer {
  const fam = familyOf(r.dst);
  const scope = r.scope ?? (r.gateway ? RT_SCOPE.UNIVERSE : RT_SCOPE.LINK);
  const attrs: Attr[] = [];
  if (r.prefixLen > 0) attrs.push([RTA.DST, ipBytes(r.dst)]);
  if (r.gateway) attrs.push([RTA.GATEWAY, ipBytes(r.gateway)]);
  if (r.oif) attrs.push([RTA.OIF, u32(r.oif)]);
  if (r.metric !== undefined) attrs.push([RTA.PRIORITY, u32(r.metric)]);
  const table = r.table ?? RT_TABLE_MAIN;
  attrs.push([RTA.TABLE, u32(table)]);
  return Buffer.concat([
    rtmsg({ family: fam, dstLen: r.prefixLen, table: table < 256 ? table : 252, scope, flags: r.onlink ? RTNH_F_ONLINK : 0 }),
    encodeAttrs(attrs),
  ]);
}

function routeSubject(r: RouteSpec): string {
  return `route ${r.dst}/${r.prefixLen}${r.gateway ? ` via ${r.gateway}` : ''}${r.onlink ? ' onlink' : ''}${r.oif ? ` oif ${r.oif}` : ''}`;
}

/**
 * One RTM_NEWLINK body → Link. Reads only the attributes a Link has (a link dump carries ~40 per link, stats
 * included), without building a map of subarrays: on a node with many pods, opening the data plane dumps
 * every link, and this parse was most of that cost.
 */
function parseLink(b: Buffer): Link {
  const link: Link = { index: b.readInt32LE(4), name: '', mtu: 0, up: (b.readUInt32LE(8) & IFF_UP) !== 0 };
  let off = 16;
  while (off + 4 <= b.length) {
    const len = b.readUInt16LE(off);
    if (len < 4 || off + len > b.length) break;
    const start = off + 4;
    switch (b.readUInt16LE(off + 2) & 0x3fff) {
      case IFLA.IFNAME:
        link.name = cstr(b, start, off + len);
        break;
      case IFLA.MASTER:
        if (len >= 8) link.master = b.readUInt32LE(start);
        break;
      case IFLA.MTU:
        if (len >= 8) link.mtu = b.readUInt32LE(start);
        break;
      case IFLA.IFALIAS:
        link.alias = cstr(b, start, off + len);
        break;
      case IFLA.ADDRESS:
        if (len === 10) link.mac = macString(b.subarray(start, start + 6));
        break;
      case IFLA.LINKINFO: {
        const kind = decodeAttrs(b, start, off + len).get(IFLA_INFO.KIND);
        if (kind) link.kind = cstr(kind, 0, kind.length);
        break;
      }
      default:
        break;
    }
    off += (len + 3) & ~3;
  }
  return link;
}

/** A NUL-terminated (or padded) string attribute. */
function cstr(b: Buffer, start: number, end: number): string {
  let e = end;
  while (e > start && b[e - 1] === 0) e--;
  return b.toString('utf8', start, e);
}
