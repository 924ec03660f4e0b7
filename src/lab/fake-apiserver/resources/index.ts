/** The resources a fake API server serves by default: one file per resource. */
import type { ResourceDef } from '../resource';
import { NODES } from './nodes';
import { SERVICES } from './services';
import { ENDPOINT_SLICES } from './endpointslices';
import { EVENTS } from './events';

export { NODES, SERVICES, ENDPOINT_SLICES, EVENTS };
export const DEFAULT_RESOURCES: ResourceDef[] = [NODES, SERVICES, ENDPOINT_SLICES, EVENTS];
