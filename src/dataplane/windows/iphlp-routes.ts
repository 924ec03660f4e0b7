/**
 * The node's IPv4 route table through the IP Helper API (iphlpapi.dll, netioapi.h): what `New-NetRoute` and
 * `Remove-NetRoute` edit, and what flannel's Windows host-gw backend programs peers' pod subnets into. Same
 * rules as the HCN binding (native.ts): koffi, every call on a worker thread raced against a timeout, Win32
 * errors turned into an HnsError naming the call and the route. MIB_IPFORWARD_ROW2 is written and read as raw
 * bytes at the offsets of ROW2 below, which tests/abi/host-routes.test.ts checks against mingw-w64's
 * netioapi.h with a compiled offsetof assertion; the Linux stub (native/hcnstub/iphlp.c) exports the same
 * functions over an in-memory table.
 */
import * as path from 'node:path';
import { HRESULT, HnsError } from '../../hns/errors';
import type { HostRoute, HostRouteTable } from '../types';
import { koffi, WINAPI, timeoutError, type NativeFn } from './native';

/** x64 layout of MIB_IPFORWARD_ROW2 (104 bytes) and MIB_IPFORWARD_TABLE2, from netioapi.h / ws2ipdef.h. */
export const ROW2 = Object.freeze({
  size: 104,
  InterfaceLuid: 0,
  InterfaceIndex: 8,
  DestinationPrefix: 12, // IP_ADDRESS_PREFIX: SOCKADDR_INET Prefix (28 bytes), UINT8 PrefixLength
  DestinationPrefixLength: 40,
  NextHop: 44, // SOCKADDR_INET
  SitePrefixLength: 72,
  ValidLifetime: 76,
  PreferredLifetime: 80,
  Metric: 84,
  Protocol: 88,
  Loopback: 92,
  AutoconfigureAddress: 93,
  Publish: 94,
  Immortal: 95,
  Age: 96,
  Origin: 100,
  /** MIB_IPFORWARD_TABLE2: ULONG NumEntries, then the rows 8-aligned. */
  tableRows: 8,
  /** SOCKADDR_IN within SOCKADDR_INET: sin_family at 0, sin_addr at 4. */
  sinFamily: 0,
  sinAddr: 4,
});

const AF_INET = 2;
const ERROR_NOT_FOUND = 1168;
const ERROR_OBJECT_ALREADY_EXISTS = 5010;
const ERROR_ALREADY_EXISTS = 183;
const IF_MAX_STRING_SIZE = 256;
/** HRESULT_FROM_WIN32's high half (severity error, FACILITY_WIN32), taken from a named Win32 HRESULT. */
const WIN32_FACILITY = (HRESULT.E_INVALIDARG & 0xffff0000) >>> 0;

interface Fns {
  init: NativeFn;
  create: NativeFn;
  del: NativeFn;
  table: NativeFn;
  free: NativeFn;
  aliasToLuid: NativeFn;
  luidToAlias: NativeFn;
  best: NativeFn;
}

/** iphlpapi.dll on Windows; elsewhere the library SWITCHYARD_IPHLPAPI_LIBRARY names, else the HCN stub. */
export function iphlpapiPath(opts: { hcnLibrary?: string; env: NodeJS.ProcessEnv }): string | undefined {
  if (opts.env.SWITCHYARD_IPHLPAPI_LIBRARY) return path.resolve(opts.env.SWITCHYARD_IPHLPAPI_LIBRARY);
  if (process.platform === 'win32') return path.join(opts.env.SystemRoot ?? 'C:\\Windows', 'System32', 'iphlpapi.dll');
  return opts.hcnLibrary ? path.resolve(opts.hcnLibrary) : undefined;
}

const loaded = new Map<string, Fns>();

function load(file: string): Fns {
  const hit = loaded.get(file);
  if (hit) return hit;
  const k = koffi();
  const lib = k.load(file);
  const f = (proto: string) => lib.func(proto.replace('%CC%', WINAPI)) as unknown as NativeFn;
  const fns: Fns = {
    init: f('void %CC%InitializeIpForwardEntry(_Inout_ uint8_t *Row)'),
    create: f('uint32_t %CC%CreateIpForwardEntry2(const uint8_t *Row)'),
    del: f('uint32_t %CC%DeleteIpForwardEntry2(const uint8_t *Row)'),
    table: f('uint32_t %CC%GetIpForwardTable2(uint16_t Family, _Out_ void **Table)'),
    free: f('void %CC%FreeMibTable(void *Memory)'),
    aliasToLuid: f('uint32_t %CC%ConvertInterfaceAliasToLuid(const char16_t *InterfaceAlias, _Out_ uint64_t *InterfaceLuid)'),
    luidToAlias: f('uint32_t %CC%ConvertInterfaceLuidToAlias(const uint64_t *InterfaceLuid, _Out_ uint8_t *InterfaceAlias, size_t Length)'),
    best: f('uint32_t %CC%GetBestInterface(uint32_t DestAddr, _Out_ uint32_t *BestIfIndex)'),
  };
  loaded.set(file, fns);
  return fns;
}

