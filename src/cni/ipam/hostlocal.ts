/**
 * host-local compatible IPAM commands on the shared store. Used by the switchyard-ipam binary and, in
 * process, by the plugins (ipam.type "switchyard-ipam" saves a process spawn; same store, same lock).
 * Messages are host-local's. Beyond host-local: GC releases reservations of attachments that are not in
 * cni.dev/valid-attachments, and STATUS reports an exhausted range (code 50).
 */
import * as fs from 'node:fs';
import { CniError, ErrCode } from '../protocol/errors';
import type { CniDNS, CniResult } from '../protocol/result';
import { formatCidr as formatCIDR, formatIp as formatIP, sameIp as sameIP, type IP } from '../../net/ip';
import { loadIpamConfig, rangeSetContains, rangeSetString, type IpamConfig } from './config';
import { allocate, capacity } from './allocator';
import { DiskStore } from './store';

export interface IpamRequest {
  /** The whole network config as plain JSON (what the plugin received on stdin). */
  config: Record<string, unknown>;
  containerID: string;
  ifName: string;
  /** CNI_ARGS. */
  args: string;
}

export function parseResolvConf(file: string): CniDNS {
  const dns: CniDNS = {};
  const text = fs.readFileSync(file, 'utf8');
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line[0] === '#' || line[0] === ';') continue;
    const f = line.split(/\s+/);
    if (f.length < 2) continue;
    if (f[0] === 'nameserver') (dns.nameservers ??= []).push(f[1]);
    else if (f[0] === 'domain') dns.domain = f[1];
    else if (f[0] === 'search') (dns.search ??= []).push(...f.slice(1));
    else if (f[0] === 'options') (dns.options ??= []).push(...f.slice(1));
  }
  return dns;
}

function load(req: IpamRequest): IpamConfig {
  return loadIpamConfig(req.config, req.args);
}

export interface AddOptions {
  /**
   * Release, first and under the same lock hold, what this attachment still holds in the ranges (the
   * left-overs of a killed ADD: reservations.ts releaseStale, which callers without this option run as a
   * separate step). The caller holds the attachment's in-flight marker and has checked that no endpoint
   * carries those addresses.
   */
  dropStale?: boolean;
}

export async function hostLocalAdd(req: IpamRequest, opts: AddOptions = {}): Promise<CniResult> {
  const conf = load(req);
  const result: CniResult = { cniVersion: '1.1.0', ips: [] };
  if (conf.resolvConf) result.dns = parseResolvConf(conf.resolvConf);
  const store = new DiskStore(conf.dataDir, conf.name);
  const owner = req.containerID.trim();
  await store.locked(() => {
    // One directory scan per ADD: the attachment's own reservations (host-local's duplicate check, and
    // the stale ones dropped first) come from it; the allocation itself is create-exclusive per address.
    const held: IP[] = [];
    for (const r of store.list()) {
      if (r.containerID !== owner || (r.ifname !== undefined && r.ifname !== req.ifName)) continue;
      if (opts.dropStale && conf.ranges.some((set) => rangeSetContains(set, r.ip) !== undefined)) store.release(r.ip);
      else held.push(r.ip);
    }
    const requested = [...conf.requestedIPs];
    const done: number[] = [];
    const rollback = () => {
      for (const _ of done) store.releaseByID(req.containerID, req.ifName);
    };
    for (let idx = 0; idx < conf.ranges.length; idx++) {
      const set = conf.ranges[idx];
      const k = requested.findIndex((ip) => rangeSetContains(set, ip) !== undefined);
      const want: IP | undefined = k >= 0 ? requested.splice(k, 1)[0] : undefined;
      try {
        const a = allocate(store, set, idx, req.containerID, req.ifName, want, held);
        held.push(a.address);
        result.ips!.push({ address: formatCIDR(a.address, a.prefix), gateway: formatIP(a.gateway) });
        done.push(idx);
      } catch (e) {
        rollback();
        throw new Error(`failed to allocate for range ${idx}: ${(e as Error).message}`);
      }
    }
    if (requested.length > 0) {
      rollback();
      throw new Error(`failed to allocate all requested IPs: ${requested.map(formatIP).join(' ')}`);
    }
  });
  if (conf.routes.length > 0) result.routes = conf.routes.map((r) => ({ ...r }));
  return result;
}

export async function hostLocalDel(req: IpamRequest): Promise<void> {
  const conf = load(req);
  const store = new DiskStore(conf.dataDir, conf.name);
  const errors: string[] = [];
  await store.locked(() => {
    // One release per range set, as host-local does; the first that succeeds frees every file of the
    // attachment (the others would scan the directory again to find nothing).
    for (let idx = 0; idx < conf.ranges.length; idx++) {
      try {
        store.releaseByID(req.containerID, req.ifName);
        break;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  });
  if (errors.length) throw new Error(errors.join(';'));
}

export async function hostLocalCheck(req: IpamRequest): Promise<IP[]> {
  const conf = load(req);
  const store = new DiskStore(conf.dataDir, conf.name);
  const held = await store.locked(() => store.getByID(req.containerID, req.ifName));
  if (held.length === 0) throw new Error(`host-local: Failed to find address added by container ${req.containerID}`);
  return held;
}

/** Releases every reservation whose (containerID, ifname) is not a valid attachment. Returns what was freed. */
export async function hostLocalGc(req: IpamRequest, valid: { containerID: string; ifname: string }[]): Promise<string[]> {
  const conf = load(req);
  const store = new DiskStore(conf.dataDir, conf.name);
  const keep = new Set(valid.map((a) => `${a.containerID.trim()}\r\n${a.ifname}`));
  const keepIds = new Set(valid.map((a) => a.containerID.trim()));
  return store.locked(() => {
    const freed: string[] = [];
    for (const r of store.list()) {
      if (!conf.ranges.some((set) => rangeSetContains(set, r.ip))) continue;
      const ok = r.ifname === undefined ? keepIds.has(r.containerID) : keep.has(`${r.containerID}\r\n${r.ifname}`);
      if (!ok) {
        store.release(r.ip);
        freed.push(formatIP(r.ip));
      }
    }
    return freed;
  });
}

/** STATUS: code 50 when some range set has no free address left. */
export async function hostLocalStatus(req: IpamRequest): Promise<void> {
  const conf = load(req);
  const store = new DiskStore(conf.dataDir, conf.name);
  const taken = store.list();
  for (const set of conf.ranges) {
    const used = BigInt(taken.filter((r) => rangeSetContains(set, r.ip) && !set.some((x) => sameIP(x.gateway, r.ip))).length);
    if (used >= capacity(set)) {
      throw new CniError(
        ErrCode.PluginNotAvailable,
        `no IP addresses available in range set: ${rangeSetString(set)}`,
        `network ${conf.name}, store ${store.dir}`,
      );
    }
  }
}
