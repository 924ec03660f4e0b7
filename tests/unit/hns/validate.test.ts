/** validate.ts: the errors name the field path and say what to fix. */
import { strict as assert } from 'node:assert';
import {
  validateNetwork,
  validateEndpoint,
  validateLoadBalancer,
  validateNamespace,
  validateNetworkModify,
  validateEndpointModify,
  validateNamespaceModify,
  formatIssue,
  assertValid,
  HcnValidationError,
  isCidr,
  isIp,
  isMac,
  isGuid,
  cidrContains,
  networkPolicyRequest,
  endpointPolicyRequest,
  namespaceEndpointRequest,
  type ValidationIssue,
} from '../../../src/hns';

const G = '5f4b1a6c-3b2e-4d8a-9c71-2e0f8b6d4a10';
const msgs = (issues: ValidationIssue[]) => issues.map(formatIssue);

describe('hns: validation of v2 documents', () => {
  it('primitives', () => {
    assert.ok(isCidr('10.0.0.0/8') && isCidr('fd00::/64') && !isCidr('10.0.0.0/33') && !isCidr('10.0.0/8') && !isCidr('10.0.0.0'));
    assert.ok(isIp('10.0.0.1') && isIp('fd00::1') && !isIp('10') && !isIp('10.0.0.256') && !isIp('fe80::1%eth0'));
    assert.ok(isMac('00-15-5D-52-C0-00') && isMac('00:15:5d:bb:6e:c2') && !isMac('00-15:5D-52-C0-00') && !isMac('0015.5d52.c000'));
    assert.ok(isGuid(G) && isGuid(`{${G.toUpperCase()}}`) && !isGuid('cbr0'));
    assert.ok(
      cidrContains('10.244.1.0/24', '10.244.1.1') && !cidrContains('10.244.1.0/24', '10.244.2.1') && !cidrContains('10.0.0.0/8', 'fd00::1'),
    );
  });

  it('network: the CIDR example from the brief', () => {
    const issues = validateNetwork({
      Name: 'n',
      Type: 'L2Bridge',
      Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.0.0.0/33' }] }],
    });
    assert.deepEqual(msgs(issues), [
      'Ipams[0].Subnets[0].IpAddressPrefix: "10.0.0.0/33" is not a valid CIDR prefix (e.g. "10.244.1.0/24")',
    ]);
  });

  it('network: type, gateway outside the subnet, policies and their settings', () => {
    const issues = msgs(
      validateNetwork({
        Name: '',
        Type: 'Bridge',
        Flags: -1,
        Ipams: [
          {
            Type: 'Static',
            Subnets: [
              {
                IpAddressPrefix: '10.244.1.0/24',
                Routes: [{ NextHop: '10.244.2.1', DestinationPrefix: '0.0.0.0/0' }],
                Policies: [{ Type: 'VSID', Settings: { IsolationId: 1 << 24 } }],
              },
            ],
          },
        ],
        Policies: [
          { Type: 'NetAdapterName', Settings: {} },
          {
            Type: 'RemoteSubnetRoute',
            Settings: {
              DestinationPrefix: '10.244.2.0/24',
              IsolationId: 4096,
              ProviderAddress: '192.168.0.300',
              DistributedRouterMacAddress: 'zz',
            },
          },
          { Type: 'HostRoute', Settings: { Enable: true } },
          { Type: 'VxlanPort', Settings: { Port: 70000 } },
          { Type: 'Tunnel', Settings: {} },
        ],
        MacPool: { Ranges: [{ StartMacAddress: '00-15-5D-52-C0-00', EndMacAddress: 'x' }] },
      }),
    );
    assert.deepEqual(issues, [
      'Name: must not be empty',
      'Flags: must be an integer from 0 to 4294967295, got number -1',
      'Type: "Bridge" is not one of NAT, ICS, Transparent, L2Bridge, L2Tunnel, Overlay, Private, Internal, Mirrored, Infiniband, ConstrainedICS',
      'Policies[0].Settings.NetworkAdapterName: is missing: it must be a string',
      'Policies[1].Settings.ProviderAddress: "192.168.0.300" is not a valid IP address (e.g. "10.244.1.1")',
      'Policies[1].Settings.DistributedRouterMacAddress: "zz" is not a MAC address (e.g. "00-15-5D-52-C0-00")',
      'Policies[2].Settings: HostRoute settings must be an empty object {}',
      'Policies[3].Settings.Port: must be an integer from 1 to 65535, got number 70000',
      'Policies[4].Type: "Tunnel" is not a network policy type: use one of SourceMacAddress, NetAdapterName, InterfaceConstraint, VSwitchExtension, ProviderAddress, DrMacAddress, AutomaticDNS, RemoteSubnetRoute, VxlanPort, HostRoute, SetPolicy, L4Proxy, LayerConstraint, NetworkACL',
      'MacPool.Ranges[0].EndMacAddress: "x" is not a MAC address (e.g. "00-15-5D-52-C0-00")',
      'Ipams[0].Subnets[0].Routes[0].NextHop: "10.244.2.1" is not inside the subnet 10.244.1.0/24: use a gateway address in 10.244.1.0/24',
      'Ipams[0].Subnets[0].Policies[0].Settings.IsolationId: must be an integer from 0 to 16777215, got number 16777216',
    ]);
  });

  it('network: a name is required on create', () => {
    assert.deepEqual(msgs(validateNetwork({ Type: 'NAT' }, { create: true })), ['Name: is required: give the network a name']);
    assert.deepEqual(msgs(validateNetwork({ Type: 'NAT' })), []);
  });

  it('endpoint: network required, namespace read-only on create, IPs, MAC, one address per family, policies', () => {
    const issues = msgs(
      validateEndpoint(
        {
          Name: 'e',
          HostComputeNamespace: G,
          MacAddress: '00-15-5D',
          IpConfigurations: [
            { IpAddress: '10.0.0.5', PrefixLength: 33 },
            { IpAddress: '10.0.0.6' },
            { IpAddress: 'fd00::5', PrefixLength: 64 },
          ],
          Dns: { ServerList: ['10.96.0.10', 'dns.local'] },
          Policies: [
            { Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 0, ExternalPort: 8080 } },
            { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/33'] } },
            { Type: 'ACL', Settings: { Action: 'Deny', Direction: 'In', LocalPorts: '80,99999', Protocols: '6,tcp' } },
          ],
        },
        { create: true },
      ),
    );
    assert.deepEqual(issues, [
      'HostComputeNetwork: is required: the ID of the network the endpoint belongs to',
      'HostComputeNamespace: is read only and must not be set on create: attach the endpoint to a namespace afterwards',
      'Policies[0].Settings.InternalPort: must be an integer from 1 to 65535, got number 0',
      'Policies[1].Settings.Exceptions[1]: "10.244.0.0/33" is not an IP address or CIDR prefix',
      'Policies[2].Settings.Protocols: "tcp" is not IP protocol numbers (6 TCP, 17 UDP, 1 ICMPv4, 58 ICMPv6)',
      'Policies[2].Settings.Action: "Deny" is not one of Allow, Block',
      'Policies[2].Settings.LocalPorts: "99999" is not ports or port ranges (0-65535)',
      'IpConfigurations[0].PrefixLength: must be an integer from 0 to 32, got number 33',
      'IpConfigurations[1].IpAddress: a second IPv4 address (IpConfigurations[0] is IPv4): an endpoint has at most one IPv4 and one IPv6 address',
      'Dns.ServerList[1]: "dns.local" is not a valid IP address (e.g. "10.244.1.1")',
      'MacAddress: "00-15-5D" is not a MAC address (e.g. "00-15-5D-52-C0-00")',
    ]);
  });

  it('load balancer: VIPs, families, IPv6 flag, port mappings, endpoints', () => {
    assert.deepEqual(msgs(validateLoadBalancer({ FrontendVIPs: ['10.96.0.10'] }, { create: true })), [
      'PortMappings: is required: e.g. [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}]',
    ]);
    const issues = msgs(
      validateLoadBalancer(
        {
          HostComputeEndpoints: [G, G.toUpperCase(), 'web-1'],
          FrontendVIPs: ['10.96.0.10', 'fd00::10'],
          PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80, DistributionType: 3 }],
        },
        { create: true },
      ),
    );
    assert.deepEqual(issues, [
      `HostComputeEndpoints[1]: endpoint ${G.toUpperCase()} is listed twice`,
      'HostComputeEndpoints[2]: "web-1" is not a GUID (e.g. "9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10")',
      'FrontendVIPs: mixes IPv4 and IPv6 addresses (with SourceVIP): a load balancer is one family; create one per family',
      'Flags: IPv6 VIPs need the IPv6 flag (2): set Flags to 2',
      'PortMappings[0].DistributionType: must be an integer from 0 to 2, got number 3',
    ]);
  });

  it('namespace', () => {
    assert.deepEqual(msgs(validateNamespace({ Type: 'Container', Resources: [{ Type: 'Endpoint', Data: { ID: 'x' } }] })), [
      'Type: "Container" is not one of Host, HostDefault, Guest, GuestDefault',
      'Resources[0].Data.ID: "x" is not a GUID (e.g. "9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10")',
    ]);
  });

  it('modify requests', () => {
    assert.deepEqual(msgs(validateNetworkModify(networkPolicyRequest('Add', [{ Type: 'HostRoute', Settings: {} }]))), []);
    assert.deepEqual(msgs(validateNetworkModify({ ResourceType: 'Route', RequestType: 'Add', Settings: {} })), [
      'ResourceType: "Route" is not one of Policy, DNS, Extension, Subnet, IPSubnet',
    ]);
    assert.deepEqual(
      msgs(validateEndpointModify(endpointPolicyRequest('Update', [{ Type: 'ACL', Settings: { Action: 'Allow', Direction: 'Up' } }]))),
      ['Settings.Policies[0].Settings.Direction: "Up" is not one of In, Out'],
    );
    assert.deepEqual(msgs(validateNamespaceModify(namespaceEndpointRequest('Add', G))), []);
    assert.deepEqual(msgs(validateNamespaceModify({ ResourceType: 'Endpoint', RequestType: 'Update', Settings: { EndpointId: 'e' } })), [
      'RequestType: "Update" is not supported for namespaces: use Add or Remove',
      'Settings.EndpointId: "e" is not a GUID (e.g. "9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10")',
    ]);
  });

  it('assertValid throws one error listing every issue', () => {
    assert.throws(
      () => assertValid('HostComputeNetwork', {}, validateNetwork({ Type: 'x', Flags: 'a' })),
      (e: unknown) =>
        e instanceof HcnValidationError &&
        e.issues.length === 2 &&
        /invalid HostComputeNetwork:\n {2}Flags: .*\n {2}Type: /.test(e.message),
    );
  });
});
