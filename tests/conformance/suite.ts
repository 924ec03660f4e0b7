/**
 * The host network service contract, one suite for every data plane (memory, hcn and hns-v1 over the stub
 * library, linux as root): CRUD of networks, endpoints, namespaces and load balancers, not-found
 * classification, query filters, attach/detach, policy modification and the error kinds callers rely on.
 * Each data plane runs it from its own test file: runConformance('hcn (stub)', open, {...}).
 */
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { HostNetworkService } from '../../src/dataplane/types';
import {
  HnsError,
  buildQuery,
  featuresFor,
  isNotFound,
  namespaceEndpointRequest,
  networkPolicyRequest,
  endpointPolicyRequest,
  sameId,
  type HnsV1Endpoint,
  type HostComputeEndpoint,
  type HostComputeNetwork,
} from '../../src/hns';
import { v1Attach, v1Detach } from '../../src/cni/plugins/common/hns';

export interface ConformanceOptions {
  /** Called before each test (e.g. HcnStubReset, a fresh state file). */
  reset?: () => void | Promise<void>;
  /** Called after each test (e.g. assert the stub has no outstanding allocations or open handles). */
  verify?: () => void | Promise<void>;
  /** A fresh unique suffix source for names (defaults to random). */
  unique?: () => string;
  /**
   * False for a data plane whose network documents have no Version field (HNS v1 networks carry none): the
   * suite then checks the field is dropped rather than mangled. Default true: Version must come back exact.
   */
  networkVersion?: boolean;
  /**
   * The host's compute systems (what a container runtime creates before CNI ADD): the stub's HcsStub* exports,
   * the emulator's `hcs`. Without it the HCS attach cases are skipped.
   */
  computeSystems?: (hns: HostNetworkService) => { create(id: string): unknown; remove(id: string): unknown };
}

import { rejectsKind } from '../helpers/hns-errors';
import { runLoadBalancerBatchConformance } from './lb-batch';
import { inHnsOrder, schemaKeys } from './hns-order';

