/** Encryption (endpoint, HNS_Schema 2.1): no settings are documented; any object is accepted. */
import type { PolicyDescriptor } from './descriptor';

export const encryption: PolicyDescriptor = { type: 'Encryption', keys: [] };
