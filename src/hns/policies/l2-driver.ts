/** L2Driver (endpoint): no settings structure in hcsshim or HNS_Schema; settings pass through. */
import type { PolicyDescriptor } from './descriptor';
import { wrap } from './v1-form';

export const l2Driver: PolicyDescriptor = {
  type: 'L2Driver',
  keys: [],
  v1: { type: 'L2Driver', toV2: (p) => ({ Type: 'L2Driver', Settings: wrap(p).Settings }) },
};
