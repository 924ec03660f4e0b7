/** PortName (endpoint). */
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface PortNameSettings {
  Name: string;
}

export const portName: PolicyDescriptor = {
  type: 'PortName',
  keys: ['Name'],
  check: (c, p, s) => void c.string(at(p, 'Name'), s.Name, true),
};
