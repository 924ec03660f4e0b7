import * as assert from 'node:assert/strict';
import {
  ConversionError,
  endpointPolicyV1ToV2,
  endpointPolicyV2ToV1,
  endpointV1ToV2,
  endpointV2ToV1,
  loadBalancerToPolicyList,
  looksLikeV1Endpoint,
  looksLikeV1Network,
  namespaceV1ToV2,
  namespaceV2ToV1,
  networkV1ToV2,
  networkV2ToV1,
  policyListToLoadBalancer,
  protocolNumber,
} from '../../../src/hns/convert';
import type { HnsV1Network, HostComputeNetwork } from '../../../src/hns';
import { winOverlayV1Endpoint } from '../../fixtures/reference-documents';

describe('HNS v1 ⇄ HCN v2 conversion', () => {
  describe('networks', () => {
    // hcn-api.md §8.1 (v1) and §2.5 (the v2 document flannel builds for the same network).
    const v1Overlay: HnsV1Network = {
      Name: 'flannel.4096',
      Type: 'Overlay',
      NetworkAdapterName: 'Ethernet',
      Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
    };

    it('turns Subnets into Ipams with a default route and a VSID subnet policy', () => {
      const v2 = networkV1ToV2(v1Overlay);
      assert.deepEqual(v2, {
        Name: 'flannel.4096',
        Type: 'Overlay',
        Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
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
        SchemaVersion: { Major: 2, Minor: 0 },
      });
    });

    it('round-trips v1 → v2 → v1', () => {
      assert.deepEqual(networkV2ToV1(networkV1ToV2(v1Overlay)), v1Overlay);
    });

    it('maps ProviderAddress/DrMacAddress to ManagementIP/DrMacAddress, Dns to the comma list, type case', () => {
      const v2: HostComputeNetwork = {
        ID: 'A1B2C3D4-0000-4000-8000-000000000001',
        Name: 'vxlan0',
        Type: 'overlay',
        Policies: [
          { Type: 'ProviderAddress', Settings: { ProviderAddress: '10.0.0.4' } },
          { Type: 'DrMacAddress', Settings: { Address: '00-15-5D-AA-BB-CC' } },
          {
            Type: 'RemoteSubnetRoute',
            Settings: {
              DestinationPrefix: '10.244.2.0/24',
              IsolationId: 4096,
              ProviderAddress: '10.0.0.5',
              DistributedRouterMacAddress: '00-15-5D-01-02-03',
            },
          },
        ],
        Dns: { ServerList: ['10.96.0.10', '10.96.0.11'], Domain: 'cluster.local' },
        MacPool: { Ranges: [{ StartMacAddress: '00-15-5D-52-C0-00', EndMacAddress: '00-15-5D-52-CF-FF' }] },
      };
      const v1 = networkV2ToV1(v2);
      assert.equal(v1.Type, 'Overlay');
      assert.equal(v1.ManagementIP, '10.0.0.4');
      assert.equal(v1.DrMacAddress, '00-15-5D-AA-BB-CC');
      assert.equal(v1.DNSServerList, '10.96.0.10,10.96.0.11');
      assert.equal(v1.DNSSuffix, 'cluster.local');
      assert.deepEqual(v1.MacPools, [{ StartMacAddress: '00-15-5D-52-C0-00', EndMacAddress: '00-15-5D-52-CF-FF' }]);
      assert.deepEqual(v1.Policies, [
        {
          Type: 'RemoteSubnetRoute',
          DestinationPrefix: '10.244.2.0/24',
          IsolationId: 4096,
          ProviderAddress: '10.0.0.5',
          DistributedRouterMacAddress: '00-15-5D-01-02-03',
        },
      ]);
      const back = networkV1ToV2(v1);
      assert.deepEqual(
        back.Policies!.map((p) => p.Type),
        ['ProviderAddress', 'DrMacAddress', 'RemoteSubnetRoute'],
      );
      assert.deepEqual(back.Dns, { ServerList: ['10.96.0.10', '10.96.0.11'], Domain: 'cluster.local' });
    });

    it('reports a missing Type as NAT in v1 output (HNS omits the zero value)', () => {
      assert.equal(networkV2ToV1({ Name: 'nat' }).Type, 'NAT');
    });

    it('moves network-level v1 VLAN policies onto each subnet', () => {
      const v2 = networkV1ToV2({
        Name: 't',
        Type: 'transparent',
        Policies: [{ Type: 'VLAN', VLAN: 11 }],
        Subnets: [{ AddressPrefix: '192.168.50.0/24', GatewayAddress: '192.168.50.1' }],
      });
      assert.equal(v2.Type, 'Transparent');
      assert.deepEqual(v2.Ipams![0].Subnets![0].Policies, [{ Type: 'VLAN', Settings: { IsolationId: 11 } }]);
      assert.equal(v2.Policies, undefined);
    });

    it('uses ::/0 for an IPv6 subnet gateway', () => {
      const v2 = networkV1ToV2({ Name: 'v6', Type: 'L2Bridge', Subnets: [{ AddressPrefix: 'fd00:1::/64', GatewayAddress: 'fd00:1::1' }] });
      assert.deepEqual(v2.Ipams![0].Subnets![0].Routes, [{ NextHop: 'fd00:1::1', DestinationPrefix: '::/0' }]);
    });
  });

  describe('endpoints', () => {
    // cni-windows-plugins.md §3.3 (win-overlay v1 body) and hcn-api.md §3.5.
    const winOverlayV1 = winOverlayV1Endpoint('NET-ID');

    it('converts the win-overlay v1 endpoint to its v2 equivalent', () => {
      assert.deepEqual(endpointV1ToV2(winOverlayV1), {
        Name: 'abc123_vxlan0',
        HostComputeNetwork: 'NET-ID',
        Policies: [
          { Type: 'OutBoundNAT', Settings: { Exceptions: ['192.168.0.0/16', '11.0.0.0/8'] } },
          { Type: 'SDNRoute', Settings: { DestinationPrefix: '11.0.0.0/8', NeedEncap: true } },
          { Type: 'ProviderAddress', Settings: { ProviderAddress: '10.0.0.4' } },
          { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.2.0/24'] } },
          { Type: 'OutBoundNAT', Settings: { Destinations: ['10.244.2.7'] } },
        ],
        IpConfigurations: [{ IpAddress: '10.244.2.7' }],
        Dns: { ServerList: ['11.0.0.10'], Search: ['svc.cluster.local'] },
        Routes: [{ NextHop: '10.244.2.1', DestinationPrefix: '0.0.0.0/0' }],
        MacAddress: '0E-2A-0a-f4-02-07',
        SchemaVersion: { Major: 2, Minor: 0 },
      });
    });

    it('round-trips v1 → v2 → v1 (State added by HNS)', () => {
      const back = endpointV2ToV1(endpointV1ToV2(winOverlayV1));
      assert.deepEqual(back, { ...winOverlayV1, State: 1 });
    });

    it('maps a remote endpoint (IsRemoteEndpoint + PA) to Flags 1 + ProviderAddress, as kube-proxy sends it', () => {
      const v2 = endpointV1ToV2({
        IPAddress: '10.244.2.7',
        MacAddress: '02-11-0a-f4-02-07',
        IsRemoteEndpoint: true,
        VirtualNetwork: 'N',
        Policies: [{ Type: 'PA', PA: '192.168.0.11' }],
      });
      assert.equal(v2.Flags, 1);
      assert.deepEqual(v2.Policies, [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.0.11' } }]);
      assert.equal(endpointV2ToV1(v2).IsRemoteEndpoint, true);
    });

    it('keeps DNS lists, dual-stack addresses, DisableICC and the namespace on the way back', () => {
      const v1 = endpointV2ToV1(
        {
          ID: 'E',
          HostComputeNetwork: 'N',
          HostComputeNamespace: 'NS',
          IpConfigurations: [
            { IpAddress: '10.244.1.5', PrefixLength: 24 },
            { IpAddress: 'fd00::5', PrefixLength: 64 },
          ],
          Routes: [
            { NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' },
            { NextHop: 'fd00::1', DestinationPrefix: '::/0' },
          ],
          Dns: { ServerList: ['10.96.0.10'], Search: ['a.svc', 'svc'], Domain: 'cluster.local' },
          Flags: 2,
          Health: { Extra: { SharedContainers: ['abc'] } },
        },
        { networkName: 'cbr0', namespaceIsDefault: false },
      );
      assert.deepEqual(v1, {
        ID: 'E',
        VirtualNetwork: 'N',
        VirtualNetworkName: 'cbr0',
        IPAddress: '10.244.1.5',
        PrefixLength: 24,
        IPv6Address: 'fd00::5',
        IPv6PrefixLength: 64,
        GatewayAddress: '10.244.1.1',
        GatewayAddressV6: 'fd00::1',
        DNSServerList: '10.96.0.10',
        DNSSuffix: 'a.svc,svc',
        DNSDomain: 'cluster.local',
        DisableICC: true,
        Namespace: { ID: 'NS', IsDefault: false },
        SharedContainers: ['abc'],
        State: 2,
      });
    });
  });

  describe('policies', () => {
    it('NAT Protocol strings become PortMapping protocol numbers and back', () => {
      assert.deepEqual(endpointPolicyV1ToV2({ Type: 'NAT', InternalPort: 80, ExternalPort: 8080, Protocol: 'tcp' }), {
        Type: 'PortMapping',
        Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 },
      });
      assert.equal(
        (endpointPolicyV1ToV2({ Type: 'NAT', InternalPort: 53, ExternalPort: 53, Protocol: 'UDP' }).Settings as { Protocol: number })
          .Protocol,
        17,
      );
      assert.equal(
        (endpointPolicyV1ToV2({ Type: 'NAT', InternalPort: 53, ExternalPort: 53, Protocol: '6' }).Settings as { Protocol: number })
          .Protocol,
        6,
      );
      assert.deepEqual(
        endpointPolicyV2ToV1({ Type: 'PortMapping', Settings: { InternalPort: 53, ExternalPort: 53, Protocol: 17, VIP: '', Flags: 4 } }),
        { Type: 'NAT', Protocol: 'udp', InternalPort: 53, ExternalPort: 53, ExternalPortReserved: true },
      );
      assert.equal(protocolNumber('sctp'), undefined);
      assert.equal(protocolNumber(132), 132);
    });

    it('OutBoundNAT: ExceptionList ⇄ Exceptions, VIP ⇄ VirtualIP, Destinations kept', () => {
      const v1 = { Type: 'OutBoundNAT', VIP: '10.0.0.4', ExceptionList: ['10.96.0.0/12'], Destinations: ['10.244.1.5'] };
      const v2 = endpointPolicyV1ToV2(v1);
      assert.deepEqual(v2, {
        Type: 'OutBoundNAT',
        Settings: { VirtualIP: '10.0.0.4', Exceptions: ['10.96.0.0/12'], Destinations: ['10.244.1.5'] },
      });
      assert.deepEqual(endpointPolicyV2ToV1(v2), v1);
    });

    it('ACL: v1 singular ports and numeric Protocol fold into the v2 strings', () => {
      const v2 = endpointPolicyV1ToV2({
        Type: 'ACL',
        Protocol: 6,
        Action: 'Allow',
        Direction: 'In',
        LocalPort: 80,
        RemoteAddresses: '10.0.0.0/8',
        RuleType: 'Switch',
        Priority: 200,
      });
      assert.deepEqual(v2, {
        Type: 'ACL',
        Settings: {
          Protocols: '6',
          Action: 'Allow',
          Direction: 'In',
          RemoteAddresses: '10.0.0.0/8',
          LocalPorts: '80',
          RuleType: 'Switch',
          Priority: 200,
        },
      });
    });

    it('QOS, VLAN, PROXY ⇄ L4Proxy; unknown types pass through both ways', () => {
      assert.deepEqual(endpointPolicyV1ToV2({ Type: 'QOS', MaximumOutgoingBandwidthInBytes: 1000000 }), {
        Type: 'QOS',
        Settings: { MaximumOutgoingBandwidthInBytes: 1000000 },
      });
      assert.deepEqual(endpointPolicyV2ToV1({ Type: 'VLAN', Settings: { IsolationId: 7 } }), { Type: 'VLAN', VLAN: 7 });
      assert.deepEqual(
        endpointPolicyV1ToV2({ Type: 'PROXY', IP: '127.0.0.1', Port: '15001', ExceptionList: ['10.0.0.1'], OutboundNat: true }),
        { Type: 'L4Proxy', Settings: { IP: '127.0.0.1', Port: '15001', ExceptionList: ['10.0.0.1'], OutboundNat: true } },
      );
      assert.deepEqual(endpointPolicyV1ToV2({ Type: 'FutureThing', Knob: 3 }), { Type: 'FutureThing', Settings: { Knob: 3 } });
      assert.deepEqual(endpointPolicyV2ToV1({ Type: 'EncapOverhead', Settings: { Overhead: 50 } }), {
        Type: 'EncapOverhead',
        Overhead: 50,
      });
    });
  });

  describe('load balancers ⇄ policy lists', () => {
    // hcn-api.md §8.4
    const elb = {
      ID: 'LB-1',
      References: ['/endpoints/EP-1', '/endpoints/EP-2'],
      Policies: [
        { Type: 'ELB', Protocol: 6, InternalPort: 80, ExternalPort: 80, SourceVIP: '10.244.1.254', VIPs: ['10.96.12.34'], ILB: false },
      ],
    };

    it('turns an ELB policy list into a HostComputeLoadBalancer and back', () => {
      const lb = policyListToLoadBalancer(elb);
      assert.deepEqual(lb, {
        ID: 'LB-1',
        HostComputeEndpoints: ['EP-1', 'EP-2'],
        SourceVIP: '10.244.1.254',
        FrontendVIPs: ['10.96.12.34'],
        PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }],
        SchemaVersion: { Major: 2, Minor: 0 },
      });
      assert.deepEqual(loadBalancerToPolicyList(lb), elb);
    });

    it('carries ILB and DSR flags', () => {
      const lb = policyListToLoadBalancer({
        References: ['/endpoints/E'],
        Policies: [{ Type: 'ELB', Protocol: 17, InternalPort: 53, ExternalPort: 53, VIPs: ['10.96.0.10'], ILB: true, IsDSR: true }],
      });
      assert.equal(lb.Flags, 1);
      assert.equal(lb.PortMappings![0].Flags, 1);
      assert.equal(loadBalancerToPolicyList(lb).Policies![0].IsDSR, true);
    });

    it('refuses ELB policies with different frontends in one list, and non-ELB lists', () => {
      assert.throws(
        () => policyListToLoadBalancer({ References: [], Policies: [elb.Policies[0], { ...elb.Policies[0], VIPs: ['10.96.0.1'] }] }),
        ConversionError,
      );
      assert.throws(
        () => policyListToLoadBalancer({ References: [], Policies: [{ Type: 'ROUTE', DestinationPrefix: '10.0.0.0/8' }] }),
        ConversionError,
      );
      assert.throws(() => policyListToLoadBalancer({ References: ['endpoints'], Policies: elb.Policies }), /not of the form/);
    });
  });

  describe('namespaces and shape detection', () => {
    it('maps IsDefault/CompartmentId ⇄ Type/NamespaceId', () => {
      assert.deepEqual(
        namespaceV2ToV1({ ID: 'N', Type: 'HostDefault', NamespaceId: 1, Resources: [{ Type: 'Endpoint', Data: { ID: 'E' } }] }),
        { ID: 'N', IsDefault: true, CompartmentId: 1, ResourceList: [{ Type: 'Endpoint', Data: { ID: 'E' } }] },
      );
      assert.deepEqual(namespaceV1ToV2({ IsDefault: false }), { Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } });
    });

    it('tells v1 documents from v2 ones', () => {
      assert.equal(looksLikeV1Network({ Name: 'a', Subnets: [] }), true);
      assert.equal(looksLikeV1Network({ Name: 'a', Ipams: [], SchemaVersion: { Major: 2, Minor: 0 } }), false);
      assert.equal(looksLikeV1Endpoint({ VirtualNetwork: 'x', IPAddress: '1.2.3.4' }), true);
      assert.equal(looksLikeV1Endpoint({ HostComputeNetwork: 'x', IpConfigurations: [] }), false);
      assert.equal(looksLikeV1Endpoint({}), false);
    });
  });
});
