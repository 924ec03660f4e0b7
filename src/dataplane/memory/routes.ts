/**
 * The emulated host's IPv4 route table (what `New-NetRoute` edits on Windows): kept in the state file, so
 * every process of the emulated node sees one table. Same refusals as the IP Helper API: a route equal in
 * prefix, next hop and interface already there is ERROR_OBJECT_ALREADY_EXISTS; deleting one that is not
 * there is ERROR_NOT_FOUND; a prefix with host bits set, or anything but IPv4, is E_INVALIDARG naming the field.
 */
import { HRESULT, HnsError } from '../../hns/errors';
import { parseCidrGo, networkOf, formatIp, parseIpGo } from '../../net/ip';
import type { HostRoute, HostRouteTable } from '../types';
import type { StateStore } from './state';

const describe = (r: HostRoute) => `route ${r.destinationPrefix} via ${r.nextHop}${r.interfaceAlias ? ` on "${r.interfaceAlias}"` : ''}`;

function check(r: HostRoute, call: string): HostRoute {
  const bad = (msg: string) => new HnsError(HRESULT.E_INVALIDARG, msg, { call, subject: describe(r) });
  const c = parseCidrGo(r.destinationPrefix ?? '');
  if (!c || c.ip.v !== 4) throw bad(`DestinationPrefix "${r.destinationPrefix}" is not an IPv4 CIDR`);
  if (networkOf(c.ip, c.prefix).n !== c.ip.n) throw bad(`DestinationPrefix "${r.destinationPrefix}" has host bits set`);
  const hop = parseIpGo(r.nextHop ?? '');
  if (!hop || hop.v !== 4) throw bad(`NextHop "${r.nextHop}" is not an IPv4 address`);
  if (r.metric !== undefined && (!Number.isInteger(r.metric) || r.metric < 0 || r.metric > 9999))
    throw bad(`metric ${r.metric} is not 0-9999`);
  return {
    destinationPrefix: `${formatIp(c.ip)}/${c.prefix}`,
    nextHop: formatIp(hop),
    ...(r.interfaceAlias ? { interfaceAlias: r.interfaceAlias } : {}),
    ...(r.metric !== undefined ? { metric: r.metric } : {}),
  };
}

const same = (a: HostRoute, b: HostRoute, anyInterface = false) =>
  a.destinationPrefix === b.destinationPrefix &&
  a.nextHop === b.nextHop &&
  (anyInterface || (a.interfaceAlias ?? '') === (b.interfaceAlias ?? ''));

export class MemoryHostRoutes implements HostRouteTable {
  constructor(private readonly store: StateStore) {}

  async list(): Promise<HostRoute[]> {
    return (this.store.read().HostRoutes ?? []).map((r) => ({ ...r }));
  }

  async add(route: HostRoute): Promise<void> {
    const r = check(route, 'CreateIpForwardEntry2');
    await this.store.mutate((s) => {
      const table = (s.HostRoutes ??= []);
      if (table.some((x) => same(x, r)))
        throw HnsError.of('ERROR_OBJECT_ALREADY_EXISTS', { call: 'CreateIpForwardEntry2', subject: describe(r) });
      table.push(r);
    });
  }

  async delete(route: HostRoute): Promise<void> {
    const r = check(route, 'DeleteIpForwardEntry2');
    await this.store.mutate((s) => {
      const table = s.HostRoutes ?? [];
      const i = table.findIndex((x) => same(x, r, !r.interfaceAlias));
      if (i < 0) throw HnsError.of('ERROR_NOT_FOUND', { call: 'DeleteIpForwardEntry2', subject: describe(r) });
      table.splice(i, 1);
      s.HostRoutes = table;
    });
  }
}
