/**
 * Load balancers in nftables the way kube-proxy's nftables mode builds them, in Switchyard's own table
 * `ip switchyard-lb`:
 * - one verdict-map lookup per packet: `service-ips` (VIP . protocol . port → the LB's chain) and, on node
 *   addresses (`fib daddr type local`), `service-nodeports` (protocol . port → chain);
 * - a chain per LB port mapping. Most port mappings (no session affinity, no masquerade mark) DNAT in one rule
 *   through a backend map `be-…` (a random slot 0..65535 → backend address . port, each backend an equal range
 *   of slots): a backend change is then only map elements, data the kernel commits without re-validating the
 *   table's chains (a new rule or a verdict element makes it walk every chain of the table, O(table)).
 * - The others choose an endpoint chain with `numgen random`, after the per-endpoint affinity sets (ClientIP:
 *   `update @aff-… { ip saddr }` with kube-proxy's 3 h timeout; HNS has no timeout); an endpoint chain per backend
 *   DNATs, marking the connection for masquerade when an external frontend (node port, external IP) sends it to
 *   another node, so the reply comes back through this node.
 * What is realized is recorded per LB in the state (`lbNft`), and a change is the difference between that
 * record and the LB's new realization (element adds/deletes, new/flushed/deleted chains, sets and maps) applied as
 * one transaction — an nf_tables netlink batch (nftnl/) when the table exists, nft text otherwise: nothing is
 * listed to find what to change, and the endpoint policies' table (ruleset.ts) is never touched. When a
 * transaction fails (the table was removed out of band), the whole table is rebuilt from the records in one
 * transaction. `kernelLoadBalancerKeys` lists the two maps for drift
 * checks. Pure except apply/list.
 */
import { EndpointFlags, LoadBalancerDistribution, LoadBalancerFlags, LoadBalancerPortMappingFlags } from '../../hns';
import type { HostComputeLoadBalancer } from '../../hns';
import { applyRuleset, LIBNFTABLES, NftError, nftArgv, noteNftChange } from './nft';
import { NftBatch } from './nftnl/batch';
import { UnsupportedRuleError } from './nftnl/lb-rules';
import { NetlinkUnavailableError, NftnlError, sendBatch } from './nftnl/socket';
import { OsError } from './netlink/libc';
import { NFPROTO_IPV4 } from './nftnl/wire';
import { PolicyError } from './ruleset';
import { childProcess } from './lazy';
import { key, type LinuxState } from './state';
import { isIpv4, parseIp } from '../../net/ip';

export const LB_TABLE = 'switchyard-lb';
/** Connection mark of connections to masquerade ("SY"). */
export const LB_MASQ_MARK = '0x5359';
/** kube-proxy's default ClientIP affinity timeout (HNS documents carry none). */
const AFFINITY_TIMEOUT_MS = 10800 * 1000;
const AFFINITY_TIMEOUT = `${AFFINITY_TIMEOUT_MS / 1000}s`;

/**
 * What one LB put in the kernel: verdict-map elements ("map|key|verdict"), chains with their rules, affinity
 * sets, and backend maps with their elements ("map|first-last slot|address . port"). The backend-map fields are
 * absent from realizations recorded by older versions (read as none).
 */
export interface RealizedLb {
  elements: string[];
  chains: Record<string, string[]>;
  sets: string[];
  maps?: string[];
  mapElements?: string[];
}

/** The slots `numgen random mod BACKEND_SLOTS` draws from; a backend map splits them among the backends. */
export const BACKEND_SLOTS = 65536;

/**
 * The slots split into n contiguous ranges as equal as possible (the first 65536 mod n one slot longer), in
 * order, covering 0..65535 once: backend k answers (its range's length)/65536 of the new connections.
 */
export function slotRanges(n: number): Array<[first: number, last: number]> {
  const out: Array<[number, number]> = [];
  if (n <= 0) return out;
  const base = Math.floor(BACKEND_SLOTS / n);
  const longer = BACKEND_SLOTS % n;
  let first = 0;
  for (let k = 0; k < n; k++) {
    const len = base + (k < longer ? 1 : 0);
    out.push([first, first + len - 1]);
    first += len;
  }
  return out;
}

