/** HostRoute (network, HNS ≥ 9.2): host ↔ local pod connectivity on Overlay; Settings must be `{}`. */
import type { PolicyDescriptor } from './descriptor';

export type HostRouteSettings = Record<string, never>;

export const hostRoute: PolicyDescriptor = {
  type: 'HostRoute',
  keys: [],
  feature: 'HostRoute',
  check: (c, p, s) => {
    if (Object.keys(s).length > 0) c.add(p, 'HostRoute settings must be an empty object {}');
  },
  hnsCheck: (s, refuse) => {
    if (Object.keys(s).length) refuse.invalid('Settings must be an empty object');
  },
};
