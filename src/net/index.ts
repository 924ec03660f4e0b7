/** Network primitives shared by every layer: IP/CIDR math, MACs, GUIDs and IDs, uint64-safe JSON. Pure. */
export * from './ip';
export * from './mac';
export * from './id';
export * from './json';