/** A frontend (VIP . protocol . port, or a node port) another LB already realizes. */
export class FrontendInUseError extends PolicyError {}

export interface LbBackend {
  ip: string;
  remote: boolean;
}

const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const idPart = (id: string) => id.replace(/-/g, '').toLowerCase();
/** The address as 8 hex digits (a name part of nft objects). */
const hexIp = (ip: string) => parseIp(ip)!.n.toString(16).padStart(8, '0');

function ipv4(s: string, field: string): string {
  if (!isIpv4(s.trim())) throw new PolicyError(`${field}: "${s}" is not an IPv4 address`);
  return s.trim();
}
function port(n: unknown, field: string): number {
  const v = Number(n);
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new PolicyError(`${field}: ${String(n)} is not a port (1-65535)`);
  return v;
}

/** The kernel objects of one LB (pure). */
export function realizeLoadBalancer(id: string, doc: HostComputeLoadBalancer, backends: LbBackend[]): RealizedLb {
  const where = `load balancer ${id}`;
  if ((doc.Flags ?? 0) & LoadBalancerFlags.IPv6)
    throw new PolicyError(`${where}: IPv6 load balancers are not supported by the linux data plane`);
  // DSR (Flags 1) is realized as plain DNAT (replies pass this node), as before this table existed; features().DSR
  // is false so the service proxy never asks for it and reports ETP Local without DSR as a finding.
  if (backends.length > BACKEND_SLOTS) throw new PolicyError(`${where}: ${backends.length} backends (at most ${BACKEND_SLOTS})`);
  const out: RealizedLb = { elements: [], chains: {}, sets: [], maps: [], mapElements: [] };
  const vips = (doc.FrontendVIPs ?? []).map((v, i) => ipv4(v, `${where} FrontendVIPs[${i}]`));
  (doc.PortMappings ?? []).forEach((pm, i) => {
    const proto = PROTO[Number(pm.Protocol)];
    if (!proto)
      throw new PolicyError(`${where} PortMappings[${i}].Protocol: ${String(pm.Protocol)} is not TCP (6), UDP (17) or SCTP (132)`);
    const ext = port(pm.ExternalPort, `${where} PortMappings[${i}].ExternalPort`);
    const int = port(pm.InternalPort || pm.ExternalPort, `${where} PortMappings[${i}].InternalPort`);
    const svc = `svc-${idPart(id)}-${i}`;
    // Node ports and external IPs are reached from outside the cluster: a backend on another node would
    // answer the client directly, so those connections are masqueraded (kube-proxy marks them too).
    const external = vips.length === 0 || ((pm.Flags ?? 0) & LoadBalancerPortMappingFlags.VipExternalIP) !== 0;
    const affinity =
      pm.DistributionType === LoadBalancerDistribution.SourceIP || pm.DistributionType === LoadBalancerDistribution.SourceIPProtocol;
    const rules: string[] = [];
    const eps: string[] = [];
    // Without per-backend statements (affinity, the masquerade mark) the backends are data: ranges of random
    // slots in a map the chain's one dnat reads. A backend change then only swaps map elements, which the
    // kernel applies without re-validating the table (a verdict or a new rule would make it walk every chain).
    if (!affinity && !(external && backends.some((b) => b.remote))) {
      const map = `be-${idPart(id)}-${i}`;
      out.maps!.push(map);
      slotRanges(backends.length).forEach(([first, last], k) =>
        out.mapElements!.push(`${map}|${first}-${last}|${backends[k].ip} . ${int}`),
      );
      // The lookup misses when the map is empty (no backend): the rejects answer, as kube-proxy's do.
      out.chains[svc] = [
        `meta l4proto ${proto} dnat ip to numgen random mod ${BACKEND_SLOTS} map @${map}`,
        'meta l4proto tcp reject with tcp reset',
        'reject',
      ];
      if (vips.length === 0) out.elements.push(`service-nodeports|${proto} . ${ext}|goto ${svc}`);
      for (const vip of vips) out.elements.push(`service-ips|${vip} . ${proto} . ${ext}|goto ${svc}`);
      return;
    }
    for (const b of backends) {
      const ep = `ep-${idPart(id)}-${i}-${hexIp(b.ip)}`;
      eps.push(ep);
      const body: string[] = [];
      if (affinity) {
        const set = `aff-${idPart(id)}-${i}-${hexIp(b.ip)}`;
        out.sets.push(set);
        rules.push(`ip saddr @${set} goto ${ep}`);
        body.push(`update @${set} { ip saddr }`);
      }
      if (external && b.remote) body.push(`ct mark set ${LB_MASQ_MARK}`);
      body.push(`meta l4proto ${proto} dnat ip to ${b.ip}:${int}`);
      out.chains[ep] = body;
    }
    // No backend: refuse the connection rather than let the VIP lead nowhere (kube-proxy rejects as well).
    if (eps.length === 0) rules.push('meta l4proto tcp reject with tcp reset', 'reject');
    else if (eps.length === 1) rules.push(`goto ${eps[0]}`);
    else rules.push(`numgen random mod ${eps.length} vmap { ${eps.map((e, k) => `${k} : goto ${e}`).join(', ')} }`);
    out.chains[svc] = rules;
    if (vips.length === 0) out.elements.push(`service-nodeports|${proto} . ${ext}|goto ${svc}`);
    for (const vip of vips) out.elements.push(`service-ips|${vip} . ${proto} . ${ext}|goto ${svc}`);
  });
  return out;
}

