/**
 * --policy flags: HCN v2 policies as JSON (types spelled as the registry spells them, src/hns/policies/), and
 * the HNS feature each policy type needs, so a host that lacks it is told so before anything is sent.
 */
import type { Command } from 'commander';
import { parseHnsJson } from '../hns/json';
import { parseEndpoint, parseNetwork } from '../hns/parse';
import type { EndpointPolicy, NetworkPolicy } from '../hns/policy';
import { policyDescriptor } from '../hns/policies';
import { supports, minimumVersion, formatVersion, type HnsVersion } from '../hns/version';
import { UsageError } from './errors';

export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The registry's example of the policy type the help shows for each kind. */
function example(kind: 'network' | 'endpoint'): string {
  const d = policyDescriptor(kind, kind === 'network' ? 'RemoteSubnetRoute' : 'OutBoundNAT')!;
  return JSON.stringify({ Type: d.type, Settings: d.example });
}
const EXAMPLES = { network: example('network'), endpoint: example('endpoint') };

/** Each --policy is one `{Type, Settings}` object or an array of them; types come back in hcsshim's spelling. */
export function policiesFromFlags(values: string[] | undefined, kind: 'network'): NetworkPolicy[];
export function policiesFromFlags(values: string[] | undefined, kind: 'endpoint'): EndpointPolicy[];
export function policiesFromFlags(values: string[] = [], kind: 'network' | 'endpoint'): (NetworkPolicy | EndpointPolicy)[] {
  const out: (NetworkPolicy | EndpointPolicy)[] = [];
  values.forEach((text, i) => {
    const which = values.length > 1 ? `--policy #${i + 1}` : '--policy';
    let v: unknown;
    try {
      v = parseHnsJson(text);
    } catch (e) {
      throw new UsageError(`${which}: not valid JSON (${(e as Error).message}); give e.g. '${EXAMPLES[kind]}'`);
    }
    for (const p of Array.isArray(v) ? v : [v]) {
      if (p === null || typeof p !== 'object' || Array.isArray(p))
        throw new UsageError(`${which}: each policy must be a JSON object {"Type": ..., "Settings": {...}}`);
      const parsed = kind === 'network' ? parseNetwork({ Policies: [p] }).Policies : parseEndpoint({ Policies: [p] }).Policies;
      out.push(...(parsed ?? []));
    }
  });
  return out;
}

export function requirePolicyFeatures(version: HnsVersion, policies: { Type: string }[]): void {
  for (const p of policies) {
    const feature = (policyDescriptor('network', p.Type) ?? policyDescriptor('endpoint', p.Type))?.feature;
    if (feature && !supports(version, feature)) {
      throw new UsageError(
        `--policy: ${p.Type} needs HNS ${formatVersion(minimumVersion(feature))} or later (feature ${feature}); this host runs HNS ${formatVersion(version)}`,
      );
    }
  }
}

export function policyOption(cmd: Command, kind: 'network' | 'endpoint', required: boolean): Command {
  const desc = `${kind} policy as HCN v2 JSON, e.g. '${EXAMPLES[kind]}' (repeatable; a JSON array is several)`;
  return required ? cmd.requiredOption('--policy <json>', desc, collect) : cmd.option('--policy <json>', desc, collect);
}
