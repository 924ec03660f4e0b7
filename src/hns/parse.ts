/**
 * Reading HCN documents as HNS (or a user) writes them: bigint-safe JSON, key casing drift (`Id`/`ID`,
 * `ipaddress`/`IpAddress`), enum drift (`overlay`, `SDNROUTE`), and NAT networks whose `Type` HNS omits.
 * The result uses the spellings Switchyard sends, so code above can compare fields strictly.
 */
import { parseHnsJson, normalizeKeys, canonicalNetworkType } from './json';
import { describeValue } from './policies/checker';

export { describeValue };
import { NETWORK_POLICY_TYPES, ENDPOINT_POLICY_TYPES, SUBNET_POLICY_TYPES } from './policy';
import { NAMESPACE_TYPES, type HostComputeNamespace } from './namespace';
import { NETWORK_TYPES, type HostComputeNetwork } from './network';
import type { HostComputeEndpoint } from './endpoint';
import type { HostComputeLoadBalancer } from './loadbalancer';
import type { HnsV1Endpoint, HnsV1Network } from './v1';

export class HcnParseError extends Error {
  /** Field path the problem is at ('' = the document itself). */
  readonly path: string;
  constructor(what: string, message: string, path = '') {
    super(`${what}${path ? ' ' + path : ''}: ${message}`);
    this.name = 'HcnParseError';
    this.path = path;
  }
}

export type HcnKind = 'Network' | 'Endpoint' | 'Namespace' | 'LoadBalancer';
export const HCN_KINDS: readonly HcnKind[] = ['Network', 'Endpoint', 'Namespace', 'LoadBalancer'];

type Rec = Record<string, unknown>;

function toObject(input: unknown, what: string): Rec {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseHnsJson(input);
    } catch (e) {
      throw new HcnParseError(what, `not valid JSON (${(e as Error).message})`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HcnParseError(what, `expected a JSON object, got ${describeValue(value)}`);
  }
  return value as Rec;
}

function toArray(input: unknown, what: string): unknown[] {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseHnsJson(input);
    } catch (e) {
      throw new HcnParseError(what, `not valid JSON (${(e as Error).message})`);
    }
  }
  if (!Array.isArray(value)) throw new HcnParseError(what, `expected a JSON array, got ${describeValue(value)}`);
  return value;
}

function canonicalEnum(value: unknown, known: readonly string[]): unknown {
  if (typeof value !== 'string') return value;
  const lower = value.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower) ?? value;
}

/** HNS matches policy types case-insensitively; we keep hcsshim's spelling so callers can compare strictly. */
function canonicalPolicies(policies: unknown, known: readonly string[]): void {
  if (!Array.isArray(policies)) return;
  for (const p of policies) {
    if (p && typeof p === 'object' && 'Type' in p) (p as Rec).Type = canonicalEnum((p as Rec).Type, known);
  }
}

function normalizeV2(obj: Rec): Rec {
  return normalizeKeys(obj, 'v2');
}

export function parseNetwork(input: unknown): HostComputeNetwork {
  const doc = normalizeV2(toObject(input, 'HostComputeNetwork'));
  doc.Type = canonicalNetworkType(doc.Type);
  canonicalPolicies(doc.Policies, NETWORK_POLICY_TYPES);
  if (Array.isArray(doc.Ipams)) {
    for (const ipam of doc.Ipams as Rec[]) {
      if (!ipam || typeof ipam !== 'object') continue;
      ipam.Type = canonicalEnum(ipam.Type, ['Static', 'Dhcp']);
      if (Array.isArray(ipam.Subnets))
        for (const s of ipam.Subnets as Rec[]) if (s && typeof s === 'object') canonicalPolicies(s.Policies, SUBNET_POLICY_TYPES);
    }
  }
  return doc as HostComputeNetwork;
}

export function parseEndpoint(input: unknown): HostComputeEndpoint {
  const doc = normalizeV2(toObject(input, 'HostComputeEndpoint'));
  canonicalPolicies(doc.Policies, ENDPOINT_POLICY_TYPES);
  return doc as HostComputeEndpoint;
}

export function parseNamespace(input: unknown): HostComputeNamespace {
  const doc = normalizeV2(toObject(input, 'HostComputeNamespace'));
  if (doc.Type !== undefined) doc.Type = canonicalEnum(doc.Type, NAMESPACE_TYPES);
  if (Array.isArray(doc.Resources)) {
    for (const r of doc.Resources as Rec[]) if (r && typeof r === 'object') r.Type = canonicalEnum(r.Type, ['Container', 'Endpoint']);
  }
  return doc as HostComputeNamespace;
}