const T = `ip ${LB_TABLE}`;

function baseTable(): string[] {
  return [
    `table ${T}`,
    `delete table ${T}`,
    `table ${T} {`,
    `\tmap service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }`,
    `\tmap service-nodeports { type inet_proto . inet_service : verdict; }`,
    `\tchain services {\n\t\tip daddr . meta l4proto . th dport vmap @service-ips\n` +
      `\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports\n\t}`,
    `\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tjump services\n\t}`,
    // dstnat is refused on the output hook; -100 is the same priority.
    `\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump services\n\t}`,
    `\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tct mark ${LB_MASQ_MARK} masquerade\n\t}`,
    `}`,
  ];
}

const mapDecl = (name: string) =>
  `add map ${T} ${name} { typeof numgen random mod ${BACKEND_SLOTS} : ip daddr . th dport; flags interval; }`;
const mapElement = (e: string, op: 'add' | 'delete') => {
  const [map, range, value] = e.split('|');
  return op === 'add' ? `add element ${T} ${map} { ${range} : ${value} }` : `delete element ${T} ${map} { ${range} }`;
};
const setDecl = (name: string) => `add set ${T} ${name} { type ipv4_addr; flags dynamic,timeout; timeout ${AFFINITY_TIMEOUT}; }`;
const chainRules = (name: string, rules: string[]) => rules.map((r) => `add rule ${T} ${name} ${r}`);
const element = (e: string, op: 'add' | 'delete') => {
  const [map, k, verdict] = e.split('|');
  return op === 'add' ? `add element ${T} ${map} { ${k} : ${verdict} }` : `delete element ${T} ${map} { ${k} }`;
};

/** The whole table from the records, as one transaction text (start, repair, and the bench's raw batch). */
export function fullTableText(realized: Iterable<RealizedLb>): string {
  const lines = baseTable();
  const elements: string[] = [];
  for (const r of realized) {
    for (const s of r.sets) lines.push(setDecl(s));
    for (const m of r.maps ?? []) lines.push(mapDecl(m));
    for (const name of Object.keys(r.chains)) lines.push(`add chain ${T} ${name}`);
    for (const [name, rules] of Object.entries(r.chains)) lines.push(...chainRules(name, rules));
    for (const e of r.mapElements ?? []) lines.push(mapElement(e, 'add'));
    elements.push(...r.elements);
  }
  for (const e of elements) lines.push(element(e, 'add'));
  return lines.join('\n') + '\n';
}

/** What turns `before` (per LB key) into `after`: the objects to add, refill, and remove. */
export interface LbDiff {
  addSets: string[];
  addMaps: string[];
  addChains: string[];
  /** Chains whose rules are (re)written: new ones (flush false) and changed ones (flushed first). */
  fill: Array<{ chain: string; flush: boolean; rules: string[] }>;
  delElements: string[];
  addElements: string[];
  /** Backend-map elements ("map|range|value"): the old ranges go before the new ones (no overlap in between). */
  delMapElements: string[];
  addMapElements: string[];
  dropChains: string[];
  dropSets: string[];
  dropMaps: string[];
}

