/**
 * JSON as HNS speaks it:
 * - integers beyond 2^53 (Health.LastUpdateTime, InterfaceLuid, Version) stay exact (src/net/json.ts);
 * - keys drift in case between HNS builds and between v1 and v2 (`ID`/`Id`, `IPAddress`/`IpAddress`):
 *   `normalizeKeys` rewrites known keys to the canonical spelling we send;
 * - enum strings drift too (`overlay`/`Overlay`): `canonicalNetworkType` fixes those.
 */
import { NETWORK_TYPES } from './network';
import { policySettingsKeys } from './policies';
import { getCI, parseHnsJson, stringifyHnsJson } from '../net/json';
import { sameId } from '../net/id';

export { getCI, parseHnsJson, stringifyHnsJson, sameId };

/**
 * Canonical spellings of keys HNS emits with drifting case. Lookup is by lower-cased key; keys not
 * listed keep their spelling (so unknown/new fields survive untouched).
 */
const CANONICAL_KEYS = [
  'ID',
  'Name',
  'Type',
  'Owner',
  'Version',
  'State',
  'Health',
  'SchemaVersion',
  'Major',
  'Minor',
  'Flags',
  'Policies',
  'Settings',
  'MacPool',
  'Ranges',
  'StartMacAddress',
  'EndMacAddress',
  'Dns',
  'Domain',
  'Search',
  'ServerList',
  'Options',
  'Ipams',
  'Subnets',
  'IpAddressPrefix',
  'Routes',
  'NextHop',
  'DestinationPrefix',
  'Metric',
  'IpSubnets',
  'HostComputeNetwork',
  'HostComputeNamespace',
  'IpConfigurations',
  'IpAddress',
  'PrefixLength',
  'IpSubnetId',
  'MacAddress',
  'HostComputeEndpoints',
  'SourceVIP',
  'FrontendVIPs',
  'PortMappings',
  'Protocol',
  'InternalPort',
  'ExternalPort',
  'DistributionType',
  'NamespaceId',
  'NamespaceGuid',
  'Resources',
  'Data',
  'ResourceType',
  'RequestType',
  'EndpointId',
  'ContainerId',
  'VirtualNetwork',
  'VirtualNetworkName',
  'IPAddress',
  'GatewayAddress',
  'AddressPrefix',
  'ManagementIP',
  'DNSServerList',
  'DNSSuffix',
  'NetworkAdapterName',
  'SharedContainers',
  'IsolationId',
  'ProviderAddress',
  'DistributedRouterMacAddress',
  'Exceptions',
  'ExceptionList',
  'Destinations',
  'VirtualIP',
  'VIP',
  'NeedEncap',
  'Success',
  'Error',
  'ErrorCode',
  'Output',
  'Filter',
  'Extra',
  'LayeredOn',
  'SwitchGuid',
  // Base and Health
  'AdditionalParams',
  'Telemetry',
  'LastUpdateTime',
  'UtilityVM',
  'VirtualMachine',
  // modify requests, namespaces, queries
  'ResourceUri',
  'SubnetId',
  'IsEnabled',
  'PortId',
  'VirtualNicName',
  'VirtualMachineId',
  'IsDefault',
  'CompartmentId',
  'SystemType',
  'ResourceList',
  // v1 fields (§8)
  'IPv6Address',
  'GatewayAddressV6',
  'IPv6PrefixLength',
  'IsRemoteEndpoint',
  'EnableLowMetric',
  'EnableInternalDNS',
  'DisableICC',
  'DNSDomain',
  'Namespace',
  'EncapOverhead',
  'References',
  'VIPs',
  'ILB',
  'IsDSR',
  'PA',
  'VSID',
  'VLAN',
  'MacPools',
  'DrMacAddress',
  'AutomaticDNS',
  'SourceMac',
  'DNSServerCompartment',
];
const CANONICAL_BY_LOWER = new Map(CANONICAL_KEYS.map((k) => [k.toLowerCase(), k]));
// Policy settings keys come from the registry; a document-level spelling (`ID`, not a policy's `Id`) wins.
for (const k of policySettingsKeys()) if (!CANONICAL_BY_LOWER.has(k.toLowerCase())) CANONICAL_BY_LOWER.set(k.toLowerCase(), k);

/**
 * Which schema a document belongs to, for the few keys whose canonical spelling depends on it:
 * v2 writes `IpAddress`, v1 `IPAddress`. 'auto' keeps whichever family the incoming spelling points to.
 */
export type KeyFlavor = 'v2' | 'v1' | 'auto';

/**
 * Objects under these keys spell their identifier `Id`, not `ID` (policy settings such as SetPolicy and
 * ACL, modify-request settings such as Extension, TierAcl rules); everywhere else HNS writes `ID`.
 */
const ID_SPELLED_ID_UNDER = new Set(['Settings', 'Policies', 'TierAclRules', 'FilterTuple']);

/** Returns a deep copy with known keys in canonical case (`Id` → `ID`, `ipaddress` → `IpAddress`/`IPAddress`). */
export function normalizeKeys<T = unknown>(value: T, flavor: KeyFlavor = 'auto'): T {
  return normalizeValue(value, flavor, 'ID') as T;
}

function normalizeValue(value: unknown, flavor: KeyFlavor, idSpelling: 'ID' | 'Id'): unknown {
  if (Array.isArray(value)) return value.map((v) => normalizeValue(v, flavor, idSpelling));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    let key = CANONICAL_BY_LOWER.get(k.toLowerCase()) ?? k;
    if (key === 'IPAddress') {
      // v1 IPAddress vs v2 IpAddress differ only by case.
      if (flavor === 'v2') key = 'IpAddress';
      else if (flavor === 'auto' && k[1] === 'p') key = 'IpAddress';
    } else if (key === 'ID') {
      key = idSpelling;
    }
    out[key] = normalizeValue(v, flavor, ID_SPELLED_ID_UNDER.has(key) ? 'Id' : 'ID');
  }
  return out;
}

/** `overlay` → `Overlay`, `l2bridge` → `L2Bridge`; missing Type means NAT (HNS omits the zero value). */
export function canonicalNetworkType(t: unknown): string {
  if (t === undefined || t === null || t === '') return 'NAT';
  if (typeof t === 'number') return NETWORK_TYPES[t] ?? String(t);
  const s = String(t);
  return NETWORK_TYPES.find((x) => x.toLowerCase() === s.toLowerCase()) ?? s;
}
