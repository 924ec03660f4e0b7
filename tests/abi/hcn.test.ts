/**
 * The hcn data plane through its real koffi binding, against the ABI-exact stub library: the shared
 * conformance suite, then byte-level checks of the C ABI (UTF-16, GUID layout, error records, CoTaskMemFree,
 * handles, timeouts, write serialization, feature gating).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open } from '../../src/dataplane/windows/hcn';
import { resolveOptions } from '../../src/dataplane/factory';
import type { DataplaneOptions, HostNetworkService } from '../../src/dataplane/types';
import { HRESULT, buildQuery, networkPolicyRequest, sameId } from '../../src/hns';
import { guidBytes, parseGuid } from '../../src/dataplane/windows/guid';
import { runConformance, rejectsKind } from '../conformance/suite';
import { STUB_LIBRARY, assertNoLeaks, eventually, stub, withEnv } from './stub';

/** A call-log file in a temp directory removed when the suite ends (test runs left /tmp/sy-abi-* behind). */
const logDirs: string[] = [];
function tempCallLog(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-abi-'));
  logDirs.push(dir);
  return path.join(dir, 'calls.jsonl');
}
after(() => {
  for (const dir of logDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const openHcn = (o: DataplaneOptions = {}): Promise<HostNetworkService> =>
  open(resolveOptions({ kind: 'hcn', hcnLibrary: STUB_LIBRARY, statePath: '/nonexistent', env: {}, ...o }));

runConformance('hcn over the stub computenetwork library', () => openHcn(), {
  reset: () => stub().reset(),
  verify: assertNoLeaks,

  computeSystems: () => ({
    create: (id) => assert.ok(stub().createComputeSystem(id)),
    remove: (id) => assert.ok(stub().removeComputeSystem(id)),
  }),
});

describe('hcn data plane: C ABI against the stub library', function () {
  let hns: HostNetworkService;
  let undo: (() => void) | undefined;

  beforeEach(async function () {
    stub().reset();
    hns = await openHcn();
  });
  afterEach(async function () {
    undo?.();
    undo = undefined;
    await hns.close();
  });

  it('round-trips non-ASCII names through UTF-16 (BMP and surrogate pairs) and frees every string', async function () {
    const name = 'réseau-网络-Ωmega-🚀-"quoted"\\';
    const created = await hns.createNetwork({ Name: name, Type: 'NAT' });
    assert.equal(created.Name, name);
    assert.equal((await hns.getNetwork(created.ID!)).Name, name);
    assert.deepEqual(
      (await hns.listNetworks(buildQuery({ Name: name }))).map((n) => n.Name),
      [name],
    );
    await hns.deleteNetwork(created.ID!);
    assertNoLeaks();
  });

  it('passes the GUID by pointer in Windows byte order (Data1..3 little-endian, Data4 as written)', async function () {
    const id = '01020304-0506-0708-090a-0b0c0d0e0f10';
    const created = await hns.createNetwork({ ID: id, Name: 'guid-layout', Type: 'NAT' });
    assert.deepEqual([...stub().lastGuid()], [4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16]);
    assert.deepEqual(stub().lastGuid(), guidBytes(parseGuid(id)));
    assert.equal(created.ID, id.toUpperCase(), 'HNS writes GUIDs upper-case');
    await hns.getNetwork(id); // lower-case in, found
    await hns.deleteNetwork(id);
    assert.deepEqual([...stub().lastGuid()], [4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16]);
    assertNoLeaks();
  });

  it('creates with the zero GUID so HNS assigns the ID', async function () {
    const created = await hns.createNetwork({ Name: 'zero-guid', Type: 'NAT' });
    assert.deepEqual([...stub().lastGuid()], new Array(16).fill(0));
    assert.match(created.ID!, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    await hns.deleteNetwork(created.ID!);
  });

  it('rejects a malformed ID before calling HNS, naming the field', async function () {
    const e = await rejectsKind(hns.getNetwork('not-a-guid'), 'bad-input');
    assert.match(e.message, /network ID "not-a-guid" is not a GUID/);
    assertNoLeaks();
  });

  it('treats an error record returned with S_OK as a failure, frees it, and closes the handle', async function () {
    const net = await hns.createNetwork({ Name: 'record-on-ok', Type: 'NAT' });
    undo = withEnv({ HCNSTUB_RECORD_ON_SUCCESS: 'HcnQueryNetworkProperties' });
    const e = await rejectsKind(hns.getNetwork(net.ID!), 'failure');
    assert.equal(e.call, 'HcnQueryNetworkProperties');
    assert.match(e.message, /reported a problem despite S_OK/);
    // ERROR_GEN_FAILURE as hcsshim's checkForErrors, even though the record names another code.
    assert.equal(e.hresult, HRESULT.ERROR_GEN_FAILURE);
    assert.equal(e.hresult, 0x8007001f);
    assert.ok(e.record && JSON.parse(e.record).Success === false, 'keeps the raw record');
    undo();
    undo = undefined;
    assertNoLeaks(); // the record string was freed and the opened handle closed
    await hns.deleteNetwork(net.ID!);
  });

  it('classifies HRESULTs with the model table and keeps the error record (ErrorCode unsigned, trailing space)', async function () {
    await hns.createNetwork({ Name: 'dup', Type: 'NAT' });
    const e = await rejectsKind(hns.createNetwork({ Name: 'dup', Type: 'NAT' }), 'already-exists');
    assert.equal(e.hresult, HRESULT.HCN_E_NETWORK_ALREADY_EXISTS);
    assert.equal(e.call, 'HcnCreateNetwork');
    assert.match(e.subject!, /network "dup"/);
    const record = JSON.parse(e.record!) as { Success: boolean; Error: string; ErrorCode: number };
    assert.equal(record.ErrorCode, 2151350288);
    assert.ok(record.Error.endsWith(' '), 'HNS leaves a trailing space on Error');
    const bad = await rejectsKind(hns.createNetwork({ Name: 'badtype', Type: 'Bogus' }), 'bad-input');
    assert.equal(bad.hresult, HRESULT.HCN_E_INVALID_NETWORK_TYPE);
    assertNoLeaks();
  });

  it('fills the NAT type HNS omits and keeps uint64 values exact', async function () {
    const net = await hns.createNetwork({ Name: 'natdefault' });
    assert.equal(net.Type, 'NAT');
    const luid = 18446744073709551615n;
    const ep = await hns.createEndpoint(net.ID!, {
      Name: 'luid',
      IpConfigurations: [{ IpAddress: '172.20.0.5' }],
      Policies: [{ Type: 'InterfaceConstraint', Settings: { InterfaceLuid: luid, InterfaceIndex: 7 } }],
    });
    const got = await hns.getEndpoint(ep.ID!);
    assert.equal((got.Policies?.[0]?.Settings as { InterfaceLuid: bigint }).InterfaceLuid, luid);
    await hns.deleteEndpoint(ep.ID!);
    await hns.deleteNetwork(net.ID!);
  });

  it('times out a hung call with a clear error, keeps the event loop free, and cleans up when it returns', async function () {
    const net = await hns.createNetwork({ Name: 'hang', Type: 'NAT' });
    const quick = await openHcn({ timeoutMs: 150 });
    undo = withEnv({ HCNSTUB_HANG: 'HcnEnumerateNetworks,HcnOpenNetwork' });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      const e = await rejectsKind(quick.listNetworks(), 'timeout');
      assert.equal(e.call, 'HcnEnumerateNetworks');
      assert.equal(e.hresult, HRESULT.ERROR_TIMEOUT);
      assert.match(e.message, /HcnEnumerateNetworks did not return within 150 ms/);
      const e2 = await rejectsKind(quick.getNetwork(net.ID!), 'timeout');
      assert.equal(e2.call, 'HcnOpenNetwork');
      assert.match(e2.subject!, new RegExp(net.ID!, 'i'));
    } finally {
      clearInterval(ticker);
    }
    assert.ok(ticks > 0, 'timers ran while HNS was hung');
    assert.equal(stub().hangingCalls(), 2);
    undo();
    undo = undefined;
    stub().releaseHang();
    // The late results (an ID list, an opened handle) are freed and closed when they arrive.
    await eventually(
      () => stub().hangingCalls() === 0 && stub().outstandingAllocations() === 0 && stub().openHandles() === 0,
      'late results released',
    );
    assertNoLeaks();
    await quick.close();
    await hns.deleteNetwork(net.ID!);
  });

  it('undoes a create that succeeds after its timeout, so a retry finds nothing left behind', async function () {
    const quick = await openHcn({ timeoutMs: 100 });
    undo = withEnv({ HCNSTUB_HANG: 'HcnCreateNetwork' });
    const e = await rejectsKind(quick.createNetwork({ Name: 'late', Type: 'NAT' }), 'timeout');
    assert.equal(e.call, 'HcnCreateNetwork');
    undo();
    undo = undefined;
    stub().releaseHang();
    await eventually(
      () => stub().hangingCalls() === 0 && stub().openHandles() === 0 && stub().outstandingAllocations() === 0,
      'late create undone',
    );
    assert.deepEqual(await hns.listNetworks(buildQuery({ Name: 'late' })), [], 'the late network was deleted');
    const again = await hns.createNetwork({ Name: 'late', Type: 'NAT' });
    assert.equal(again.Name, 'late');
    await quick.close();
    await hns.deleteNetwork(again.ID!);
    assertNoLeaks();
  });

  it('serializes writes to one network', async function () {
    const net = await hns.createNetwork({ Name: 'serial', Type: 'L2Bridge' });
    undo = withEnv({ HCNSTUB_WRITE_DELAY_MS: '15' });
    const routes = [1, 2, 3, 4, 5].map((i) => ({ Type: 'HostRoute', Settings: { Marker: i } }));
    await Promise.all(routes.map((r) => hns.modifyNetwork(net.ID!, networkPolicyRequest('Add', [r]))));
    assert.equal(stub().maxConcurrentWrites(), 1, 'never two writes to the network at once');
    const got = await hns.getNetwork(net.ID!);
    assert.deepEqual((got.Policies ?? []).map((p) => (p.Settings as { Marker: number }).Marker).sort(), [1, 2, 3, 4, 5]);
  });

  it('reads the HNS version once and gates requests, naming the HNS version and Windows build needed', async function () {
    const log = tempCallLog();
    undo = withEnv({ HCNSTUB_HNS_VERSION: '9.1' });
    const old = await openHcn({ callLog: log });
    assert.deepEqual(await old.version(), { Major: 9, Minor: 1 });
    const f = await old.features();
    assert.equal(f.RemoteSubnet, false);
    assert.equal(f.DSR, false);
    const net = await old.createNetwork({ Name: 'old-host', Type: 'Overlay' });
    const e = await rejectsKind(
      old.modifyNetwork(
        net.ID!,
        networkPolicyRequest('Add', [
          {
            Type: 'RemoteSubnetRoute',
            Settings: {
              DestinationPrefix: '10.244.2.0/24',
              IsolationId: 4096,
              ProviderAddress: '192.168.0.11',
              DistributedRouterMacAddress: '00-15-5D-00-00-01',
            },
          },
        ]),
      ),
      'unsupported',
    );
    assert.match(e.message, /RemoteSubnetRoute policy needs HNS ≥ 9\.2 .*Windows Server 2019.*this host runs HNS 9\.1/);
    const dsr = await rejectsKind(
      old.createLoadBalancer({
        FrontendVIPs: ['10.96.0.1'],
        Flags: 1,
        PortMappings: [{ Protocol: 6, InternalPort: 443, ExternalPort: 443 }],
      }),
      'unsupported',
    );
    assert.match(dsr.message, /needs HNS 9\.3–9\.x or ≥ 10\.2/);
    const affinity = await rejectsKind(
      old.createLoadBalancer({
        FrontendVIPs: ['10.96.0.1'],
        PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80, DistributionType: 2 }],
      }),
      'unsupported',
    );
    assert.match(affinity.message, /session affinity .*needs HNS ≥ 12\.0/);
    assert.deepEqual(await old.listLoadBalancers(), [], 'nothing half-created');
    const versionCalls = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((c) => c.op === 'GET /globals/version');
    assert.equal(versionCalls.length, 1, 'the version is read once');
    await old.deleteNetwork(net.ID!);
    await old.close();
  });

  it('gates as HNS does: endpoint L4Proxy and a user OutBoundNAT with Destinations are sent as given on an old HNS; the network L4Proxy is gated', async function () {
    undo = withEnv({ HCNSTUB_HNS_VERSION: '9.1' });
    const old = await openHcn();
    try {
      assert.equal((await old.features()).DSR, false);
      const net = await old.createNetwork({ Name: 'gates', Type: 'L2Bridge' });
      const ep = await old.createEndpoint(net.ID!, {
        Name: 'gates-ep',
        Policies: [
          { Type: 'L4Proxy', Settings: { IP: '10.0.0.4', Port: '15001', ExceptionList: ['10.0.0.0/8'] } },
          { Type: 'OutBoundNAT', Settings: { Destinations: ['10.244.1.5'] } },
        ],
      });
      assert.deepEqual(
        (await old.getEndpoint(ep.ID!)).Policies?.map((p) => p.Type),
        ['L4Proxy', 'OutBoundNAT'],
      );
      const e = await rejectsKind(
        old.modifyNetwork(net.ID!, networkPolicyRequest('Add', [{ Type: 'L4Proxy', Settings: { Port: '15001' } }])),
        'unsupported',
      );
      assert.match(e.message, /L4Proxy policy needs HNS/);
      await old.deleteEndpoint(ep.ID!);
      await old.deleteNetwork(net.ID!);
    } finally {
      await old.close();
    }
  });

  it("applies hcsshim's client-side network checks before any HCN call, with hcsshim's messages", async function () {
    const log = tempCallLog();
    const h = await openHcn({ callLog: log });
    try {
      const subnet = (routes: { NextHop?: string; DestinationPrefix?: string }[]) => ({
        Name: 'checks',
        Type: 'L2Bridge' as const,
        Ipams: [{ Type: 'Static' as const, Subnets: [{ IpAddressPrefix: '10.252.0.0/24', Routes: routes }] }],
      });
      const noHop = await rejectsKind(h.createNetwork(subnet([{ DestinationPrefix: '0.0.0.0/0' }])), 'bad-input');
      assert.match(
        noHop.message,
        /network create error, subnet has address prefix but no gateway specified \(Ipams\[0\]\.Subnets\[0\]\.Routes\[0\]\.NextHop\)/,
      );
      const noDefault = await rejectsKind(
        h.createNetwork(subnet([{ NextHop: '10.252.0.1', DestinationPrefix: '10.0.0.0/8' }])),
        'bad-input',
      );
      assert.match(noDefault.message, /network create error, no default gateway/);
      await rejectsKind(h.createNetwork(subnet([])), 'bad-input');
      const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      assert.doesNotMatch(calls, /CreateNetwork/, 'nothing reached HCN');
      const ok = await h.createNetwork(subnet([{ NextHop: '10.252.0.1', DestinationPrefix: '0.0.0.0/0' }]));
      await h.deleteNetwork(ok.ID!);
    } finally {
      await h.close();
    }
  });

  it('modifies a load balancer in place on HNS ≥ 15.4 and by delete + re-create (same ID) before it', async function () {
    for (const [version, inPlace] of [
      ['15.4', true],
      ['12.0', false],
    ] as const) {
      stub().reset();
      const restore = withEnv({ HCNSTUB_HNS_VERSION: version });
      const log = tempCallLog();
      try {
        const h = await openHcn({ callLog: log });
        const lb = await h.createLoadBalancer({
          FrontendVIPs: ['10.96.0.10'],
          HostComputeEndpoints: [],
          PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }],
        });
        const id = '7d2b3a1c-0000-4000-8000-000000000001';
        const ep = { ...lb, HostComputeEndpoints: [id] };
        const after = await h.modifyLoadBalancer(lb.ID!, ep);
        assert.ok(sameId(after.ID, lb.ID), `${version}: same ID`);
        assert.deepEqual(after.HostComputeEndpoints, [id]);
        assert.equal((await h.listLoadBalancers()).length, 1);
        await h.close();
      } finally {
        restore();
      }
      // The stub refuses HcnModifyLoadBalancer below 15.4 as old HNS does, so success on 12.0 proves the fallback.
      const ops = fs
        .readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).op as string);
      assert.equal(ops.filter((o) => o === 'GET /globals/version').length, 1, `${version}: version read once`);
      assert.ok(inPlace === (version === '15.4'));
    }
  });

  it('gives a clear configuration error when the library cannot be loaded', async function () {
    await assert.rejects(
      openHcn({ hcnLibrary: '/nonexistent/libhcn.so' }).then((h) => h.listNetworks()),
      /cannot load the HCN library from \/nonexistent\/libhcn\.so/,
    );
  });

  it('reads drifted key and enum casing into the canonical model (hcn-api.md §9.5)', async function () {
    const net = await hns.createNetwork({ Name: 'casing', Type: 'l2bridge' });
    assert.equal(net.Type, 'L2Bridge');
    // HNS output drifts in key casing between builds; the stub returns what it stored, so store drifted keys.
    const drifted = await hns.createNetwork({
      name: 'drift',
      type: 'overlay',
      ipams: [{ subnets: [{ ipaddressprefix: '10.9.0.0/24' }] }],
    } as never);
    assert.equal(drifted.Name, 'drift');
    assert.equal(drifted.Type, 'Overlay');
    assert.equal(drifted.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix, '10.9.0.0/24');
    assert.deepEqual(
      (await hns.listNetworks(buildQuery({ Name: 'drift' }))).map((n) => n.Name),
      ['drift'],
      'filters match keys case-insensitively',
    );
    await hns.deleteNetwork(drifted.ID!);
    await hns.deleteNetwork(net.ID!);
  });
});

describe('call log through openDataplane', function () {
  it('records each native call once: the factory does not also wrap a data plane that logs its own calls', async function () {
    stub().reset();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-abi-'));
    const log = path.join(dir, 'calls.jsonl');
    try {
      const { openDataplane } = await import('../../src/dataplane/factory');
      const h = await openDataplane({ kind: 'hcn', hcnLibrary: STUB_LIBRARY, statePath: '/nonexistent', env: {}, callLog: log });
      const net = await h.createNetwork({ Name: 'logged', Type: 'L2Bridge' });
      await h.deleteNetwork(net.ID!);
      await h.close();
      const ops = fs
        .readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).op as string);
      assert.deepEqual(
        ops.filter((o) => o === 'createNetwork' || o === 'deleteNetwork'),
        ['createNetwork', 'deleteNetwork'],
        `each call logged once: ${ops.join(', ')}`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