/** The difference between two realizations per LB key; undefined when nothing changes. */
export function diffLb(before: Record<string, RealizedLb>, after: Record<string, RealizedLb | undefined>): LbDiff | undefined {
  const d: LbDiff = {
    addSets: [],
    addMaps: [],
    addChains: [],
    fill: [],
    delElements: [],
    addElements: [],
    delMapElements: [],
    addMapElements: [],
    dropChains: [],
    dropSets: [],
    dropMaps: [],
  };
  for (const [k, next] of Object.entries(after)) {
    const prev = before[k];
    const pe = new Set(prev?.elements ?? []);
    const ne = new Set(next?.elements ?? []);
    for (const e of pe) if (!ne.has(e)) d.delElements.push(e);
    for (const e of ne) if (!pe.has(e)) d.addElements.push(e);
    const ps = new Set(prev?.sets ?? []);
    const ns = new Set(next?.sets ?? []);
    for (const s of ns) if (!ps.has(s)) d.addSets.push(s);
    for (const s of ps) if (!ns.has(s)) d.dropSets.push(s);
    const pm = new Set(prev?.maps ?? []);
    const nm = new Set(next?.maps ?? []);
    for (const m of nm) if (!pm.has(m)) d.addMaps.push(m);
    for (const m of pm) if (!nm.has(m)) d.dropMaps.push(m);
    const pme = new Set(prev?.mapElements ?? []);
    const nme = new Set(next?.mapElements ?? []);
    // A map that goes takes its elements with it.
    for (const e of pme) if (!nme.has(e) && nm.has(e.slice(0, e.indexOf('|')))) d.delMapElements.push(e);
    for (const e of nme) if (!pme.has(e)) d.addMapElements.push(e);
    for (const [name, rules] of Object.entries(next?.chains ?? {})) {
      const old = prev?.chains[name];
      if (!old) {
        d.addChains.push(name);
        d.fill.push({ chain: name, flush: false, rules });
      } else if (old.join('\n') !== rules.join('\n')) {
        d.fill.push({ chain: name, flush: true, rules });
      }
    }
    for (const name of Object.keys(prev?.chains ?? {})) if (!next?.chains[name]) d.dropChains.push(name);
  }
  const empty = Object.values(d).every((list: unknown[]) => list.length === 0);
  return empty ? undefined : d;
}

/**
 * The transaction as nft text. New chains exist (empty) before any rule jumps to them; elements go after the
 * chains they name and are removed before the chains they named are deleted. diffBatch keeps the same order.
 */
export function diffText(before: Record<string, RealizedLb>, after: Record<string, RealizedLb | undefined>, haveTable: boolean): string {
  const d = diffLb(before, after);
  return d ? renderDiffText(d, haveTable) : '';
}

function renderDiffText(d: LbDiff, haveTable: boolean): string {
  const lines = haveTable ? [] : baseTable();
  lines.push(...d.addSets.map(setDecl));
  lines.push(...d.addMaps.map(mapDecl));
  lines.push(...d.addChains.map((c) => `add chain ${T} ${c}`));
  for (const f of d.fill) {
    if (f.flush) lines.push(`flush chain ${T} ${f.chain}`);
    lines.push(...chainRules(f.chain, f.rules));
  }
  lines.push(...d.delElements.map((e) => element(e, 'delete')));
  lines.push(...d.addElements.map((e) => element(e, 'add')));
  lines.push(...d.delMapElements.map((e) => mapElement(e, 'delete')));
  lines.push(...d.addMapElements.map((e) => mapElement(e, 'add')));
  lines.push(...d.dropChains.map((c) => `flush chain ${T} ${c}`));
  lines.push(...d.dropChains.map((c) => `delete chain ${T} ${c}`));
  lines.push(...d.dropSets.map((s) => `delete set ${T} ${s}`));
  lines.push(...d.dropMaps.map((m) => `delete map ${T} ${m}`));
  return lines.join('\n') + '\n';
}