export { rejectsKind };

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function runConformance(label: string, open: () => Promise<HostNetworkService>, opts: ConformanceOptions = {}): void {
  describe(`host network service conformance: ${label}`, function () {
    let hns: HostNetworkService;
    const unique = opts.unique ?? (() => randomUUID().slice(0, 8));

    const l2bridge = (name: string, prefix = '10.244.1.0/24', gw = '10.244.1.1'): HostComputeNetwork => ({
      Name: name,
      Type: 'L2Bridge',
      Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: prefix, Routes: [{ NextHop: gw, DestinationPrefix: '0.0.0.0/0' }] }] }],
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    const endpointDoc = (name: string, ip: string, networkId: string): HostComputeEndpoint => ({
      Name: name,
      HostComputeNetwork: networkId,
      IpConfigurations: [{ IpAddress: ip, PrefixLength: 24 }],
      Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
      Dns: { ServerList: ['10.96.0.10'], Search: ['default.svc.cluster.local'] },
      SchemaVersion: { Major: 2, Minor: 0 },
    });

    beforeEach(async function () {
      await opts.reset?.();
      hns = await open();
    });
    afterEach(async function () {
      await hns?.close();
      await opts.verify?.();
    });

    describe('version and features', function () {
      it('reports an HNS version and the features it implies', async function () {
        const v = await hns.version();
        assert.ok(Number.isInteger(v.Major) && Number.isInteger(v.Minor), JSON.stringify(v));
        // A data plane without IPv6 (capabilities.addressFamilies) does not claim dual stack.
        // Nor DSR when its load balancers do not realize it (capabilities.policies.loadBalancer).
        const implied = {
          ...featuresFor(v),
          ...(hns.capabilities.addressFamilies.includes('IPv6') ? {} : { IPv6DualStack: false }),
          ...(hns.capabilities.policies.loadBalancer.includes('DSR') ? {} : { DSR: false }),
        };
        assert.deepEqual(await hns.features(), implied);
        assert.deepEqual(await hns.version(), v, 'the version is stable');
      });
    });

    describe('networks', function () {
      it('creates, gets (ID compared case-insensitively), lists and deletes a network', async function () {
        const name = `conf-net-${unique()}`;
        const created = await hns.createNetwork(l2bridge(name));
        assert.match(created.ID ?? '', GUID_RE);
        assert.equal(created.Name, name);
        assert.equal(created.Type, 'L2Bridge');
        assert.equal(created.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix, '10.244.1.0/24');

        const got = await hns.getNetwork(created.ID!.toLowerCase());
        assert.ok(sameId(got.ID, created.ID));
        assert.equal(got.Name, name);

        const all = await hns.listNetworks();
        assert.ok(
          all.some((n) => sameId(n.ID, created.ID)),
          'listed',
        );

        await hns.deleteNetwork(created.ID!);
        await rejectsKind(hns.getNetwork(created.ID!), 'not-found');
        assert.ok(!(await hns.listNetworks()).some((n) => sameId(n.ID, created.ID)), 'gone from the list');
      });

      it('filters by Name and by ID, and an unmatched filter is an empty list', async function () {
        const a = await hns.createNetwork(l2bridge(`conf-a-${unique()}`, '10.244.1.0/24', '10.244.1.1'));
        const b = await hns.createNetwork(l2bridge(`conf-b-${unique()}`, '10.244.2.0/24', '10.244.2.1'));
        const byName = await hns.listNetworks(buildQuery({ Name: b.Name! }));
        assert.deepEqual(
          byName.map((n) => n.Name),
          [b.Name],
        );
        const byId = await hns.listNetworks(buildQuery({ ID: a.ID!.toLowerCase() }));
        assert.equal(byId.length, 1);
        assert.ok(sameId(byId[0].ID, a.ID));
        assert.deepEqual(await hns.listNetworks(buildQuery({ Name: `absent-${unique()}` })), []);
        await hns.deleteNetwork(a.ID!);
        await hns.deleteNetwork(b.ID!);
      });

      it('classifies unknown IDs as not-found for get, modify and delete', async function () {
        const id = randomUUID();
        const e = await rejectsKind(hns.getNetwork(id), 'not-found');
        assert.ok(
          e.message.toLowerCase().includes(id.toLowerCase()) || (e.subject ?? '').toLowerCase().includes(id.toLowerCase()),
          `names the network: ${e.message}`,
        );
        await rejectsKind(hns.deleteNetwork(id), 'not-found');
        await rejectsKind(hns.modifyNetwork(id, networkPolicyRequest('Add', [{ Type: 'HostRoute', Settings: {} }])), 'not-found');
      });

      it('adds and removes network policies (RemoteSubnetRoute) with HcnModifyNetwork semantics', async function () {
        // The ProviderAddress (VTEP address) is normally filled in by HNS; the linux data plane needs it given.
        const net = await hns.createNetwork({
          ...l2bridge(`conf-ovl-${unique()}`),
          Type: 'Overlay',
          Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.0.10' } }],
          Ipams: [
            {
              Type: 'Static',
              Subnets: [
                {
                  IpAddressPrefix: '10.244.1.0/24',
                  Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
                  Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }],
                },
              ],
            },
          ],
        });
        const route = {
          Type: 'RemoteSubnetRoute',
          Settings: {
            DestinationPrefix: '10.244.2.0/24',
            IsolationId: 4096,
            ProviderAddress: '192.168.0.11',
            DistributedRouterMacAddress: '00-15-5D-BB-6E-C2',
          },
        };
        const added = await hns.modifyNetwork(net.ID!, networkPolicyRequest('Add', [route]));
        const has = (n: HostComputeNetwork) =>
          (n.Policies ?? []).some(
            (p) => p.Type === 'RemoteSubnetRoute' && (p.Settings as { DestinationPrefix?: string }).DestinationPrefix === '10.244.2.0/24',
          );
        assert.ok(has(added), 'returned document has the route');
        assert.ok(has(await hns.getNetwork(net.ID!)), 'stored');
        // HNS refuses a policy identical to one the network already has, and keeps the one copy.
        await rejectsKind(hns.modifyNetwork(net.ID!, networkPolicyRequest('Add', [route])), 'already-exists');
        assert.equal(
          ((await hns.getNetwork(net.ID!)).Policies ?? []).filter((p) => p.Type === 'RemoteSubnetRoute').length,
          1,
          'one copy of the route',
        );
        const removed = await hns.modifyNetwork(net.ID!, networkPolicyRequest('Remove', [route]));
        assert.ok(!has(removed), 'removed');
        await rejectsKind(hns.modifyNetwork(net.ID!, networkPolicyRequest('Remove', [route])), 'not-found');
        await hns.deleteNetwork(net.ID!);
      });
    });

    describe('endpoints', function () {
      it('creates an endpoint on a network, gets it, lists it by network and deletes it', async function () {
        const net = await hns.createNetwork(l2bridge(`conf-epnet-${unique()}`));
        const ep = await hns.createEndpoint(net.ID!, endpointDoc(`conf-ep-${unique()}`, '10.244.1.5', net.ID!));
        assert.match(ep.ID ?? '', GUID_RE);
        assert.ok(sameId(ep.HostComputeNetwork, net.ID), 'bound to the network');
        assert.equal(ep.IpConfigurations?.[0]?.IpAddress, '10.244.1.5');
        assert.deepEqual(ep.Dns?.ServerList, ['10.96.0.10']);

        const got = await hns.getEndpoint(ep.ID!);
        assert.equal(got.Name, ep.Name);
        // hcsshim lists a network's endpoints with the v1 field name VirtualNetwork.
        const ofNet = await hns.listEndpoints(buildQuery({ VirtualNetwork: net.ID! }));
        assert.deepEqual(
          ofNet.map((e) => e.ID?.toLowerCase()),
          [ep.ID!.toLowerCase()],
        );
        assert.deepEqual(await hns.listEndpoints(buildQuery({ VirtualNetwork: randomUUID() })), []);

        // HCN_E_ENTITY_HAS_REFERENCES, and the network and its endpoint stay as they were.
        const inUse = await rejectsKind(hns.deleteNetwork(net.ID!), 'in-use');
        assert.equal(inUse.hresult, 0x803b002c);
        await hns.getNetwork(net.ID!);
        assert.equal((await hns.getEndpoint(ep.ID!)).IpConfigurations?.[0]?.IpAddress, '10.244.1.5');

        await hns.deleteEndpoint(ep.ID!);
        await rejectsKind(hns.getEndpoint(ep.ID!), 'not-found');
        await rejectsKind(hns.deleteEndpoint(ep.ID!), 'not-found');
        await hns.deleteNetwork(net.ID!);
      });

      it('refuses an endpoint on a network that does not exist (not-found)', async function () {
        const id = randomUUID();
        await rejectsKind(hns.createEndpoint(id, endpointDoc(`conf-orphan-${unique()}`, '10.244.1.9', id)), 'not-found');
      });

      it('adds and removes endpoint policies', async function () {
        const net = await hns.createNetwork(l2bridge(`conf-pol-${unique()}`));
        const ep = await hns.createEndpoint(net.ID!, endpointDoc(`conf-polep-${unique()}`, '10.244.1.6', net.ID!));
        const acl = {
          Type: 'ACL',
          Settings: {
            Protocols: '6',
            Action: 'Block' as const,
            Direction: 'In' as const,
            LocalPorts: '80',
            RuleType: 'Switch' as const,
            Priority: 200,
          },
        };
        const withAcl = await hns.modifyEndpoint(ep.ID!, endpointPolicyRequest('Add', [acl]));
        assert.ok(
          (withAcl.Policies ?? []).some((p) => p.Type === 'ACL'),
          'ACL added',
        );
        await rejectsKind(hns.modifyEndpoint(ep.ID!, endpointPolicyRequest('Add', [acl])), 'already-exists');
        assert.equal(((await hns.getEndpoint(ep.ID!)).Policies ?? []).filter((p) => p.Type === 'ACL').length, 1, 'one copy of the ACL');
        const without = await hns.modifyEndpoint(ep.ID!, endpointPolicyRequest('Remove', [acl]));
        assert.ok(!(without.Policies ?? []).some((p) => p.Type === 'ACL'), 'ACL removed');
        await hns.deleteEndpoint(ep.ID!);
        await hns.deleteNetwork(net.ID!);
      });
    });

    describe('namespaces', function () {
      it('creates a namespace, attaches and detaches an endpoint, deletes the namespace', async function () {
        const net = await hns.createNetwork(l2bridge(`conf-nsnet-${unique()}`));
        const ep = await hns.createEndpoint(net.ID!, endpointDoc(`conf-nsep-${unique()}`, '10.244.1.7', net.ID!));
        const ns = await hns.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } });
        assert.match(ns.ID ?? '', GUID_RE);

        await hns.attachEndpoint(ns.ID!, ep.ID!);
        const attached = await hns.getNamespace(ns.ID!);
        const ids = (attached.Resources ?? [])
          .filter((r) => r.Type === 'Endpoint')
          .map((r) => String(r.Data.ID ?? r.Data.Id).toLowerCase());
        assert.deepEqual(ids, [ep.ID!.toLowerCase()]);
        assert.ok(sameId((await hns.getEndpoint(ep.ID!)).HostComputeNamespace, ns.ID), 'endpoint knows its namespace');
        await assert.rejects(
          hns.attachEndpoint(ns.ID!, ep.ID!),
          (e: unknown) => e instanceof HnsError && ['already-attached', 'already-exists'].includes(e.kind),
        );

        await hns.detachEndpoint(ns.ID!, ep.ID!);
        assert.equal((await hns.getEndpoint(ep.ID!)).HostComputeNamespace, undefined, 'endpoint no longer in a namespace');
        const detached = await hns.getNamespace(ns.ID!);
        assert.equal((detached.Resources ?? []).filter((r) => r.Type === 'Endpoint').length, 0);
        await assert.rejects(hns.detachEndpoint(ns.ID!, ep.ID!), HnsError);

        await hns.deleteNamespace(ns.ID!);
        await rejectsKind(hns.getNamespace(ns.ID!), 'not-found');
        await hns.deleteEndpoint(ep.ID!);
        await hns.deleteNetwork(net.ID!);
      });

      it('refuses to attach an endpoint that does not exist, and unknown namespaces are not-found', async function () {
        const ns = await hns.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } });
        await rejectsKind(hns.attachEndpoint(ns.ID!, randomUUID()), 'not-found');
        await rejectsKind(hns.getNamespace(randomUUID()), 'not-found');
        await rejectsKind(hns.deleteNamespace(randomUUID()), 'not-found');
        await hns.deleteNamespace(ns.ID!);
      });

      it('uses the modify request shape for attach (namespaceEndpointRequest)', async function () {
        const net = await hns.createNetwork(l2bridge(`conf-nsmod-${unique()}`));
        const ep = await hns.createEndpoint(net.ID!, endpointDoc(`conf-nsmodep-${unique()}`, '10.244.1.8', net.ID!));
        const ns = await hns.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } });
        const after = await hns.modifyNamespace(ns.ID!, namespaceEndpointRequest('Add', ep.ID!));
        assert.equal((after.Resources ?? []).length, 1);
        await hns.modifyNamespace(ns.ID!, namespaceEndpointRequest('Remove', ep.ID!));
        await hns.deleteNamespace(ns.ID!);
        await hns.deleteEndpoint(ep.ID!);
        await hns.deleteNetwork(net.ID!);
      });
    });

    describe('load balancers', function () {
      it('creates, gets, lists, modifies and deletes a load balancer', async function () {
        const net = await hns.createNetwork(l2bridge(`conf-lbnet-${unique()}`));
        const ep1 = await hns.createEndpoint(net.ID!, endpointDoc(`conf-lb1-${unique()}`, '10.244.1.11', net.ID!));
        const ep2 = await hns.createEndpoint(net.ID!, endpointDoc(`conf-lb2-${unique()}`, '10.244.1.12', net.ID!));
        const lb = await hns.createLoadBalancer({
          HostComputeEndpoints: [ep1.ID!],
          SourceVIP: '10.244.1.254',
          FrontendVIPs: ['10.96.0.10'],
          PortMappings: [{ Protocol: 17, InternalPort: 53, ExternalPort: 53, DistributionType: 0, Flags: 0 }],
          Flags: 0,
          SchemaVersion: { Major: 2, Minor: 0 },
        });
        assert.match(lb.ID ?? '', GUID_RE);
        assert.deepEqual(lb.FrontendVIPs, ['10.96.0.10']);
        assert.equal(lb.PortMappings?.[0]?.InternalPort, 53);

        const got = await hns.getLoadBalancer(lb.ID!);
        assert.deepEqual(
          got.HostComputeEndpoints?.map((e) => e.toLowerCase()),
          [ep1.ID!.toLowerCase()],
        );
        assert.ok((await hns.listLoadBalancers()).some((x) => sameId(x.ID, lb.ID)));

        const modified = await hns.modifyLoadBalancer(lb.ID!, { ...got, HostComputeEndpoints: [ep1.ID!, ep2.ID!] });
        assert.deepEqual(
          modified.HostComputeEndpoints?.map((e) => e.toLowerCase()).sort(),
          [ep1.ID!, ep2.ID!].map((e) => e.toLowerCase()).sort(),
        );
        const reread = (await hns.listLoadBalancers()).filter((x) => (x.FrontendVIPs ?? []).includes('10.96.0.10'));
        assert.equal(reread.length, 1, 'modify leaves exactly one load balancer for the VIP');
        assert.equal(reread[0].HostComputeEndpoints?.length, 2);

        await hns.deleteLoadBalancer(reread[0].ID!);
        await rejectsKind(hns.getLoadBalancer(reread[0].ID!), 'not-found');
        await rejectsKind(hns.deleteLoadBalancer(reread[0].ID!), 'not-found');
        await hns.deleteEndpoint(ep1.ID!);
        await hns.deleteEndpoint(ep2.ID!);
        await hns.deleteNetwork(net.ID!);
      });
    });

    describe('errors', function () {
      it('carries the HRESULT, the call and the subject on every failure', async function () {
        const id = randomUUID();
        const e = await rejectsKind(hns.getEndpoint(id), 'not-found');
        assert.ok(e.call, 'names the HNS call');
        assert.ok(isNotFound(e));
        assert.match(e.message, /\(0x8[0-9a-f]{7}\)/, 'shows the HRESULT');
      });
    });

    describe('policy updates and uint64 fields (HNS semantics every data plane keeps)', function () {
      const nat = { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16', '10.96.0.0/12'] } };
      const acl = (port: string) => ({
        Type: 'ACL',
        Settings: {
          Protocols: '6',
          Action: 'Block' as const,
          Direction: 'In' as const,
          LocalPorts: port,
          RuleType: 'Switch' as const,
          Priority: 200,
        },
      });
      const types = (ep: HostComputeEndpoint) => (ep.Policies ?? []).map((p) => String(p.Type)).sort();

      it('an Update replaces the policies of the types it carries and keeps the others (OutBoundNAT survives an ACL Update)', async function () {
        const net = await hns.createNetwork(l2bridge(`conf-upd-${unique()}`));
        const ep = await hns.createEndpoint(net.ID!, { ...endpointDoc(`conf-updep-${unique()}`, '10.244.1.7', net.ID!), Policies: [nat] });
        const first = await hns.modifyEndpoint(ep.ID!, endpointPolicyRequest('Update', [acl('80')]));
        assert.deepEqual(types(first), ['ACL', 'OutBoundNAT']);
        const second = await hns.modifyEndpoint(ep.ID!, endpointPolicyRequest('Update', [acl('443')]));
        assert.deepEqual(types(second), ['ACL', 'OutBoundNAT'], 'the ACL is replaced, not added to');
        const got = await hns.getEndpoint(ep.ID!);
        const kept = (got.Policies ?? []).find((p) => p.Type === 'OutBoundNAT');
        assert.deepEqual(
          (kept?.Settings as { Exceptions?: string[] } | undefined)?.Exceptions,
          nat.Settings.Exceptions,
          'OutBoundNAT unchanged',
        );
        assert.equal(((got.Policies ?? []).find((p) => p.Type === 'ACL')?.Settings as { LocalPorts?: string }).LocalPorts, '443');
        await hns.deleteEndpoint(ep.ID!);
        await hns.deleteNetwork(net.ID!);
      });

      it('keeps a uint64 network Version exact (18446744073709551615 is not rounded through a double)', async function () {
        const max = 18446744073709551615n;
        const net = await hns.createNetwork({ ...l2bridge(`conf-u64-${unique()}`), Version: max } as HostComputeNetwork);
        const got = await hns.getNetwork(net.ID!);
        const listed = (await hns.listNetworks(buildQuery({ Name: net.Name! })))[0];
        if (opts.networkVersion === false) {
          assert.equal(got.Version, undefined, 'dropped, not rounded');
          assert.equal(listed?.Version, undefined, 'dropped, not rounded');
        } else {
          assert.equal(typeof got.Version === 'number' ? BigInt(got.Version) : got.Version, max, `get returned ${String(got.Version)}`);
          assert.equal(
            typeof listed?.Version === 'number' ? BigInt(listed.Version) : listed?.Version,
            max,
            `list returned ${String(listed?.Version)}`,
          );
        }
        await hns.deleteNetwork(net.ID!);
      });
    });
  });
  runCapabilityConformance(label, open, opts);
  runHnsStrictnessConformance(label, open, opts);
  runLoadBalancerBatchConformance(label, open, opts);
  runHcsAttachConformance(label, open, opts);
}