function ipv4Bytes(ip: string, field: string): Buffer {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  const b = m ? m.slice(1).map(Number) : [];
  if (!m || b.some((x) => x > 255))
    throw new HnsError(HRESULT.E_INVALIDARG, `${field} "${ip}" is not an IPv4 address`, { call: 'hostRoutes' });
  return Buffer.from(b);
}

function parsePrefix(prefix: string): { addr: Buffer; len: number } {
  const [ip, len] = prefix.split('/');
  const n = Number(len);
  if (!Number.isInteger(n) || n < 0 || n > 32 || String(n) !== len)
    throw new HnsError(HRESULT.E_INVALIDARG, `DestinationPrefix "${prefix}" is not an IPv4 CIDR`, { call: 'hostRoutes' });
  return { addr: ipv4Bytes(ip ?? '', 'DestinationPrefix'), len: n };
}

const describe = (r: HostRoute) => `route ${r.destinationPrefix} via ${r.nextHop}${r.interfaceAlias ? ` on "${r.interfaceAlias}"` : ''}`;

function win32Error(call: string, subject: string, code: number): HnsError {
  if (code === ERROR_OBJECT_ALREADY_EXISTS || code === ERROR_ALREADY_EXISTS)
    return HnsError.of('ERROR_OBJECT_ALREADY_EXISTS', { call, subject });
  if (code === ERROR_NOT_FOUND) return HnsError.of('ERROR_NOT_FOUND', { call, subject });
  return new HnsError((WIN32_FACILITY | (code & 0xffff)) >>> 0, `Win32 error ${code}`, { call, subject });
}

export class IpHelperRouteTable implements HostRouteTable {
  constructor(
    private readonly file: string,
    private readonly timeoutMs: number,
  ) {}

  private fns(): Fns {
    try {
      return load(this.file);
    } catch (e) {
      throw new HnsError(HRESULT.E_NOTIMPL, `cannot load the IP Helper API from ${this.file}: ${(e as Error).message}`, {
        call: 'hostRoutes',
      });
    }
  }

