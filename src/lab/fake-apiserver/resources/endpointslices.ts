/** EndpointSlice (discovery.k8s.io/v1, namespaced). */
import type { ResourceDef } from '../resource';

export const ENDPOINT_SLICES: ResourceDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  resource: 'endpointslices',
  kind: 'EndpointSlice',
  namespaced: true,
};