/** The same transaction as nf_tables netlink messages (the table exists). Throws UnsupportedRuleError for unknown rule text. */
export function diffBatch(d: LbDiff): NftBatch {
  const b = new NftBatch(NFPROTO_IPV4, LB_TABLE);
  for (const s of d.addSets) b.newDynamicSet(s, AFFINITY_TIMEOUT_MS);
  for (const m of d.addMaps) b.newBackendMap(m);
  for (const c of d.addChains) b.newChain(c);
  for (const f of d.fill) {
    if (f.flush) b.flushChain(f.chain);
    for (const r of f.rules) b.appendRule(f.chain, r);
  }
  for (const e of d.delElements) {
    const [map, k] = e.split('|');
    b.deleteElement(map, k);
  }
  for (const e of d.addElements) {
    const [map, k, verdict] = e.split('|');
    b.addElement(map, k, verdict);
  }
  for (const [map, entries] of byMap(d.delMapElements)) b.backendElements('delete', map, entries);
  for (const [map, entries] of byMap(d.addMapElements)) b.backendElements('add', map, entries);
  for (const c of d.dropChains) b.flushChain(c);
  for (const c of d.dropChains) b.deleteChain(c);
  for (const s of d.dropSets) b.deleteSet(s);
  for (const m of d.dropMaps) b.deleteSet(m);
  return b;
}

/** Backend-map elements grouped per map (one message each): map → [range, value]. */
function byMap(elements: string[]): Map<string, Array<[string, string]>> {
  const out = new Map<string, Array<[string, string]>>();
  for (const e of elements) {
    const [map, range, value] = e.split('|');
    let list = out.get(map);
    if (!list) out.set(map, (list = []));
    list.push([range, value]);
  }
  return out;
}

