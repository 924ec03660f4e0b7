/** Service (core/v1, namespaced). */
import type { ResourceDef } from '../resource';

export const SERVICES: ResourceDef = { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true };
