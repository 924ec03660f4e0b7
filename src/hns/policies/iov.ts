/** Iov (endpoint, schema 2.9): SR-IOV offload. */
import type { PolicyDescriptor } from './descriptor';
import { UINT32, at } from './checker';

export interface IovSettings {
  IovOffloadWeight?: number;
  QueuePairsRequested?: number;
  InterruptModeration?: number;
}

export const iov: PolicyDescriptor = {
  type: 'Iov',
  keys: ['IovOffloadWeight', 'QueuePairsRequested', 'InterruptModeration'],
  check: (c, p, s) => {
    for (const k of ['IovOffloadWeight', 'QueuePairsRequested', 'InterruptModeration'] as const) {
      if (s[k] !== undefined) c.integer(at(p, k), s[k], 0, UINT32);
    }
  },
};
