#!/usr/bin/env node
/** host-local compatible IPAM (same store, same lock) with GC and STATUS. */
import { runPlugin, SWITCHYARD_VERSION } from '../main';
import { ipamPlugin } from '../ipam/plugin';

void runPlugin(ipamPlugin(), `CNI switchyard-ipam plugin v${SWITCHYARD_VERSION}`);
