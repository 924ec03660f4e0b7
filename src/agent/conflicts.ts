/** How the agent words a desired object that exists with fields HNS cannot change in place (never recreated). */
import type { HostComputeNetwork } from '../hns/network';
import type { Conflict } from '../reconcile';

export function describeConflict(cf: Conflict, networks: HostComputeNetwork[], subnet: string, backend: string): string {
  if (cf.kind === 'Network') {
    const live = networks.find((n) => n.Name === cf.name);
    const prefix = live?.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix;
    const detail = cf.fields.map((f) =>
      f === 'Ipams'
        ? `Ipams (it has subnet ${prefix ?? 'none'}, this node's is ${subnet})`
        : f === 'Type'
          ? `Type (it is ${live?.Type}, the backend needs ${backend === 'vxlan' ? 'Overlay' : 'L2Bridge'})`
          : f,
    );
    return `network ${cf.name} (${cf.id}) exists and differs in ${detail.join(', ')}: not recreated (pods may be using it); delete it or fix the node's configuration`;
  }
  return `${cf.kind.toLowerCase()} ${cf.name ?? cf.key} (${cf.id}) exists and differs in ${cf.fields.join(', ')}`;
}