/**
 * Capabilities hold: what a data plane says it realizes it realizes, and what it says it does not it
 * refuses naming the field. Expected answers are the same on every plane, given its capabilities.
 */
export function runCapabilityConformance(label: string, open: () => Promise<HostNetworkService>, opts: ConformanceOptions = {}): void {
  describe(`host network service capabilities: ${label}`, function () {
    let hns: HostNetworkService;
    const unique = opts.unique ?? (() => randomUUID().slice(0, 8));
    const l2bridge = (name: string, prefix: string): HostComputeNetwork => ({
      Name: name,
      Type: 'L2Bridge',
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: prefix, Routes: [{ NextHop: prefix.replace(/0\/24$/, '1'), DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
      SchemaVersion: { Major: 2, Minor: 0 },
    });

    beforeEach(async function () {
      await opts.reset?.();
      hns = await open();
    });
    afterEach(async function () {
      await hns?.close();
      await opts.verify?.();
    });

    it('states its capabilities, and a v1 surface exactly when it says so', function () {
      const c = hns.capabilities;
      assert.ok(['guid', 'netns-path'].includes(c.namespaceId));
      assert.ok(c.addressFamilies.includes('IPv4'));
      assert.ok(c.networkTypes.includes('L2Bridge'));
      assert.equal(!!hns.v1, c.hnsV1);
    });

    it('an endpoint address of a family the capabilities do not list is refused naming IpConfigurations, creating nothing', async function () {
      if (hns.capabilities.addressFamilies.includes('IPv6')) this.skip();
      const net = await hns.createNetwork(l2bridge(`cap-v6-${unique()}`, '10.247.1.0/24'));
      try {
        const e = await rejectsKind(
          hns.createEndpoint(net.ID!, {
            Name: `cap-v6-${unique()}`,
            IpConfigurations: [{ IpAddress: '10.247.1.5' }, { IpAddress: 'fd00::5' }],
          }),
          'bad-input',
        );
        assert.match(e.message, /IpConfigurations\[1\]/);
        assert.deepEqual(
          (await hns.listEndpoints()).filter((x) => sameId(x.HostComputeNetwork, net.ID)),
          [],
        );
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('an endpoint policy type outside capabilities.policies.endpoint is refused naming the type', async function () {
      const known = [
        'PortMapping',
        'ACL',
        'QOS',
        'L2Driver',
        'OutBoundNAT',
        'SDNRoute',
        'L4Proxy',
        'L4WFPPROXY',
        'PortName',
        'EncapOverhead',
        'Iov',
        'TierAcl',
        'VLAN',
        'InterfaceParameters',
        'Encryption',
      ];
      const missing = known.find((t) => !hns.capabilities.policies.endpoint.includes(t));
      if (!missing) this.skip();
      const net = await hns.createNetwork(l2bridge(`cap-pol-${unique()}`, '10.247.2.0/24'));
      try {
        const e = await rejectsKind(
          hns.createEndpoint(net.ID!, { Name: `cap-pol-${unique()}`, Policies: [{ Type: missing!, Settings: {} }] }),
          'bad-input',
        );
        assert.match(e.message, new RegExp(`Policies\\[0\\]\\.Type: "${missing}"`));
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('a second network with the name of an existing one is refused (HNS names are unique)', async function () {
      const name = `cap-dup-${unique()}`;
      const net = await hns.createNetwork(l2bridge(name, '10.247.4.0/24'));
      try {
        await rejectsKind(hns.createNetwork(l2bridge(name, '10.247.5.0/24')), 'already-exists');
        assert.equal((await hns.listNetworks(buildQuery({ Name: name }))).length, 1);
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('host endpoints: attached to the HostDefault namespace, the endpoint reports it; detach and delete leave nothing', async function () {
      if (!hns.capabilities.hostEndpoints) this.skip();
      const host = (await hns.listNamespaces(buildQuery())).filter((n) => String(n.Type).toLowerCase() === 'hostdefault');
      assert.ok(host.length <= 1, 'at most one HostDefault namespace');
      // The stub HCN library (abi suite) starts with no namespaces at all; every real host has its own.
      if (host.length === 0) this.skip();
      const net = await hns.createNetwork(l2bridge(`cap-host-${unique()}`, '10.247.3.0/24'));
      try {
        const ep = await hns.createEndpoint(net.ID!, { Name: `cap-host-${unique()}`, IpConfigurations: [{ IpAddress: '10.247.3.2' }] });
        await hns.attachEndpoint(host[0].ID!, ep.ID!);
        assert.ok(sameId((await hns.getEndpoint(ep.ID!)).HostComputeNamespace, host[0].ID));
        await hns.detachEndpoint(host[0].ID!, ep.ID!);
        assert.equal((await hns.getEndpoint(ep.ID!)).HostComputeNamespace, undefined);
        await hns.deleteEndpoint(ep.ID!);
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });
  });
}

/**
 * HNS's own refusals and assignments (issue 12 point 6), held on every plane: what real HNS answers is what the
 * stub, the emulator and linux answer. Each case names its reference in docs/windows.md ("Strictness cases").
 */
export function runHnsStrictnessConformance(label: string, open: () => Promise<HostNetworkService>, opts: ConformanceOptions = {}): void {
  describe(`host network service strictness (as HNS): ${label}`, function () {
    let hns: HostNetworkService;
    const unique = opts.unique ?? (() => randomUUID().slice(0, 8));
    const net24 = (name: string, third: number): HostComputeNetwork => ({
      Name: name,
      Type: 'L2Bridge',
      Ipams: [
        {
          Type: 'Static',
          Subnets: [
            { IpAddressPrefix: `10.248.${third}.0/24`, Routes: [{ NextHop: `10.248.${third}.1`, DestinationPrefix: '0.0.0.0/0' }] },
          ],
        },
      ],
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    const endpointsOf = async (net: HostComputeNetwork): Promise<HostComputeEndpoint[]> =>
      (await hns.listEndpoints()).filter((x) => sameId(x.HostComputeNetwork, net.ID));

    beforeEach(async function () {
      await opts.reset?.();
      hns = await open();
    });
    afterEach(async function () {
      await hns?.close();
      await opts.verify?.();
    });

    it('an endpoint IP outside every subnet of its network is HCN_E_INVALID_IP, creating nothing', async function () {
      const net = await hns.createNetwork(net24(`strict-ip-${unique()}`, 1));
      try {
        const e = await rejectsKind(
          hns.createEndpoint(net.ID!, { Name: `strict-ip-${unique()}`, IpConfigurations: [{ IpAddress: '10.249.0.5', PrefixLength: 24 }] }),
          'bad-input',
        );
        assert.equal(e.hresult, 0x803b001e, e.message);
        assert.deepEqual(await endpointsOf(net), []);
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('a second endpoint mapping the same host port and protocol is HCN_E_PORT_ALREADY_EXISTS', async function () {
      if (!hns.capabilities.policies.endpoint.includes('PortMapping')) this.skip();
      const net = await hns.createNetwork(net24(`strict-port-${unique()}`, 2));
      const pm = { Type: 'PortMapping' as const, Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 30080 } };
      try {
        const first = await hns.createEndpoint(net.ID!, {
          Name: `strict-port-a-${unique()}`,
          IpConfigurations: [{ IpAddress: '10.248.2.5', PrefixLength: 24 }],
          Policies: [pm],
        });
        const e = await rejectsKind(
          hns.createEndpoint(net.ID!, {
            Name: `strict-port-b-${unique()}`,
            IpConfigurations: [{ IpAddress: '10.248.2.6', PrefixLength: 24 }],
            Policies: [pm],
          }),
          'port-in-use',
        );
        assert.equal(e.hresult, 0x803b0013, e.message);
        // Another protocol on the same port is a different mapping.
        const udp = await hns.createEndpoint(net.ID!, {
          Name: `strict-port-c-${unique()}`,
          IpConfigurations: [{ IpAddress: '10.248.2.7', PrefixLength: 24 }],
          Policies: [{ Type: 'PortMapping', Settings: { ...pm.Settings, Protocol: 17 } }],
        });
        assert.equal((await endpointsOf(net)).length, 2);
        await hns.deleteEndpoint(udp.ID!);
        await hns.deleteEndpoint(first.ID!);
      } finally {
        for (const ep of await endpointsOf(net)) await hns.deleteEndpoint(ep.ID!);
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('an endpoint given no address, MAC or routes gets what HNS assigns: the next free address of the subnet with its prefix length, the default route, a pool MAC', async function () {
      const net = await hns.createNetwork(net24(`strict-assign-${unique()}`, 5));
      try {
        const a = await hns.createEndpoint(net.ID!, { Name: `strict-assign-a-${unique()}` });
        const b = await hns.createEndpoint(net.ID!, {
          Name: `strict-assign-b-${unique()}`,
          IpConfigurations: [{ IpAddress: '10.248.5.77' }],
        });
        const ipa = a.IpConfigurations?.[0]?.IpAddress ?? '';
        assert.match(ipa, /^10\.248\.5\.(\d+)$/, JSON.stringify(a));
        const host = Number(ipa.split('.')[3]);
        assert.ok(host > 1 && host < 255, `${ipa}: not the network, gateway or broadcast address`);
        assert.deepEqual(
          [a.IpConfigurations?.[0]?.PrefixLength, b.IpConfigurations?.[0]?.PrefixLength, b.IpConfigurations?.[0]?.IpAddress],
          [24, 24, '10.248.5.77'],
        );
        const c = await hns.createEndpoint(net.ID!, { Name: `strict-assign-c-${unique()}` });
        assert.notEqual(c.IpConfigurations?.[0]?.IpAddress, ipa, 'a second endpoint gets another address');
        for (const ep of [a, b, c]) {
          const got = await hns.getEndpoint(ep.ID!);
          const def = (got.Routes ?? []).find((r) => r.DestinationPrefix === '0.0.0.0/0');
          assert.equal(def?.NextHop, '10.248.5.1', `default route of ${JSON.stringify(got)}`);
        }
        if (hns.capabilities.macKnownBeforeAttach) {
          const macs = [a, c].map((e) => e.MacAddress ?? '');
          // Documents carry HNS's dashed form on every plane (macFormat is how the CNI result prints it); HNS
          // hands out its pool's 00-15-5D MACs, the linux plane one derived from the address (0E-2A-<IPv4>),
          // which its pod interface is then created with (tests/linux/cni.test.ts compares it with the link).
          for (const m of macs)
            assert.match(m, hns.capabilities.macFormat === 'dashed' ? /^00-15-5D(-[0-9A-F]{2}){3}$/i : /^0E-2A(-[0-9A-F]{2}){4}$/i);
          assert.notEqual(macs[0].toLowerCase(), macs[1].toLowerCase());
        }
        for (const ep of [a, b, c]) await hns.deleteEndpoint(ep.ID!);
      } finally {
        for (const ep of await endpointsOf(net)) await hns.deleteEndpoint(ep.ID!);
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('a create document without SchemaVersion is read as v1 schema (Subnets/GatewayAddress, IPAddress, DNSServerList)', async function () {
      if (!hns.capabilities.hnsV1) this.skip(); // planes that speak HNS v1 take its documents
      const net = await hns.createNetwork({
        Name: `strict-v1schema-${unique()}`,
        Type: 'L2Bridge',
        Subnets: [{ AddressPrefix: '10.248.6.0/24', GatewayAddress: '10.248.6.1' }],
      } as unknown as HostComputeNetwork);
      try {
        const got = await hns.getNetwork(net.ID!);
        const subnet = got.Ipams?.[0]?.Subnets?.[0];
        assert.equal(subnet?.IpAddressPrefix, '10.248.6.0/24', JSON.stringify(got));
        assert.equal(subnet?.Routes?.find((r) => r.DestinationPrefix === '0.0.0.0/0')?.NextHop, '10.248.6.1');
        const ep = await hns.createEndpoint(net.ID!, {
          Name: `strict-v1schema-${unique()}`,
          IPAddress: '10.248.6.9',
          DNSServerList: '10.96.0.10',
        } as unknown as HostComputeEndpoint);
        const e = await hns.getEndpoint(ep.ID!);
        assert.deepEqual(
          [
            e.IpConfigurations?.[0]?.IpAddress,
            e.IpConfigurations?.[0]?.PrefixLength,
            e.Dns?.ServerList,
            sameId(e.HostComputeNetwork, net.ID),
          ],
          ['10.248.6.9', 24, ['10.96.0.10'], true],
          JSON.stringify(e),
        );
        await hns.deleteEndpoint(ep.ID!);
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });

    it("the v1 view of a network bound to an adapter reports the adapter's address as ManagementIP", async function () {
      if (!hns.v1) this.skip();
      const net = await hns.createNetwork(net24(`strict-mgmt-${unique()}`, 7));
      try {
        const v1 = await hns.v1.call<{ ManagementIP?: string }>('GET', `/networks/${net.ID}`);
        assert.match(v1.ManagementIP ?? '', /^\d+\.\d+\.\d+\.\d+$/, JSON.stringify(v1));
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('endpoint statistics (GET /endpointstats/<id>): counters of a known endpoint, not-found for an unknown one', async function () {
      if (!hns.endpointStats) this.skip();
      const net = await hns.createNetwork(net24(`strict-stats-${unique()}`, 4));
      try {
        const ep = await hns.createEndpoint(net.ID!, {
          Name: `strict-stats-${unique()}`,
          IpConfigurations: [{ IpAddress: '10.248.4.5', PrefixLength: 24 }],
        });
        const stats = await hns.endpointStats!(ep.ID!);
        assert.ok(sameId(stats.EndpointID, ep.ID), JSON.stringify(stats));
        for (const k of [
          'BytesReceived',
          'BytesSent',
          'PacketsReceived',
          'PacketsSent',
          'DroppedPacketsIncoming',
          'DroppedPacketsOutgoing',
        ] as const) {
          assert.ok(BigInt(stats[k]) >= 0n, `${k} is a non-negative counter: ${String(stats[k])}`);
        }
        await rejectsKind(hns.endpointStats!(randomUUID()), 'not-found');
        await hns.deleteEndpoint(ep.ID!);
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('query results are re-serialised as HNS does: schema members in HNS order, unknown members dropped, a uint64 Version exact', async function () {
      const max = 18446744073709551615n;
      const base = net24(`strict-order-${unique()}`, 6);
      // Keys scrambled against HNS's order, plus a member no HNS schema has.
      const scrambled = {
        SchemaVersion: base.SchemaVersion,
        Ipams: base.Ipams,
        SwitchyardUnknownMember: 'dropped',
        Type: base.Type,
        ...(opts.networkVersion === false ? {} : { Version: max }),
        Name: base.Name,
      } as HostComputeNetwork;
      const net = await hns.createNetwork(scrambled);
      try {
        const ep = await hns.createEndpoint(net.ID!, {
          MacAddress: '00-15-5D-AA-BB-01',
          SwitchyardUnknownMember: 'dropped',
          IpConfigurations: [{ IpAddress: '10.248.6.9', PrefixLength: 24 }],
          Name: `strict-order-ep-${unique()}`,
        } as HostComputeEndpoint);
        const docs: Array<['network' | 'endpoint', string, object]> = [
          ['network', 'create', net],
          ['network', 'get', await hns.getNetwork(net.ID!)],
          ['network', 'list', (await hns.listNetworks(buildQuery({ Name: net.Name! })))[0] ?? {}],
          ['endpoint', 'create', ep],
          ['endpoint', 'get', await hns.getEndpoint(ep.ID!)],
        ];
        for (const [kind, how, doc] of docs) {
          const keys = schemaKeys(kind, doc);
          assert.deepEqual(keys, inHnsOrder(kind, keys), `${kind} ${how}: members in HNS order`);
          assert.ok(!('SwitchyardUnknownMember' in doc), `${kind} ${how}: the unknown member is dropped`);
        }
        for (const [kind, how, doc] of docs.filter(([k]) => k === 'network')) {
          const v = (doc as HostComputeNetwork).Version;
          if (opts.networkVersion === false) assert.equal(v, undefined, `${kind} ${how}: dropped, not rounded`);
          else assert.equal(typeof v === 'number' ? BigInt(v) : v, max, `${kind} ${how}: Version ${String(v)}`);
        }
        await hns.deleteEndpoint(ep.ID!);
      } finally {
        for (const ep of await endpointsOf(net)) await hns.deleteEndpoint(ep.ID!);
        await hns.deleteNetwork(net.ID!);
      }
    });

    it('a load-balancer feature outside capabilities.policies.loadBalancer is refused as unsupported naming the field, creating nothing', async function () {
      const lbCaps = hns.capabilities.policies.loadBalancer;
      const cases = [
        { feature: 'IPv6', field: /Flags/, patch: { Flags: 2 }, mapping: {} },
        { feature: 'SourceAffinity', field: /DistributionType/, patch: {}, mapping: { DistributionType: 2 } },
        { feature: 'LocalRoutedVIP', field: /PortMappings\[0\]\.Flags/, patch: {}, mapping: { Flags: 2 } },
      ].filter((c) => !lbCaps.includes(c.feature));
      if (!cases.length) this.skip();
      const net = await hns.createNetwork(net24(`strict-lb-${unique()}`, 3));
      try {
        const ep = await hns.createEndpoint(net.ID!, {
          Name: `strict-lb-${unique()}`,
          IpConfigurations: [{ IpAddress: '10.248.3.5', PrefixLength: 24 }],
        });
        for (const c of cases) {
          const e = await rejectsKind(
            hns.createLoadBalancer({
              HostComputeEndpoints: [ep.ID!],
              FrontendVIPs: ['10.96.3.10'],
              PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80, ...c.mapping }],
              ...c.patch,
              SchemaVersion: { Major: 2, Minor: 0 },
            }),
            'unsupported',
          );
          assert.match(e.message, c.field, `${c.feature}: ${e.message}`);
        }
        assert.deepEqual(
          (await hns.listLoadBalancers()).filter((lb) => (lb.FrontendVIPs ?? []).includes('10.96.3.10')),
          [],
        );
        await hns.deleteEndpoint(ep.ID!);
      } finally {
        await hns.deleteNetwork(net.ID!);
      }
    });
  });
}

/**
 * The apiVersion-1 container attach through HCS (hcsshim HotAttachEndpoint/HotDetachEndpoint): the same answers
 * from the stub's vmcompute exports and the emulator's compute systems (docs/windows.md "HCS").
 */
export function runHcsAttachConformance(label: string, open: () => Promise<HostNetworkService>, opts: ConformanceOptions = {}): void {
  describe(`HCS container attach (apiVersion 1): ${label}`, function () {
    let hns: HostNetworkService;
    const unique = opts.unique ?? (() => randomUUID().slice(0, 8));
    beforeEach(async function () {
      await opts.reset?.();
      hns = await open();
      if (!opts.computeSystems || !hns.v1?.modifyContainerNetwork) this.skip();
    });
    afterEach(async function () {
      await hns?.close();
      await opts.verify?.();
    });

    it('hot-adds and hot-removes an endpoint on a running container; a missing container is not an error on ADD, and DEL drops the record', async function () {
      const cs = opts.computeSystems!(hns);
      const v1 = hns.v1!;
      const net = await hns.createNetwork({
        Name: `hcs-${unique()}`,
        Type: 'L2Bridge',
        Ipams: [
          {
            Type: 'Static',
            Subnets: [{ IpAddressPrefix: '10.247.0.0/24', Routes: [{ NextHop: '10.247.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
          },
        ],
        SchemaVersion: { Major: 2, Minor: 0 },
      });
      const ep = await v1.call<HnsV1Endpoint>('POST', '/endpoints/', {
        Name: `hcs-ep-${unique()}`,
        VirtualNetwork: net.ID,
        IPAddress: '10.247.0.5',
      });
      const shared = async () => {
        const got = await v1.call<HnsV1Endpoint>('GET', `/endpoints/${ep.ID}`);
        return [got.SharedContainers ?? [], got.State];
      };
      const pause = 'a'.repeat(63) + unique().slice(0, 1);
      try {
        await cs.create(pause);
        await v1Attach(hns, ep.ID!, pause);
        assert.deepEqual(await shared(), [[pause], 2], 'hot-added: HNS shows the container, State Attached');
        // A second hot-add of the same container changes nothing (HCS replaces the adapter's record).
        await v1.modifyContainerNetwork!(pause, ep.ID!, 'Add');
        assert.deepEqual((await shared())[0], [pause]);
        await v1Detach(hns, ep.ID!, pause);
        assert.deepEqual(await shared(), [[], 1]);

        // No compute system: ADD is not an error (the reference returns the endpoint) and records nothing.
        await v1Attach(hns, ep.ID!, 'b'.repeat(64));
        assert.deepEqual((await shared())[0], []);
        const gone = await rejectsKind(v1.modifyContainerNetwork!('c'.repeat(64), ep.ID!, 'Add'), 'not-found');
        assert.equal(gone.hresult, 0xc037010e, gone.message);
        assert.match(gone.message, /does not exist/);
        // An endpoint HNS does not know: HNS's not-found through HCS, not the missing-container code.
        const noEp = await rejectsKind(v1.modifyContainerNetwork!(pause, randomUUID(), 'Add'), 'not-found');
        assert.deepEqual([noEp.hresult, noEp.call], [0x80070490, 'HcsModifyComputeSystem']);

        // The container goes away while attached: DEL falls back to dropping HNS's record.
        await v1Attach(hns, ep.ID!, pause);
        await cs.remove(pause);
        await v1Detach(hns, ep.ID!, pause);
        assert.deepEqual(await shared(), [[], 1]);
      } finally {
        await v1.call('DELETE', `/endpoints/${ep.ID}`);
        await hns.deleteNetwork(net.ID!);
      }
    });
  });
}
