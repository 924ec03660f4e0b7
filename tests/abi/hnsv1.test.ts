/**
 * The hns-v1 data plane (HNSCall in vmcompute.dll, v1 JSON) through its koffi binding against the stub:
 * the shared conformance suite, then what is v1-specific — the documents actually sent, the response
 * envelope's two failure styles, policy lists as load balancers, timeouts and freed responses.
 */
import * as assert from 'node:assert/strict';
import { open } from '../../src/dataplane/windows/hnsv1';
import { resolveOptions } from '../../src/dataplane/factory';
import type { DataplaneOptions, HostNetworkService } from '../../src/dataplane/types';
import { HRESULT, HnsError, type HostComputeEndpoint, type HnsV1Endpoint, type HnsV1Network, type HnsV1PolicyList } from '../../src/hns';
import { runConformance, rejectsKind } from '../conformance/suite';
import { v1Attach, v1Detach } from '../../src/cni/plugins/common/hns';
import { isComputeSystemMissing, networkModifyRequest } from '../../src/dataplane/windows/hcs';
import { STUB_LIBRARY, assertNoLeaks, eventually, stub, withEnv } from './stub';

const openV1 = (o: DataplaneOptions = {}): Promise<HostNetworkService> =>
  open(resolveOptions({ kind: 'hns-v1', vmcomputeLibrary: STUB_LIBRARY, statePath: '/nonexistent', env: {}, ...o }));

runConformance('hns-v1 over the stub vmcompute library (HNSCall)', () => openV1(), {
  reset: () => stub().reset(),
  verify: assertNoLeaks,
  networkVersion: false, // v1 networks have no Version field

  computeSystems: () => ({
    create: (id) => assert.ok(stub().createComputeSystem(id)),
    remove: (id) => assert.ok(stub().removeComputeSystem(id)),
  }),
});

