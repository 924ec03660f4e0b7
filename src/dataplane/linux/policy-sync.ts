/**
 * Policy realization: the endpoint policies of the state become one nft ruleset (ruleset.ts renders it, nft.ts
 * applies it); load balancers live in their own table, changed element by element (lb-nft.ts). Network
 * policies (RemoteSubnetRoute) are routes: realize-network.ts.
 */
import { EndpointFlags, policyTypeIs } from '../../hns';
import { applyRuleset, LIBNFTABLES } from './nft';
import { render, type RenderInput } from './ruleset';
import { syncLoadBalancerTable } from './lb-nft';
import { key, type EndpointRecord, type LinuxState } from './state';

/** Endpoint policies the nft renderer turns into rules (see ruleset.ts); every other type renders nothing. */
const NFT_POLICY_TYPES = ['OutBoundNAT', 'PortMapping', 'ACL'];

/**
 * Replaces the nft tables when the rendered ruleset changed (or always, with force). `changed` names the
 * only endpoint changed since the last applied ruleset: when nothing of it can appear in the ruleset (no
 * OutBoundNAT, PortMapping or ACL policy, no load balancer using it) the ruleset cannot have changed and
 * is not rendered at all (the render was ~1.5 ms of every pod ADD and DEL).
 */
export function syncRuleset(
  s: LinuxState,
  netns: string | undefined,
  env: NodeJS.ProcessEnv,
  force = false,
  changed?: EndpointRecord,
): void {
  if (force) syncLoadBalancerTable(s, netns, env, { force: true });
  else if (changed) syncLoadBalancerTable(s, netns, env, { only: loadBalancersUsing(s, changed) });
  else syncLoadBalancerTable(s, netns, env);
  if (!force && changed && s.ruleset !== undefined && !rendersAnything(changed)) return;
  const text = render(renderInput(s));
  if (!force && text === s.ruleset) return;
  applyRuleset(netns, text, env.SWITCHYARD_LIBNFTABLES || LIBNFTABLES);
  s.ruleset = text;
}

/** Whether `ep` (added, removed, attached or detached) contributes anything to the rendered ruleset. */
function rendersAnything(ep: EndpointRecord): boolean {
  return (ep.doc.Policies ?? []).some((p) => NFT_POLICY_TYPES.some((t) => policyTypeIs(p, t)));
}

/** The load balancers with `ep` among their backends (their endpoint chains follow its address). */
function loadBalancersUsing(s: LinuxState, ep: EndpointRecord): string[] {
  const id = key(ep.doc.ID ?? '');
  return Object.entries(s.loadBalancers)
    .filter(([, lb]) => (lb.HostComputeEndpoints ?? []).some((e) => key(e) === id))
    .map(([k]) => k);
}

/** What the nft renderer needs from the state: bridges and endpoints with their addresses. */
export function renderInput(s: LinuxState): RenderInput {
  const nets = s.networks;
  return {
    bridges: Object.values(nets)
      .filter((n) => n.bridge)
      .map((n) => ({ name: n.bridge!, subnet: n.subnet!, nat: n.type === 'NAT' })),
    endpoints: Object.values(s.endpoints)
      .filter((e) => ((e.doc.Flags ?? 0) & EndpointFlags.RemoteEndpoint) === 0)
      .map((e) => ({
        id: e.doc.ID!,
        ip: e.doc.IpConfigurations?.[0]?.IpAddress,
        veth: e.attached ? e.veth : undefined,
        bridge: nets[key(e.doc.HostComputeNetwork ?? '')]?.bridge,
        policies: e.doc.Policies ?? [],
      })),
  };
}
