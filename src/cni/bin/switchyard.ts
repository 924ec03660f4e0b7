#!/usr/bin/env node
/** The switchyard CNI type: one engine, explicit mode (l2bridge, overlay, transparent), Windows and Linux. */
import { runPlugin, SWITCHYARD_VERSION } from '../main';
import { switchyardPlugin } from '../plugins/switchyard';

void runPlugin(switchyardPlugin(), `CNI switchyard plugin v${SWITCHYARD_VERSION}`);
