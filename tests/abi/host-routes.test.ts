/**
 * The host-route table of the hcn data plane (iphlpapi.dll's route functions, src/dataplane/windows/iphlp-routes.ts):
 * the MIB_IPFORWARD_ROW2 offsets it writes are checked against mingw-w64's netioapi.h by compiling offsetof
 * assertions for Windows x64; then the same koffi code drives the stub's exports (native/hcnstub/iphlp.c).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isHnsError } from '../../src/hns/errors';
import { IpHelperRouteTable, ROW2 } from '../../src/dataplane/windows/iphlp-routes';
import { openDataplane } from '../../src/dataplane/factory';
import { readCallLog } from '../../src/dataplane/call-log';
import { STUB_LIBRARY } from './stub';
import { iphlpStub } from './iphlp-stub';

const MINGW = 'x86_64-w64-mingw32-gcc';

describe('abi: MIB_IPFORWARD_ROW2 as the host-route table writes it', function () {
  this.timeout(60_000);
  it("matches mingw-w64's netioapi.h on Windows x64 (compiled offsetof assertions)", function () {
    if (spawnSync(MINGW, ['--version']).status !== 0) this.skip();
    const fields: [string, number][] = [
      ['InterfaceLuid', ROW2.InterfaceLuid],
      ['InterfaceIndex', ROW2.InterfaceIndex],
      ['DestinationPrefix', ROW2.DestinationPrefix],
      ['DestinationPrefix.PrefixLength', ROW2.DestinationPrefixLength],
      ['NextHop', ROW2.NextHop],
      ['SitePrefixLength', ROW2.SitePrefixLength],
      ['ValidLifetime', ROW2.ValidLifetime],
      ['PreferredLifetime', ROW2.PreferredLifetime],
      ['Metric', ROW2.Metric],
      ['Protocol', ROW2.Protocol],
      ['Loopback', ROW2.Loopback],
      ['AutoconfigureAddress', ROW2.AutoconfigureAddress],
      ['Publish', ROW2.Publish],
      ['Immortal', ROW2.Immortal],
      ['Age', ROW2.Age],
      ['Origin', ROW2.Origin],
    ];
    const src = [
      '#include <winsock2.h>',
      '#include <ws2ipdef.h>',
      '#include <iphlpapi.h>',
      '#include <netioapi.h>',
      '#include <stddef.h>',
      `_Static_assert(sizeof(MIB_IPFORWARD_ROW2) == ${ROW2.size}, "sizeof MIB_IPFORWARD_ROW2");`,
      `_Static_assert(offsetof(MIB_IPFORWARD_TABLE2, Table) == ${ROW2.tableRows}, "MIB_IPFORWARD_TABLE2.Table");`,
      `_Static_assert(offsetof(SOCKADDR_IN, sin_family) == ${ROW2.sinFamily}, "sin_family");`,
      `_Static_assert(offsetof(SOCKADDR_IN, sin_addr) == ${ROW2.sinAddr}, "sin_addr");`,
      `_Static_assert(offsetof(SOCKADDR_INET, Ipv4) == 0, "SOCKADDR_INET.Ipv4");`,
      ...fields.map(([f, off]) => `_Static_assert(offsetof(MIB_IPFORWARD_ROW2, ${f}) == ${off}, "${f}");`),
    ].join('\n');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-row2-'));
    try {
      fs.writeFileSync(path.join(dir, 'row2.c'), src + '\n');
      const r = spawnSync(MINGW, ['-std=c11', '-fsyntax-only', path.join(dir, 'row2.c')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('abi: host routes through the IP Helper functions of the stub', function () {
  before(function () {
    if (!fs.existsSync(STUB_LIBRARY)) this.skip();
  });
  beforeEach(() => iphlpStub().reset());
  after(() => {
    if (fs.existsSync(STUB_LIBRARY)) iphlpStub().reset();
  });
  const table = () => new IpHelperRouteTable(STUB_LIBRARY, 10_000);

  it('adds, lists (with the interface alias) and deletes routes; every table it read was freed', async () => {
    const t = table();
    await t.add({ destinationPrefix: '10.244.3.0/24', nextHop: '192.168.1.24', interfaceAlias: 'vEthernet (Ethernet)' });
    await t.add({ destinationPrefix: '10.244.4.0/24', nextHop: '192.168.1.25', metric: 5 });
    assert.deepEqual(await t.list(), [
      { destinationPrefix: '10.244.3.0/24', nextHop: '192.168.1.24', metric: 0, interfaceAlias: 'vEthernet (Ethernet)' },
      // Without an alias the route leaves through the best interface toward the next hop (the stub's vNIC).
      { destinationPrefix: '10.244.4.0/24', nextHop: '192.168.1.25', metric: 5, interfaceAlias: 'vEthernet (Ethernet)' },
    ]);
    await t.delete({ destinationPrefix: '10.244.3.0/24', nextHop: '192.168.1.24', interfaceAlias: 'vEthernet (Ethernet)' });
    await t.delete({ destinationPrefix: '10.244.4.0/24', nextHop: '192.168.1.25' });
    assert.deepEqual(await t.list(), []);
    assert.equal(iphlpStub().outstanding(), 0, 'a GetIpForwardTable2 result was not given back to FreeMibTable');
  });

  it('refuses as the IP Helper API does: a duplicate, a missing route, host bits, an unknown interface', async () => {
    const t = table();
    const r = { destinationPrefix: '10.244.3.0/24', nextHop: '192.168.1.24', interfaceAlias: 'Ethernet' };
    await t.add(r);
    await assert.rejects(t.add(r), (e: unknown) => isHnsError(e) && e.kind === 'already-exists' && /CreateIpForwardEntry2/.test(e.message));
    await assert.rejects(
      t.delete({ ...r, nextHop: '192.168.1.99' }),
      (e: unknown) => isHnsError(e) && e.kind === 'not-found' && /DeleteIpForwardEntry2/.test(e.message),
    );
    await assert.rejects(t.add({ ...r, destinationPrefix: '10.244.3.7/24' }), /CreateIpForwardEntry2.*Win32 error 87/);
    await assert.rejects(t.add({ ...r, destinationPrefix: '10.244.3.0/33' }), /DestinationPrefix "10\.244\.3\.0\/33"/);
    await assert.rejects(t.add({ ...r, interfaceAlias: 'vEthernet (nope)' }), /no interface named "vEthernet \(nope\)" \(interfaceAlias\)/);
    assert.equal((await t.list()).length, 1);
  });

  it('the hcn data plane offers it (capabilities.hostRoutes) and logs each call', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-hr-'));
    const callLog = path.join(dir, 'calls.jsonl');
    const svc = await openDataplane({ kind: 'hcn', hcnLibrary: STUB_LIBRARY, vmcomputeLibrary: STUB_LIBRARY, callLog, env: {} });
    try {
      assert.equal(svc.capabilities.hostRoutes, true);
      await svc.hostRoutes!.add({ destinationPrefix: '10.244.9.0/24', nextHop: '10.0.0.9' });
      await svc.hostRoutes!.list();
      assert.deepEqual(
        readCallLog(callLog).map((c) => `${c.op} ${c.ok}`),
        ['addHostRoute true', 'listHostRoutes true'],
      );
    } finally {
      await svc.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
