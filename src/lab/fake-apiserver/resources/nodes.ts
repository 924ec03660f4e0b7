/** Node (core/v1, cluster-scoped): podCIDR immutability as the real server validates it. */
import type { Obj, ResourceDef } from '../resource';

/** A node's podCIDR(s) are immutable once set, as on the real server. */
export const validateNode = (next: Obj, prev: Obj | undefined): string | undefined => {
  const was = prev?.spec?.podCIDR;
  if (was && next.spec?.podCIDR !== was) return `spec.podCIDR: Forbidden: node updates may not change podCIDR except from "" to valid`;
  const wasList = prev?.spec?.podCIDRs;
  if (wasList?.length && JSON.stringify(next.spec?.podCIDRs ?? []) !== JSON.stringify(wasList))
    return 'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid';
  return undefined;
};

export const NODES: ResourceDef = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false, validate: validateNode };
