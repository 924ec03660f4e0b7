/**
 * The policy registry: every HCN policy type the project knows, one descriptor per file in this folder.
 * The structural validator, the emulator, the feature table, the v1 converters, the JSON key normalizer and
 * the CLI all read it, so they cannot disagree. A new policy type is one file here plus one line in the
 * list(s) of the scopes it belongs to below, then its realization in the data planes that support it
 * (docs/hcn-model.md, "Policy registry").
 */
import type { PolicyDescriptor, PolicyScope } from './descriptor';
import { acl } from './acl';
import { automaticDns } from './automatic-dns';
import { drMacAddress } from './dr-mac-address';
import { encapOverhead } from './encap-overhead';
import { encryption } from './encryption';
import { hostRoute } from './host-route';
import { interfaceConstraint } from './interface-constraint';
import { interfaceParameters } from './interface-parameters';
import { iov } from './iov';
import { vlan, vsid } from './isolation';
import { l2Driver } from './l2-driver';
import { l4Proxy } from './l4-proxy';
import { l4WfpProxy } from './l4-wfp-proxy';
import { layerConstraint } from './layer-constraint';
import { netAdapterName } from './net-adapter-name';
import { networkAcl } from './network-acl';
import { outboundNat } from './outbound-nat';
import { portMapping } from './port-mapping';
import { portName } from './port-name';
import { providerAddress } from './provider-address';
import { qos } from './qos';
import { remoteSubnetRoute } from './remote-subnet-route';
import { sdnRoute } from './sdn-route';
import { setPolicy } from './set-policy';
import { sourceMacAddress } from './source-mac-address';
import { tierAcl } from './tier-acl';
import { vswitchExtension } from './vswitch-extension';
import { vxlanPort } from './vxlan-port';

export type { FeatureNeed, HnsRefusal, PolicyDescriptor, PolicyScope, V1Form, V1NetworkField } from './descriptor';
export { gatingFeature, settingsOf } from './descriptor';

/** Network policy types, in the order messages list them (docs/hcn-model.md). */
export const NETWORK_POLICIES: readonly PolicyDescriptor[] = [
  sourceMacAddress,
  netAdapterName,
  interfaceConstraint,
  vswitchExtension,
  providerAddress,
  drMacAddress,
  automaticDns,
  remoteSubnetRoute,
  vxlanPort,
  hostRoute,
  setPolicy,
  l4Proxy,
  layerConstraint,
  networkAcl,
];

/** Endpoint policy types (docs/hcn-model.md). */
export const ENDPOINT_POLICIES: readonly PolicyDescriptor[] = [
  portMapping,
  acl,
  qos,
  l2Driver,
  outboundNat,
  sdnRoute,
  l4Proxy,
  l4WfpProxy,
  portName,
  encapOverhead,
  iov,
  providerAddress,
  interfaceConstraint,
  tierAcl,
  vlan,
  interfaceParameters,
  encryption,
];

/** Subnet policy types (isolation). */
export const SUBNET_POLICIES: readonly PolicyDescriptor[] = [vsid, vlan];

/** v1 networks carry these network policies as top-level fields, in this order (HNS's GET output). */
export const V1_NETWORK_FIELD_POLICIES: readonly PolicyDescriptor[] = [
  netAdapterName,
  providerAddress,
  drMacAddress,
  sourceMacAddress,
  automaticDns,
];

const BY_SCOPE: Record<PolicyScope, readonly PolicyDescriptor[]> = {
  network: NETWORK_POLICIES,
  endpoint: ENDPOINT_POLICIES,
  subnet: SUBNET_POLICIES,
};

function index(list: readonly PolicyDescriptor[], key: (d: PolicyDescriptor) => string | undefined): Map<string, PolicyDescriptor> {
  const m = new Map<string, PolicyDescriptor>();
  for (const d of list) {
    const k = key(d);
    if (k !== undefined) m.set(k.toLowerCase(), d);
  }
  return m;
}
const BY_TYPE: Record<PolicyScope, Map<string, PolicyDescriptor>> = {
  network: index(NETWORK_POLICIES, (d) => d.type),
  endpoint: index(ENDPOINT_POLICIES, (d) => d.type),
  subnet: index(SUBNET_POLICIES, (d) => d.type),
};
const BY_V1_TYPE: Record<'endpoint' | 'subnet', Map<string, PolicyDescriptor>> = {
  endpoint: index(ENDPOINT_POLICIES, (d) => d.v1?.type),
  subnet: index(SUBNET_POLICIES, (d) => d.v1?.type),
};

/** The descriptors of a scope, in message order. */
export function policiesOf(scope: PolicyScope): readonly PolicyDescriptor[] {
  return BY_SCOPE[scope];
}

/** The type names of a scope, hcsshim's spelling, in message order. */
export function policyTypesOf(scope: PolicyScope): string[] {
  return BY_SCOPE[scope].map((d) => d.type);
}

/** The descriptor of a policy type in a scope (matched case-insensitively, as HNS does). */
export function policyDescriptor(scope: PolicyScope, type: unknown): PolicyDescriptor | undefined {
  return typeof type === 'string' ? BY_TYPE[scope].get(type.toLowerCase()) : undefined;
}

/** The descriptor whose v1 form has this v1 Type (`NAT`, `PA`, `ROUTE`, ...). */
export function policyDescriptorByV1Type(scope: 'endpoint' | 'subnet', v1Type: unknown): PolicyDescriptor | undefined {
  return typeof v1Type === 'string' ? BY_V1_TYPE[scope].get(v1Type.toLowerCase()) : undefined;
}

/** Every settings key whose spelling the registry canonicalizes. */
export function policySettingsKeys(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(BY_SCOPE)) for (const d of list) for (const k of d.keys) out.add(k);
  return [...out];
}