  /** One call on a koffi worker thread, raced against the timeout; resolves with the Win32 return code. */
  private call(name: string, subject: string, fn: NativeFn, ...args: unknown[]): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(timeoutError(name, subject, this.timeoutMs)), this.timeoutMs);
      try {
        fn.async(...args, (err: unknown, ret: unknown) => {
          clearTimeout(timer);
          if (err) reject(new HnsError(HRESULT.E_FAIL, `${name} could not be called: ${String(err)}`, { call: name, subject }));
          else resolve(Number(ret) >>> 0);
        });
      } catch (e) {
        clearTimeout(timer);
        reject(new HnsError(HRESULT.E_FAIL, `${name} could not be called: ${(e as Error).message}`, { call: name, subject }));
      }
    });
  }

  private async luidOf(alias: string, subject: string): Promise<bigint> {
    const out = [0n];
    const rc = await this.call('ConvertInterfaceAliasToLuid', subject, this.fns().aliasToLuid, alias, out);
    if (rc !== 0)
      throw new HnsError(HRESULT.E_INVALIDARG, `no interface named "${alias}" (interfaceAlias)`, {
        call: 'ConvertInterfaceAliasToLuid',
        subject,
      });
    return BigInt(out[0] as number | bigint);
  }

  private async aliasOf(luid: bigint): Promise<string | undefined> {
    const buf = Buffer.alloc((IF_MAX_STRING_SIZE + 1) * 2);
    const rc = await this.call('ConvertInterfaceLuidToAlias', `LUID ${luid}`, this.fns().luidToAlias, [luid], buf, IF_MAX_STRING_SIZE + 1);
    if (rc !== 0) return undefined;
    const text = buf.toString('utf16le');
    const end = text.indexOf('\0');
    return end < 0 ? text : text.slice(0, end);
  }

  /** A row for `r`, its interface resolved (the alias's LUID, or the best interface toward the next hop). */
  private async row(r: HostRoute, call: string): Promise<Buffer> {
    const subject = describe(r);
    const { addr, len } = parsePrefix(r.destinationPrefix);
    const hop = ipv4Bytes(r.nextHop, 'NextHop');
    const row = Buffer.alloc(ROW2.size);
    await this.call('InitializeIpForwardEntry', subject, this.fns().init, row);
    if (r.interfaceAlias) row.writeBigUInt64LE(await this.luidOf(r.interfaceAlias, subject), ROW2.InterfaceLuid);
    else {
      const best = [0];
      const rc = await this.call('GetBestInterface', subject, this.fns().best, hop.readUInt32LE(0), best);
      if (rc !== 0) throw win32Error('GetBestInterface', subject, rc);
      row.writeUInt32LE(Number(best[0]), ROW2.InterfaceIndex);
    }
    row.writeUInt16LE(AF_INET, ROW2.DestinationPrefix + ROW2.sinFamily);
    addr.copy(row, ROW2.DestinationPrefix + ROW2.sinAddr);
    row.writeUInt8(len, ROW2.DestinationPrefixLength);
    row.writeUInt16LE(AF_INET, ROW2.NextHop + ROW2.sinFamily);
    hop.copy(row, ROW2.NextHop + ROW2.sinAddr);
    if (r.metric !== undefined) {
      if (!Number.isInteger(r.metric) || r.metric < 0 || r.metric > 9999)
        throw new HnsError(HRESULT.E_INVALIDARG, `metric ${r.metric} is not an integer 0-9999`, { call, subject });
      row.writeUInt32LE(r.metric, ROW2.Metric);
    }
    return row;
  }

  async list(): Promise<HostRoute[]> {
    const { table, free } = this.fns();
    const out = [null as unknown];
    const rc = await this.call('GetIpForwardTable2', 'IPv4 routes', table, AF_INET, out);
    if (rc !== 0) throw win32Error('GetIpForwardTable2', 'IPv4 routes', rc);
    const ptr = out[0];
    const routes: { r: HostRoute; luid: bigint }[] = [];
    try {
      const count = (koffi().decode(ptr, 'uint32_t') as number) >>> 0;
      const bytes = Buffer.from(koffi().decode(ptr, koffi().array('uint8_t', ROW2.tableRows + count * ROW2.size, 'Typed')) as Uint8Array);
      for (let i = 0; i < count; i++) {
        const row = bytes.subarray(ROW2.tableRows + i * ROW2.size, ROW2.tableRows + (i + 1) * ROW2.size);
        if (row.readUInt16LE(ROW2.DestinationPrefix) !== AF_INET || row.readUInt16LE(ROW2.NextHop) !== AF_INET) continue;
        const hop = [...row.subarray(ROW2.NextHop + ROW2.sinAddr, ROW2.NextHop + ROW2.sinAddr + 4)].join('.');
        if (hop === '0.0.0.0') continue; // on-link and local routes: no next hop
        const dst = [...row.subarray(ROW2.DestinationPrefix + ROW2.sinAddr, ROW2.DestinationPrefix + ROW2.sinAddr + 4)].join('.');
        routes.push({
          r: {
            destinationPrefix: `${dst}/${row.readUInt8(ROW2.DestinationPrefixLength)}`,
            nextHop: hop,
            metric: row.readUInt32LE(ROW2.Metric),
          },
          luid: row.readBigUInt64LE(ROW2.InterfaceLuid),
        });
      }
    } finally {
      free(ptr);
    }
    for (const x of routes) {
      const alias = await this.aliasOf(x.luid);
      if (alias) x.r.interfaceAlias = alias;
    }
    return routes.map((x) => x.r);
  }

  async add(r: HostRoute): Promise<void> {
    const row = await this.row(r, 'CreateIpForwardEntry2');
    const rc = await this.call('CreateIpForwardEntry2', describe(r), this.fns().create, row);
    if (rc !== 0) throw win32Error('CreateIpForwardEntry2', describe(r), rc);
  }

  async delete(r: HostRoute): Promise<void> {
    if (!r.interfaceAlias) {
      // The route as the table has it (its interface): the caller named only prefix and next hop.
      const found = (await this.list()).find((x) => x.destinationPrefix === r.destinationPrefix && x.nextHop === r.nextHop);
      if (!found) throw HnsError.of('ERROR_NOT_FOUND', { call: 'DeleteIpForwardEntry2', subject: describe(r) });
      r = found;
    }
    const row = await this.row({ ...r, metric: undefined }, 'DeleteIpForwardEntry2');
    const rc = await this.call('DeleteIpForwardEntry2', describe(r), this.fns().del, row);
    if (rc !== 0) throw win32Error('DeleteIpForwardEntry2', describe(r), rc);
  }
}