/** An LB's backends from the state: its endpoints' addresses, and whether each is on another node. */
export function backendsOf(s: LinuxState, lb: HostComputeLoadBalancer): LbBackend[] {
  const out: LbBackend[] = [];
  const seen = new Set<string>();
  for (const id of lb.HostComputeEndpoints ?? []) {
    const ep = s.endpoints[key(id)];
    const ip = ep?.doc.IpConfigurations?.[0]?.IpAddress;
    if (!ep || !ip || seen.has(ip)) continue;
    seen.add(ip);
    out.push({ ip, remote: ((ep.doc.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0 });
  }
  return out;
}

/**
 * What the state keeps per realized LB: the backends it was realized with. The realization is a pure function
 * of the LB's document (beside it in `loadBalancers`) and these, so it is recomputed for the LBs a change
 * touches instead of being stored (a 10,000-LB state stays a few MB). State files written before this hold
 * the realization itself (RealizedLb), which is read as it is.
 */
export type LbRecord = { backends: LbBackend[] } | RealizedLb;

/** The realization the kernel has for LB `k` per the state (undefined: none). */
export function realizedAt(s: LinuxState, k: string): RealizedLb | undefined {
  const rec = s.lbNft?.[k];
  if (!rec) return undefined;
  if ('elements' in rec) return rec;
  const lb = s.loadBalancers[k];
  return lb ? realizeLoadBalancer(lb.ID ?? k, lb, rec.backends) : undefined;
}

/** The map elements of LB `k` per the state (they depend on its document only). */
export function elementsAt(s: LinuxState, k: string): string[] {
  const rec = s.lbNft?.[k];
  if (!rec) return [];
  if ('elements' in rec) return rec.elements;
  const lb = s.loadBalancers[k];
  return lb ? realizeLoadBalancer(lb.ID ?? k, lb, []).elements : [];
}

/** Every LB's realization per the state (a rebuild, the bench's raw batch). */
export function realizedTable(s: LinuxState): RealizedLb[] {
  return Object.keys(s.lbNft ?? {})
    .map((k) => realizedAt(s, k))
    .filter((r): r is RealizedLb => r !== undefined);
}

/** An LB's new realization and the backends it was made from (undefined: the LB leaves the kernel). */
export type LbChange = { realized: RealizedLb; backends: LbBackend[] } | undefined;

/**
 * Brings the LB table to the state's load balancers. `only`: the LB keys that may have changed (others are
 * taken as realized; their documents must be the ones they were realized with); undefined = every LB
 * (`realizedOnly`: every LB that has a record). `force`: rebuild the table whatever the records say.
 * `changes` + `before`: realized and checked by the caller (lb-staging.ts), with the realizations they replace.
 * Throws PolicyError (a bad document, a frontend two LBs claim) before touching the kernel.
 */
export function syncLoadBalancerTable(
  s: LinuxState,
  netns: string | undefined,
  env: NodeJS.ProcessEnv,
  opts: {
    only?: Iterable<string>;
    force?: boolean;
    realizedOnly?: boolean;
    changes?: Map<string, LbChange>;
    before?: Map<string, RealizedLb | undefined>;
  } = {},
): void {
  const records = s.lbNft ?? {};
  let changes = opts.changes;
  if (!changes) {
    changes = new Map();
    const keys = opts.only
      ? new Set(opts.only)
      : opts.realizedOnly
        ? new Set(Object.keys(records))
        : new Set([...Object.keys(records), ...Object.keys(s.loadBalancers)]);
    for (const k of keys) {
      const lb = s.loadBalancers[k];
      const backends = lb ? backendsOf(s, lb) : [];
      changes.set(k, lb ? { realized: realizeLoadBalancer(lb.ID ?? k, lb, backends), backends } : undefined);
    }
    claimFrontends(s, changes);
  }
  const before: Record<string, RealizedLb> = {};
  const after: Record<string, RealizedLb | undefined> = {};
  for (const [k, c] of changes) {
    const prev = opts.before?.has(k) ? opts.before.get(k) : realizedAt(s, k);
    if (prev) before[k] = prev;
    after[k] = c?.realized;
  }
  const library = env.SWITCHYARD_LIBNFTABLES || LIBNFTABLES;
  // Whether any LB is left after the change, without counting them (a change costs O(change), not O(LBs)).
  let remains = false;
  for (const c of changes.values()) if (c) remains = true;
  if (!remains) {
    for (const k in records) {
      if (changes.has(k)) continue;
      remains = true;
      break;
    }
  }
  if (!remains) {
    if (Object.keys(records).length || opts.force || s.lbTable) applyRuleset(netns, `table ${T}\ndelete table ${T}\n`, library);
    s.lbNft = {};
    s.lbTable = false;
    return;
  }
  const diff = opts.force ? undefined : diffLb(before, after);
  if (opts.force || diff || !s.lbTable) {
    try {
      if (opts.force) throw new Error('rebuild');
      applyDiff(netns, diff, !!s.lbTable, env, library);
    } catch (e) {
      if (!opts.force && !(e instanceof NftError) && !(e instanceof NftnlError) && !(e instanceof OsError)) throw e;
      // Out-of-band changes (the table or a chain removed) make a diff fail: rebuild everything in one go.
      // (An OsError after the batch was sent leaves its outcome unknown: the rebuild makes it certain.)
      const all: RealizedLb[] = [];
      for (const k of Object.keys(records)) {
        const r = changes.has(k) ? changes.get(k)?.realized : realizedAt(s, k);
        if (r) all.push(r);
      }
      for (const [k, c] of changes) if (c && !(k in records)) all.push(c.realized);
      applyRuleset(netns, fullTableText(all), library);
    }
  }
  // The records change in place, the changed keys only: the state journal records what a change touched.
  const recs = (s.lbNft ??= {});
  for (const [k, c] of changes) {
    if (c) recs[k] = { backends: c.backends };
    else delete recs[k];
  }
  s.lbTable = true;
}

/**
 * Applies a change to the table: as nf_tables netlink messages when the table exists (libnftables would first
 * download every chain and set of the table to resolve the names, O(table) per change), else, and when the
 * netlink path is off (SWITCHYARD_NFT_NETLINK=0) or cannot encode a rule, as nft text through libnftables.
 * Either way one transaction.
 */
function applyDiff(netns: string | undefined, d: LbDiff | undefined, haveTable: boolean, env: NodeJS.ProcessEnv, library: string): void {
  if (d && haveTable && env.SWITCHYARD_NFT_NETLINK !== '0') {
    let batch: NftBatch | undefined;
    try {
      batch = diffBatch(d);
    } catch (e) {
      if (!(e instanceof UnsupportedRuleError)) throw e;
    }
    if (batch) {
      noteNftChange();
      try {
        sendBatch(netns, batch);
        return;
      } catch (e) {
        if (!(e instanceof NetlinkUnavailableError)) throw e;
      }
    }
  }
  // Nothing to change (records without the table flag, from an older state file): as before, no table text.
  if (!d) return noteNftChange();
  applyRuleset(netns, renderDiffText(d, haveTable), library);
}

/** The frontend of a map element ("map|key|verdict" → "map|key"): what two LBs may not both realize. */
export const frontendOf = (element: string) => element.slice(0, element.lastIndexOf('|'));

/** Refuses a frontend (map key) that another LB already realizes, naming both: HNS refuses such an LB too. */
function claimFrontends(s: LinuxState, changes: Map<string, LbChange>): void {
  // A backend change (an endpoint deleted or re-addressed) keeps every LB's frontends: nothing new is claimed,
  // and the index of every other LB's frontends (a realization per LB, O(LBs)) is not needed.
  const keepsFrontends = (k: string, c: LbChange) => {
    if (!c) return true;
    const mine = new Set(elementsAt(s, k).map(frontendOf));
    return c.realized.elements.every((e) => mine.has(frontendOf(e)));
  };
  if ([...changes].every(([k, c]) => s.lbNft?.[k] !== undefined && keepsFrontends(k, c))) return;
  const owner = new Map<string, string>();
  for (const k of Object.keys(s.lbNft ?? {})) {
    if (changes.has(k)) continue;
    for (const e of elementsAt(s, k)) owner.set(frontendOf(e), k);
  }
  for (const [k, c] of changes) {
    for (const e of c?.realized.elements ?? []) {
      const frontend = frontendOf(e);
      const other = owner.get(frontend);
      if (other && other !== k) {
        const [map, fk] = frontend.split('|');
        throw new FrontendInUseError(
          `load balancer ${s.loadBalancers[k]?.ID ?? k}: ${map === 'service-ips' ? 'frontend' : 'node port'} ${fk} is already used by load balancer ${s.loadBalancers[other]?.ID ?? other}`,
        );
      }
      owner.set(frontend, k);
    }
  }
}

/**
 * The map elements the kernel has now ("map|key|verdict"), for drift checks; empty when the table is gone.
 * Lists the two maps only (never the ruleset).
 */
export function kernelLoadBalancerElements(netns: string | undefined): Set<string> {
  const out = new Set<string>();
  // Every map of the ip family with its elements in one listing: the two verdict maps and the backend maps.
  const [cmd, argv] = nftArgv(netns, ['-j', 'list', 'maps', 'ip']);
  let text: string;
  try {
    text = childProcess()
      .execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 })
      .toString();
  } catch {
    return out; // no nftables in that namespace: nothing realized
  }
  const doc = JSON.parse(text) as { nftables: Array<{ map?: { table?: string; name?: string; elem?: unknown[] } }> };
  for (const item of doc.nftables) {
    const map = item.map;
    if (!map || map.table !== LB_TABLE || !map.name) continue;
    for (const el of map.elem ?? []) {
      const [k, v] = el as [unknown, unknown];
      if (map.name.startsWith('be-')) {
        // A slot range → backend address . port (lb-nft's mapElements form; a one-slot range lists as a number).
        const r = (k as { range?: [number, number] }).range ?? [Number(k), Number(k)];
        const data = (v as { concat?: unknown[] }).concat ?? [];
        out.add(`${map.name}|${r[0]}-${r[1]}|${data.map(String).join(' . ')}`);
        continue;
      }
      const parts = (k as { concat?: unknown[] }).concat ?? [k];
      const verdict = Object.entries(v as Record<string, { target?: string }>).map(([op, t]) => `${op} ${t.target}`)[0];
      out.add(`${map.name}|${parts.map(String).join(' . ')}|${verdict}`);
    }
  }
  return out;
}
