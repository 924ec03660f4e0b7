/** QOS (endpoint): outgoing bandwidth cap in bytes per second (uint64). */
import { getCI } from '../../net/json';
import type { Uint64 } from '../schema';
import type { PolicyDescriptor } from './descriptor';
import { UINT64, at } from './checker';
import { clean } from './v1-form';

export interface QosSettings {
  MaximumOutgoingBandwidthInBytes: Uint64;
}

export const qos: PolicyDescriptor = {
  type: 'QOS',
  keys: ['MaximumOutgoingBandwidthInBytes'],
  check: (c, p, s) => c.integer(at(p, 'MaximumOutgoingBandwidthInBytes'), s.MaximumOutgoingBandwidthInBytes, 0, UINT64),
  v1: {
    type: 'QOS',
    toV2: (p) => ({ Type: 'QOS', Settings: clean({ MaximumOutgoingBandwidthInBytes: getCI(p, 'MaximumOutgoingBandwidthInBytes') }) }),
    toV1: (s) => clean({ Type: 'QOS', MaximumOutgoingBandwidthInBytes: getCI(s, 'MaximumOutgoingBandwidthInBytes') }),
  },
};