export function parseLoadBalancer(input: unknown): HostComputeLoadBalancer {
  return normalizeV2(toObject(input, 'HostComputeLoadBalancer')) as HostComputeLoadBalancer;
}

export const parseNetworks = (input: unknown): HostComputeNetwork[] => toArray(input, 'HostComputeNetwork list').map(parseNetwork);

/** v1 (HNSCall) network: keys in v1 spelling (`IPAddress`), Type canonical. */
export function parseV1Network(input: unknown): HnsV1Network {
  const doc = normalizeKeys(toObject(input, 'HNS v1 network'), 'v1');
  doc.Type = canonicalNetworkType(doc.Type);
  return doc as HnsV1Network;
}

export function parseV1Endpoint(input: unknown): HnsV1Endpoint {
  return normalizeKeys(toObject(input, 'HNS v1 endpoint'), 'v1') as HnsV1Endpoint;
}

const PARSERS: Record<HcnKind, (x: unknown) => object> = {
  Network: parseNetwork,
  Endpoint: parseEndpoint,
  Namespace: parseNamespace,
  LoadBalancer: parseLoadBalancer,
};

/** Accepted spellings of the `Kind` key in documents given to `switchyard apply` (case-insensitive). */
const KIND_ALIASES: Record<string, HcnKind> = {
  network: 'Network',
  hostcomputenetwork: 'Network',
  endpoint: 'Endpoint',
  hostcomputeendpoint: 'Endpoint',
  namespace: 'Namespace',
  hostcomputenamespace: 'Namespace',
  loadbalancer: 'LoadBalancer',
  hostcomputeloadbalancer: 'LoadBalancer',
  lb: 'LoadBalancer',
};

export function kindFromName(name: string): HcnKind | undefined {
  return KIND_ALIASES[name.toLowerCase()];
}

/**
 * Which HCN resource a document is. An explicit `Kind` wins; otherwise the fields decide:
 * load balancers carry PortMappings/FrontendVIPs/HostComputeEndpoints, endpoints IpConfigurations or
 * HostComputeNetwork, namespaces Resources/NamespaceId or a namespace Type, networks Ipams or a network Type.
 */
export function detectKind(obj: Rec): HcnKind | undefined {
  const keys = new Map(Object.keys(obj).map((k) => [k.toLowerCase(), k]));
  const kindKey = keys.get('kind');
  if (kindKey !== undefined) return typeof obj[kindKey] === 'string' ? kindFromName(obj[kindKey] as string) : undefined;
  const has = (k: string) => keys.has(k.toLowerCase());
  if (has('PortMappings') || has('FrontendVIPs') || has('HostComputeEndpoints') || has('SourceVIP')) return 'LoadBalancer';
  if (has('IpConfigurations') || has('HostComputeNetwork') || has('MacAddress')) return 'Endpoint';
  if (has('Resources') || has('NamespaceId') || has('NamespaceGuid')) return 'Namespace';
  if (has('Ipams') || has('MacPool')) return 'Network';
  const typeKey = keys.get('type');
  const type = typeKey !== undefined ? obj[typeKey] : undefined;
  if (typeof type === 'string') {
    if (NAMESPACE_TYPES.some((t) => t.toLowerCase() === type.toLowerCase())) return 'Namespace';
    if (NETWORK_TYPES.some((t) => t.toLowerCase() === type.toLowerCase())) return 'Network';
  }
  return undefined;
}

export interface KindedDocument {
  kind: HcnKind;
  doc: HostComputeNetwork | HostComputeEndpoint | HostComputeNamespace | HostComputeLoadBalancer;
}

/** Parses one document of any kind; the `Kind` key (ours, not HNS's) is removed from the result. */
export function parseDocument(input: unknown, where = 'document'): KindedDocument {
  const obj = toObject(input, where);
  const kind = detectKind(obj);
  if (!kind) {
    const kindKey = Object.keys(obj).find((k) => k.toLowerCase() === 'kind');
    if (kindKey !== undefined) {
      throw new HcnParseError(where, `Kind ${describeValue(obj[kindKey])} is not one of ${HCN_KINDS.join(', ')}`, 'Kind');
    }
    throw new HcnParseError(where, `cannot tell which HCN resource this is: add "Kind": one of ${HCN_KINDS.join(', ')}`);
  }
  const rest: Rec = {};
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() !== 'kind') rest[k] = v;
  return { kind, doc: PARSERS[kind](rest) as KindedDocument['doc'] };
}
