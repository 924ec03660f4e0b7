/** EncapOverhead (endpoint): bytes of encapsulation overhead (v1 carries it as the endpoint's EncapOverhead field). */
import type { PolicyDescriptor } from './descriptor';
import { UINT16, at } from './checker';

export interface EncapOverheadSettings {
  Overhead: number;
}

export const encapOverhead: PolicyDescriptor = {
  type: 'EncapOverhead',
  keys: ['Overhead'],
  check: (c, p, s) => c.integer(at(p, 'Overhead'), s.Overhead, 0, UINT16),
};
