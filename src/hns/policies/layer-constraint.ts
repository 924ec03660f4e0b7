/** LayerConstraint (network): layers the network over an existing external switch. */
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface LayerConstraintSettings {
  LayerId: string;
}

export const layerConstraint: PolicyDescriptor = {
  type: 'LayerConstraint',
  keys: ['LayerId'],
  check: (c, p, s) => c.guid(at(p, 'LayerId'), s.LayerId),
};
