/**
 * End-to-end flows of the components that drive HNS on a Windows node, replayed against the emulator with
 * the documents the reference sends (flannel, win-bridge / win-overlay, kube-proxy), counting HNS calls.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { countCalls, readCallLog, summarizeCalls, withCallLog } from '../../../src/dataplane/call-log';
import {
  buildQuery,
  findPolicies,
  isAlreadyAttached,
  namespaceEndpointRequest,
  networkPolicyRequest,
  type HnsV1Endpoint,
  type HnsV1Network,
  type HnsV1PolicyList,
  type HostComputeNetwork,
} from '../../../src/hns';
import { overlay, tempState, type TempState } from './helpers';

describe('memory data plane: node scenarios', () => {
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('host-gw: flannel v1 network + host endpoint, win-bridge v1 ADD/DEL, kube-proxy v1 load balancer', async () => {
    const log = path.join(t.dir, 'calls.jsonl');
    const hns = withCallLog(t.open(undefined, { SWITCHYARD_EMULATOR_MANAGEMENT_IP: '192.168.0.10' }), log);

    // flannel host-gw (hostgw_windows.go): v1 network, wait for ManagementIP, host endpoint .2 in compartment 1.
    const net = await hns.v1!.call<HnsV1Network>('POST', '/networks/', {
      Name: 'cbr0',
      Type: 'L2Bridge',
      DNSServerList: '10.96.0.10',
      Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }],
    });
    assert.equal((await hns.v1!.call<HnsV1Network>('GET', `/networks/${net.ID}`)).ManagementIP, '192.168.0.10');
    const hostEp = await hns.v1!.call<HnsV1Endpoint>('POST', '/endpoints/', {
      Name: 'cbr0_ep',
      VirtualNetwork: net.ID,
      IPAddress: '10.244.1.2',
    });
    await hns.v1!.call('POST', `/endpoints/${hostEp.ID}/attach`, { SystemType: 'Host', CompartmentId: 1 });

    // win-bridge v1 ADD (cni-windows-plugins.md §3.1): find network and endpoint by name, create, HCS attach.
    const mark = readCallLog(log).length;
    const nets = await hns.v1!.call<HnsV1Network[]>('GET', '/networks/');
    const cbr0 = nets.find((n) => n.Name === 'cbr0')!;
    const existing = (await hns.v1!.call<HnsV1Endpoint[]>('GET', '/endpoints/')).find((e) => e.Name === 'abc123_cbr0');
    assert.equal(existing, undefined);
    const ep = await hns.v1!.call<HnsV1Endpoint>('POST', '/endpoints/', {
      Name: 'abc123_cbr0',
      VirtualNetwork: cbr0.ID,
      IPAddress: '10.244.1.5',
      GatewayAddress: '10.244.1.2',
      DNSServerList: '10.96.0.10',
      DNSSuffix: 'default.svc.cluster.local',
      Policies: [
        { Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12', '10.244.0.0/16'] },
        { Type: 'NAT', InternalPort: 80, ExternalPort: 8080, Protocol: 'tcp' },
      ],
    });
    const fetched = await hns.v1!.call<HnsV1Endpoint>('GET', `/endpoints/${ep.ID}`);
    assert.ok(!(fetched.SharedContainers ?? []).includes('abc123'));
    await hns.v1!.call('POST', `/endpoints/${ep.ID}/attach`, { ContainerId: 'abc123', SystemType: 'Container' });
    const add = readCallLog(log).slice(mark);
    assert.deepEqual(summarizeCalls(add), {
      'v1 GET /networks/': 1,
      'v1 GET /endpoints/': 1,
      'v1 POST /endpoints/': 1,
      [`v1 GET /endpoints/${ep.ID}`]: 1,
      [`v1 POST /endpoints/${ep.ID}/attach`]: 1,
    });
    assert.equal(add.length, 5, 'a v1 ADD costs 5 HNS calls');

    // A second pod asking for the same host port is refused by HNS.
    await assert.rejects(
      hns.v1!.call('POST', '/endpoints/', {
        Name: 'def456_cbr0',
        VirtualNetwork: cbr0.ID,
        Policies: [{ Type: 'NAT', InternalPort: 80, ExternalPort: 8080, Protocol: 'TCP' }],
      }),
      /specified port already exists/,
    );

    // kube-proxy v1: a service policy list over the pod.
    const lb = await hns.v1!.call<HnsV1PolicyList>('POST', '/policylists/', {
      References: [`/endpoints/${ep.ID}`],
      Policies: [{ Type: 'ELB', Protocol: 6, InternalPort: 80, ExternalPort: 80, VIPs: ['10.96.12.34'], ILB: false }],
    });
    assert.equal((await hns.listLoadBalancers(buildQuery({ ID: lb.ID! }))).length, 1);

    // DEL: detach, delete; the network cannot go while the host endpoint remains.
    await hns.v1!.call('POST', `/endpoints/${ep.ID}/detach`, { ContainerId: 'abc123', SystemType: 'Container' });
    await hns.v1!.call('DELETE', `/endpoints/${ep.ID}`);
    await hns.v1!.call('DELETE', `/policylists/${lb.ID}`);
    await assert.rejects(hns.v1!.call('DELETE', `/networks/${net.ID}`), /still has references/);
    await hns.v1!.call('DELETE', `/endpoints/${hostEp.ID}`);
    await hns.v1!.call('DELETE', `/networks/${net.ID}`);
    const all = readCallLog(log);
    assert.equal(countCalls(all, { ok: false }), 2);
    assert.equal(countCalls(all, { api: 'v2' }), 1, 'only the listLoadBalancers check went through v2');
  });

  it('overlay: flannel v2 network and peers, win-overlay v2 ADD into a namespace, kube-proxy remote endpoints and DSR load balancer', async () => {
    const hns = t.open(undefined, { SWITCHYARD_EMULATOR_MANAGEMENT_IP: '192.168.0.10', SWITCHYARD_EMULATOR_DR_MAC: '00-15-5D-0A-0B-0C' });
    // flannel vxlan (device_windows.go): create, then read the provider address and DR MAC HNS published.
    const net = await hns.createNetwork(overlay('flannel.4096', '10.244.1.0/24', '10.244.1.1', 4096));
    const [found] = await hns.listNetworks(buildQuery({ Name: 'flannel.4096' }));
    const pa = (findPolicies(found.Policies, 'ProviderAddress')[0].Settings as { ProviderAddress: string }).ProviderAddress;
    const dr = (findPolicies(found.Policies, 'DrMacAddress')[0].Settings as { Address: string }).Address;
    assert.deepEqual([pa, dr], ['192.168.0.10', '00-15-5D-0A-0B-0C']);

    // Peers: one RemoteSubnetRoute per remote node; a node that changes MAC is removed then re-added.
    const route = (prefix: string, peer: string, mac: string) => ({
      Type: 'RemoteSubnetRoute',
      Settings: { DestinationPrefix: prefix, IsolationId: 4096, ProviderAddress: peer, DistributedRouterMacAddress: mac },
    });
    await hns.modifyNetwork(net.ID!, networkPolicyRequest('Add', [route('10.244.2.0/24', '192.168.0.11', '00:15:5d:bb:6e:c2')]));
    await hns.modifyNetwork(net.ID!, networkPolicyRequest('Add', [route('10.244.3.0/24', '192.168.0.12', '00:15:5d:bb:6e:c3')]));
    const current = (await hns.getNetwork(net.ID!)).Policies!.find(
      (p) => p.Type === 'RemoteSubnetRoute' && (p.Settings as { DestinationPrefix: string }).DestinationPrefix === '10.244.3.0/24',
    )!;
    await hns.modifyNetwork(net.ID!, networkPolicyRequest('Remove', [current]));
    await hns.modifyNetwork(net.ID!, networkPolicyRequest('Add', [route('10.244.3.0/24', '192.168.0.12', '00:15:5d:bb:6e:ff')]));
    await hns.modifyNetwork(net.ID!, networkPolicyRequest('Add', [{ Type: 'HostRoute', Settings: {} }]));
    const routes = findPolicies((await hns.getNetwork(net.ID!)).Policies, 'RemoteSubnetRoute').map(
      (p) => (p.Settings as { DistributedRouterMacAddress: string }).DistributedRouterMacAddress,
    );
    assert.deepEqual(routes, ['00:15:5d:bb:6e:c2', '00:15:5d:bb:6e:ff']);

    // win-overlay v2 ADD (cni-windows-plugins.md §3.4) into the containerd-created namespace.
    const ns = await hns.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } });
    const ep = await hns.createEndpoint(net.ID!, {
      Name: 'abc123_flannel.4096',
      HostComputeNetwork: net.ID,
      Policies: [
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } },
        { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
        { Type: 'ProviderAddress', Settings: { ProviderAddress: pa } },
      ],
      IpConfigurations: [{ IpAddress: '10.244.1.7' }],
      MacAddress: '0E-2A-0a-f4-01-07',
      Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
      Dns: {},
      Health: { Extra: {} },
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    await hns.modifyNamespace(ns.ID!, namespaceEndpointRequest('Add', ep.ID!));
    // A retried ADD finds the endpoint already attached, which callers treat as success.
    await assert.rejects(hns.attachEndpoint(ns.ID!, ep.ID!), isAlreadyAttached);

    // kube-proxy: remote endpoints for pods on the peers, and a DSR service over local + remote.
    const remote = await hns.createEndpoint(net.ID!, {
      IpConfigurations: [{ IpAddress: '10.244.2.7' }],
      MacAddress: '02-11-0a-f4-02-07',
      Flags: 1,
      HostComputeNetwork: net.ID,
      Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.0.11' } }],
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    const lb = await hns.createLoadBalancer({
      HostComputeEndpoints: [ep.ID!, remote.ID!],
      SourceVIP: '10.244.1.254',
      FrontendVIPs: ['10.96.0.10'],
      PortMappings: [{ Protocol: 17, InternalPort: 53, ExternalPort: 53, DistributionType: 0, Flags: 1 }],
      Flags: 1,
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    const v1view = await hns.v1!.call<HnsV1PolicyList>('GET', `/policylists/${lb.ID}`);
    assert.equal(v1view.Policies![0].IsDSR, true);
    const remotes = (await hns.listEndpoints(buildQuery({ VirtualNetwork: net.ID! }))).filter((e) => ((e.Flags ?? 0) & 1) === 1);
    assert.deepEqual(
      remotes.map((e) => e.IpConfigurations![0].IpAddress),
      ['10.244.2.7'],
    );

    // Teardown in kube-proxy / CNI DEL / flannel order.
    await hns.deleteLoadBalancer(lb.ID!);
    await hns.deleteEndpoint(remote.ID!);
    await hns.detachEndpoint(ns.ID!, ep.ID!);
    await hns.deleteEndpoint(ep.ID!);
    await hns.deleteNamespace(ns.ID!);
    await hns.deleteNetwork(net.ID!);
    const left: HostComputeNetwork[] = await hns.listNetworks();
    assert.deepEqual(left, []);
  });
});
