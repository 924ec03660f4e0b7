/** HostComputeNamespace (HCN v2); see docs/hcn-model.md. */
import type { HcnBase } from './schema';

export const NAMESPACE_TYPES = ['Host', 'HostDefault', 'Guest', 'GuestDefault'] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export interface NamespaceResource {
  Type: 'Container' | 'Endpoint';
  Data: { ID?: string; Id?: string; [k: string]: unknown };
}

export interface HostComputeNamespace extends HcnBase {
  NamespaceId?: number;
  NamespaceGuid?: string;
  Type?: NamespaceType | string;
  Resources?: NamespaceResource[];
}