describe('hns-v1 data plane: HNSCall against the stub library', function () {
  let hns: HostNetworkService;
  let undo: (() => void) | undefined;

  beforeEach(async function () {
    stub().reset();
    hns = await openV1();
  });
  afterEach(async function () {
    undo?.();
    undo = undefined;
    await hns.close();
    assertNoLeaks();
  });

  it('sends v1-shaped networks and endpoints (Subnets/AddressPrefix, VirtualNetwork, IPAddress, comma lists)', async function () {
    const net = await hns.createNetwork({
      Name: 'cbr0',
      Type: 'L2Bridge',
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
      Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
    });
    const raw = await hns.v1!.call<HnsV1Network>('GET', `/networks/${net.ID}`);
    assert.equal(raw.NetworkAdapterName, 'Ethernet');
    assert.deepEqual(
      raw.Subnets?.map((s) => [s.AddressPrefix, s.GatewayAddress]),
      [['10.244.1.0/24', '10.244.1.1']],
    );
    assert.equal(raw.Ipams, undefined, 'no v2 fields on the wire');

    const ep = await hns.createEndpoint(net.ID!, {
      Name: 'pod_cbr0',
      IpConfigurations: [{ IpAddress: '10.244.1.5', PrefixLength: 24 }],
      Routes: [{ NextHop: '10.244.1.2', DestinationPrefix: '0.0.0.0/0' }],
      Dns: { ServerList: ['10.96.0.10', '10.96.0.11'], Search: ['default.svc.cluster.local'] },
      Policies: [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } }],
    });
    const rawEp = await hns.v1!.call<HnsV1Endpoint>('GET', `/endpoints/${ep.ID}`);
    assert.equal(rawEp.VirtualNetwork?.toLowerCase(), net.ID!.toLowerCase());
    assert.equal(rawEp.IPAddress, '10.244.1.5');
    assert.equal(rawEp.GatewayAddress, '10.244.1.2');
    assert.equal(rawEp.DNSServerList, '10.96.0.10,10.96.0.11');
    assert.deepEqual(rawEp.Policies, [{ Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12', '10.244.0.0/16'] }]);
    // ...and reads them back as v2.
    const back = await hns.getEndpoint(ep.ID!);
    assert.deepEqual(back.Dns?.ServerList, ['10.96.0.10', '10.96.0.11']);
    await hns.deleteEndpoint(ep.ID!);
    await hns.deleteNetwork(net.ID!);
  });

  it('stores a load balancer as an ELB policy list with /endpoints/<id> references', async function () {
    const net = await hns.createNetwork({ Name: 'lbnet', Type: 'L2Bridge' });
    const ep = await hns.createEndpoint(net.ID!, { Name: 'b1', IpConfigurations: [{ IpAddress: '10.244.1.7' }] });
    const lb = await hns.createLoadBalancer({
      HostComputeEndpoints: [ep.ID!],
      SourceVIP: '10.244.1.254',
      FrontendVIPs: ['10.96.0.10'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 1 }],
    });
    const raw = await hns.v1!.call<HnsV1PolicyList>('GET', `/policylists/${lb.ID}`);
    assert.deepEqual(raw.References, [`/endpoints/${ep.ID}`]);
    assert.deepEqual(raw.Policies, [
      { Type: 'ELB', Protocol: 6, InternalPort: 8080, ExternalPort: 80, SourceVIP: '10.244.1.254', VIPs: ['10.96.0.10'], ILB: true },
    ]);
    await rejectsKind(hns.createLoadBalancer({ FrontendVIPs: ['10.96.0.11'], PortMappings: [] }), 'bad-input');
    await hns.deleteLoadBalancer(lb.ID!);
    await hns.deleteEndpoint(ep.ID!);
    await hns.deleteNetwork(net.ID!);
  });

  it('reports both failure styles: HRESULT ("hnsCall failed in Win32") and Success:false ("hns failed with error")', async function () {
    const hard = await rejectsKind(hns.v1!.call('POST', '/networks/', '{not json'), 'invalid-json');
    assert.equal(hard.hresult, HRESULT.HCN_E_INVALID_JSON);
    assert.match(hard.message, /^HNSCall POST \/networks\/: hnsCall failed in Win32: /);
    const soft = await rejectsKind(hns.v1!.call('GET', '/endpoints/2f2a0c1e-0000-4000-8000-000000000000'), 'not-found');
    assert.match(soft.message, /hns failed with error : Element not found\./);
    assert.ok(soft.record && JSON.parse(soft.record).Success === false);
  });

  it("attaches containers to a v1 endpoint (SharedContainers, State) and refuses a second attach with HNS's text", async function () {
    const net = await hns.createNetwork({ Name: 'attachnet', Type: 'L2Bridge' });
    const ep = await hns.createEndpoint(net.ID!, { Name: 'pod', IpConfigurations: [{ IpAddress: '10.244.1.9' }] });
    const attached = await hns.v1!.call<HnsV1Endpoint>('POST', `/endpoints/${ep.ID}/attach`, {
      ContainerId: 'c1',
      SystemType: 'Container',
    });
    assert.deepEqual([attached.SharedContainers, attached.State], [['c1'], 2]);
    const again = await rejectsKind(
      hns.v1!.call('POST', `/endpoints/${ep.ID}/attach`, { ContainerId: 'C1', SystemType: 'Container' }),
      'already-attached',
    );
    assert.match(again.message, /This endpoint is already attached to the switch\./);
    const detached = await hns.v1!.call<HnsV1Endpoint>('POST', `/endpoints/${ep.ID}/detach`, {
      ContainerId: 'c1',
      SystemType: 'Container',
    });
    assert.deepEqual([detached.SharedContainers, detached.State], [[], 1]);
    await rejectsKind(hns.v1!.call('POST', `/endpoints/${ep.ID}/detach`, { ContainerId: 'c1', SystemType: 'Container' }), 'failure');
    await hns.deleteEndpoint(ep.ID!);
    await hns.deleteNetwork(net.ID!);
  });

  it('sees a network created through HCN v2 in GET /networks/ and takes v1 endpoints on it (win-bridge apiVersion 1 flow)', async function () {
    const { open: openHcn } = await import('../../src/dataplane/windows/hcn');
    const v2 = await openHcn(resolveOptions({ kind: 'hcn', hcnLibrary: STUB_LIBRARY, statePath: '/nonexistent', env: {} }));
    const net = await v2.createNetwork({
      Name: 'cbr0',
      Type: 'L2Bridge',
      Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.0.10' } }],
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
    });
    const list = await hns.v1!.call<HnsV1Network[]>('GET', '/networks/');
    const seen = list.find((n) => n.Name === 'cbr0');
    assert.ok(seen, JSON.stringify(list));
    assert.equal(seen.ID, net.ID);
    assert.deepEqual(seen.Subnets, [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }]);
    assert.equal(seen.ManagementIP, '192.168.0.10');
    assert.deepEqual(await hns.v1!.call('GET', `/networks/${net.ID!.toLowerCase()}`), seen);
    const ep = await hns.v1!.call<HnsV1Endpoint>('POST', '/endpoints/', {
      Name: 'pod_cbr0',
      VirtualNetwork: net.ID,
      IPAddress: '10.244.1.5',
    });
    assert.equal(ep.VirtualNetwork, net.ID);
    await rejectsKind(v2.deleteNetwork(net.ID!), 'in-use');
    await hns.v1!.call('DELETE', `/endpoints/${ep.ID}`);
    await v2.deleteNetwork(net.ID!);
    await v2.close();
  });

  it('reads GET /globals/version through HNSCall once and gates features by it', async function () {
    undo = withEnv({ HCNSTUB_HNS_VERSION: '7.2' });
    const old = await openV1();
    assert.deepEqual(await old.version(), { Major: 7, Minor: 2 });
    const e = await rejectsKind(
      old.createEndpoint('2f2a0c1e-0000-4000-8000-000000000001', {
        IpConfigurations: [{ IpAddress: '10.244.1.5' }, { IpAddress: 'fd00::5' }],
      }),
      'unsupported',
    );
    assert.match(e.message, /dual-stack endpoint .* needs HNS ≥ 11\.10 .*Windows Server 2004.*this host runs HNS 7\.2/);
  });

  it('times out a hung HNSCall and frees the late response', async function () {
    const quick = await openV1({ timeoutMs: 100 });
    undo = withEnv({ HCNSTUB_HANG: 'HNSCall' });
    const e = await rejectsKind(quick.listNetworks(), 'timeout');
    assert.equal(e.call, 'HNSCall GET /networks/');
    assert.match(e.message, /did not return within 100 ms/);
    undo();
    undo = undefined;
    stub().releaseHang();
    await eventually(() => stub().hangingCalls() === 0 && stub().outstandingAllocations() === 0, 'late response freed');
  });

  it('refuses requests v1 cannot express, naming the alternative', async function () {
    const net = await hns.createNetwork({ Name: 'sub', Type: 'L2Bridge' });
    const e = await rejectsKind(
      hns.modifyNetwork(net.ID!, { ResourceType: 'Subnet', RequestType: 'Add', Settings: { Subnets: [] } }),
      'unsupported',
    );
    assert.match(e.message, /no HNS v1 equivalent; use the hcn data plane/);
    assert.ok(e instanceof HnsError);
    await hns.deleteNetwork(net.ID!);
  });

  it('refuses endpoint policies whose v1 form would lose content, naming the field, and sends only hcsshim v1 fields', async function () {
    const net = await hns.createNetwork({ Name: 'v1pol', Type: 'L2Bridge' });
    const refused: [NonNullable<HostComputeEndpoint['Policies']>[number], RegExp][] = [
      [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'], Flags: 1 } }, /Policies\[0\]\.Settings\.Flags/],
      [{ Type: 'OutBoundNAT', Settings: { MaxPortPoolUsage: 50 } }, /Policies\[0\]\.Settings\.MaxPortPoolUsage/],
      [
        { Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080, Flags: 1 } },
        /Settings\.Flags.*LocalRoutedVip/,
      ],
      [{ Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080, Flags: 2 } }, /Settings\.Flags.*IPv6/],
      [{ Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080, VIP: '10.0.0.4' } }, /Settings\.VIP/],
      [{ Type: 'L4Proxy', Settings: { IP: '10.0.0.4', Port: '15001', Protocol: 6 } }, /Settings\.Protocol/],
    ];
    for (const [policy, field] of refused) {
      const e = await rejectsKind(
        hns.createEndpoint(net.ID!, {
          Name: 'v1pol-ep',
          Policies: [policy],
        }),
        'unsupported',
      );
      assert.match(e.message, field);
      assert.equal(e.hresult, HRESULT.HCN_E_REQUEST_UNSUPPORTED);
    }
    assert.deepEqual(await hns.listEndpoints(), [], 'nothing created');

    const ep = await hns.createEndpoint(net.ID!, {
      Name: 'v1pol-ok',
      Policies: [
        { Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080, VIP: '', Flags: 4 } },
        { Type: 'L4Proxy', Settings: { IP: '10.0.0.4', Port: 15001, ExceptionList: ['10.0.0.0/8'] } },
      ],
    });
    const raw = await hns.v1!.call<HnsV1Endpoint>('GET', `/endpoints/${ep.ID}`);
    assert.deepEqual(raw.Policies, [
      { Type: 'NAT', Protocol: 'tcp', InternalPort: 80, ExternalPort: 8080, ExternalPortReserved: true },
      { Type: 'PROXY', IP: '10.0.0.4', Port: '15001', ExceptionList: ['10.0.0.0/8'] },
    ]);
    await hns.deleteEndpoint(ep.ID!);
    await hns.deleteNetwork(net.ID!);
  });

  it('refuses a load balancer v1 cannot say (IPv6, DistributionType, LocalRoutedVIP/UseMux/PreserveDIP/VipExternalIP) naming the field', async function () {
    const base = { FrontendVIPs: ['10.96.0.20'], SchemaVersion: { Major: 2, Minor: 0 } };
    const pm = { Protocol: 6, InternalPort: 80, ExternalPort: 80 };
    const cases: [object, RegExp][] = [
      [{ ...base, Flags: 2, PortMappings: [pm] }, /Flags: IPv6/],
      [{ ...base, PortMappings: [{ ...pm, DistributionType: 1 }] }, /PortMappings\[0\]\.DistributionType/],
      [{ ...base, PortMappings: [{ ...pm, Flags: 2 }] }, /PortMappings\[0\]\.Flags: LocalRoutedVIP/],
      [{ ...base, PortMappings: [{ ...pm, Flags: 1 | 4 }] }, /PortMappings\[0\]\.Flags: UseMux/],
      [{ ...base, PortMappings: [{ ...pm, Flags: 8 }] }, /PortMappings\[0\]\.Flags: PreserveDIP/],
      [{ ...base, PortMappings: [pm, { ...pm, ExternalPort: 81, Flags: 16 }] }, /PortMappings\[1\]\.Flags: VipExternalIP/],
    ];
    for (const [doc, field] of cases) {
      const e = await rejectsKind(hns.createLoadBalancer(doc), 'unsupported');
      assert.match(e.message, field);
    }
    assert.deepEqual(await hns.v1!.call('GET', '/policylists/'), [], 'nothing sent');
    // A modify v1 cannot say leaves the existing load balancer untouched.
    const lb = await hns.createLoadBalancer({ ...base, Flags: 1, PortMappings: [{ ...pm, Flags: 1 }] });
    await rejectsKind(hns.modifyLoadBalancer(lb.ID!, { ...lb, PortMappings: [{ ...pm, Flags: 8 }] }), 'unsupported');
    assert.equal((await hns.getLoadBalancer(lb.ID!)).Flags, 1);
    await hns.deleteLoadBalancer(lb.ID!);
  });

  it('classifies Success:false envelopes by HNS text (hnsResponse has no ErrorCode)', async function () {
    const net = await hns.createNetwork({
      Name: 'v1text',
      Type: 'L2Bridge',
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: '10.250.0.0/24', Routes: [{ NextHop: '10.250.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
    });
    const e = await rejectsKind(hns.createEndpoint(net.ID!, { Name: 'out', IpConfigurations: [{ IpAddress: '10.251.0.5' }] }), 'bad-input');
    assert.equal(e.hresult, HRESULT.HCN_E_INVALID_IP);
    assert.match(e.message, /hns failed with error : The IP address is invalid or not in any subnet of the network\. \(10\.251\.0\.5/);
    await hns.deleteNetwork(net.ID!);
  });

  it('attaches containers through HCS as hcsshim HotAttachEndpoint/HotDetachEndpoint (HcsModifyComputeSystem Network Add/Remove)', async function () {
    const net = await hns.createNetwork({ Name: 'hcs', Type: 'L2Bridge' });
    const ep = await hns.v1!.call<HnsV1Endpoint>('POST', '/endpoints/', { Name: 'hcs-ep', VirtualNetwork: net.ID });
    const pause = 'a'.repeat(64);
    assert.ok(stub().createComputeSystem(pause));
    const shared = async () => (await hns.v1!.call<HnsV1Endpoint>('GET', `/endpoints/${ep.ID}`)).SharedContainers ?? [];

    await v1Attach(hns, ep.ID!, pause);
    assert.deepEqual(await shared(), [pause], 'hot-added: HNS shows the container');
    await v1Detach(hns, ep.ID!, pause);
    assert.deepEqual(await shared(), []);

    // A container without a compute system: ADD is not an error (the reference returns the endpoint) ...
    await v1Attach(hns, ep.ID!, 'b'.repeat(64));
    assert.deepEqual(await shared(), []);
    // ... and a DEL after the container is gone drops HNS's record of it.
    await v1Attach(hns, ep.ID!, pause);
    assert.ok(stub().removeComputeSystem(pause));
    await v1Detach(hns, ep.ID!, pause);
    assert.deepEqual(await shared(), []);

    // HCS's own failures carry the HRESULT, the call and HCS's message.
    assert.ok(stub().createComputeSystem(pause));
    const e = await rejectsKind(hns.v1!.modifyContainerNetwork!(pause, '00000000-0000-0000-0000-00000000000a', 'Add'), 'not-found');
    assert.equal(e.call, 'HcsModifyComputeSystem');
    assert.equal(isComputeSystemMissing(e), false);
    const gone = await rejectsKind(hns.v1!.modifyContainerNetwork!('c'.repeat(64), ep.ID!, 'Add'), 'not-found');
    assert.equal(gone.hresult, HRESULT.HCS_E_SYSTEM_NOT_FOUND);
    assert.match(gone.message, /does not exist/);
    assert.equal(networkModifyRequest('E1', 'Remove'), '{"ResourceType":"Network","RequestType":"Remove","Settings":"E1"}');
    await hns.v1!.call('DELETE', `/endpoints/${ep.ID}`);
    await hns.deleteNetwork(net.ID!);
  });
});
