/**
 * Feature analysis of HCN documents (pure): which HNS features a network, endpoint, load balancer or modify
 * request needs, read from the documents and the policy registry. The Windows data planes refuse a request the
 * host's HNS version cannot honour before it reaches HNS, with a message naming the HNS version and, where
 * known, the Windows build that has it.
 */
import type { HostComputeEndpoint } from './endpoint';
import type { HostComputeLoadBalancer } from './loadbalancer';
import type { HostComputeNetwork } from './network';
import { HRESULT, HnsError } from './errors';
import { findPolicies } from './policy';
import { gatingFeature, policiesOf, policyDescriptor, settingsOf, type FeatureNeed, type PolicyScope } from './policies';
import { LoadBalancerDistribution, LoadBalancerFlags } from './loadbalancer';
import { NetworkFlags } from './network';
import type { ModifyEndpointRequest, ModifyNetworkRequest } from './modify';
import { FEATURE_RANGES, HNS_VERSION_ANCHORS, compareVersions, formatVersion, supports, type HnsFeature, type HnsVersion } from './version';

export type { FeatureNeed };

/** "9.3–9.x or ≥ 10.2" from the feature's version ranges. */
export function describeRanges(feature: HnsFeature): string {
  const parts = FEATURE_RANGES[feature].map((r: { min: HnsVersion; max?: HnsVersion }) => {
    if (!r.max) return `≥ ${formatVersion(r.min)}`;
    const maxText = r.max.Minor >= Number.MAX_SAFE_INTEGER ? `${r.max.Major}.x` : formatVersion(r.max);
    return `${formatVersion(r.min)}–${maxText}`;
  });
  return parts.join(' or ');
}

/**
 * Which Windows has the feature, from the known anchors only (docs/hcn-model.md, "Versions": there is no authoritative map
 * of HNS 12–15 to builds, so nothing is guessed): the anchor itself when it is exactly the first version
 * with the feature, else the anchors on either side of it.
 */
export function windowsFor(feature: HnsFeature): string {
  const min = FEATURE_RANGES[feature][0].min;
  const exact = HNS_VERSION_ANCHORS.find((a) => compareVersions(a.version, min) === 0);
  if (exact) return exact.windows;
  const below = [...HNS_VERSION_ANCHORS].reverse().find((a) => compareVersions(a.version, min) < 0);
  const above = HNS_VERSION_ANCHORS.find((a) => compareVersions(a.version, min) > 0);
  const parts: string[] = [];
  if (below) parts.push(`${below.windows} has HNS ${formatVersion(below.version)}`);
  parts.push(
    above ? `${above.windows} has HNS ${formatVersion(above.version)}` : 'no published map of newer HNS versions to Windows builds',
  );
  return `a build whose HNS is at least ${formatVersion(min)} (${parts.join('; ')})`;
}

export function unsupportedError(version: HnsVersion, need: FeatureNeed, call?: string, subject?: string): HnsError {
  return new HnsError(
    HRESULT.HCN_E_REQUEST_UNSUPPORTED,
    `${need.what} needs HNS ${describeRanges(need.feature)} (${need.feature}; Windows: ${windowsFor(need.feature)}); this host runs HNS ${formatVersion(version)}`,
    { call, subject },
    'unsupported',
  );
}

export function requireFeatures(version: HnsVersion, needs: FeatureNeed[], call?: string, subject?: string): void {
  for (const need of needs) {
    if (!supports(version, need.feature)) throw unsupportedError(version, need, call, subject);
  }
}

/** Features a policy list needs, from the registry: each type's own feature, then what particular settings need. */
function policyNeeds(scope: PolicyScope, policies: { Type?: unknown; Settings?: unknown }[] | undefined): FeatureNeed[] {
  const out: FeatureNeed[] = [];
  const present = policiesOf(scope).filter((d) => findPolicies(policies, d.type).length);
  for (const d of present) {
    const feature = gatingFeature(d, scope);
    if (feature) out.push({ feature, what: `${d.type} policy` });
  }
  for (const p of policies ?? []) out.push(...(policyDescriptor(scope, p.Type)?.needs?.(settingsOf(p)) ?? []));
  return out;
}

const networkPolicyNeeds = (policies: { Type?: unknown; Settings?: unknown }[] | undefined) => policyNeeds('network', policies);
const endpointPolicyNeeds = (policies: { Type?: unknown; Settings?: unknown }[] | undefined) => policyNeeds('endpoint', policies);

export function networkNeeds(doc: HostComputeNetwork): FeatureNeed[] {
  const out = networkPolicyNeeds(doc.Policies);
  if (((doc.Flags ?? 0) & NetworkFlags.DisableHostPort) !== 0)
    out.push({ feature: 'DisableHostPort', what: 'network flag DisableHostPort' });
  const prefixes = (doc.Ipams ?? []).flatMap((i) => i.Subnets ?? []).map((s) => s.IpAddressPrefix ?? '');
  if (prefixes.some((p) => p.includes(':')) && prefixes.some((p) => p.includes('.'))) {
    out.push({ feature: 'IPv6DualStack', what: 'a dual-stack network (IPv4 and IPv6 subnets)' });
  }
  return out;
}

export function networkRequestNeeds(req: ModifyNetworkRequest): FeatureNeed[] {
  if (req.ResourceType !== 'Policy' || req.RequestType === 'Remove') return [];
  return networkPolicyNeeds((req.Settings as { Policies?: { Type?: unknown }[] }).Policies);
}

export function endpointNeeds(doc: HostComputeEndpoint): FeatureNeed[] {
  const out = endpointPolicyNeeds(doc.Policies);
  const ips = (doc.IpConfigurations ?? []).map((c) => c.IpAddress ?? '');
  if (ips.some((ip) => ip.includes(':')) && ips.some((ip) => ip.includes('.'))) {
    out.push({ feature: 'IPv6DualStack', what: 'a dual-stack endpoint (IPv4 and IPv6 addresses)' });
  }
  return out;
}

export function endpointRequestNeeds(req: ModifyEndpointRequest): FeatureNeed[] {
  if (req.ResourceType !== 'Policy' || req.RequestType === 'Remove') return [];
  return endpointPolicyNeeds((req.Settings as { Policies?: { Type?: unknown }[] }).Policies);
}

export function loadBalancerNeeds(doc: HostComputeLoadBalancer): FeatureNeed[] {
  const out: FeatureNeed[] = [];
  const flags = doc.Flags ?? 0;
  if (flags & LoadBalancerFlags.EnableDirectServerReturn)
    out.push({ feature: 'DSR', what: 'a DSR load balancer (Flags EnableDirectServerReturn)' });
  if (flags & LoadBalancerFlags.IPv6) out.push({ feature: 'IPv6DualStack', what: 'an IPv6 load balancer (Flags IPv6)' });
  if ((doc.PortMappings ?? []).some((m) => m.DistributionType === LoadBalancerDistribution.SourceIP)) {
    out.push({ feature: 'SessionAffinity', what: 'session affinity (DistributionType SourceIP)' });
  }
  return out;
}
