#!/usr/bin/env node
/** Drop-in replacement for the reference win-bridge CNI plugin. */
import { runPlugin, SWITCHYARD_VERSION } from '../main';
import { winBridgePlugin } from '../plugins/win-bridge';

void runPlugin(winBridgePlugin(), `CNI win-bridge plugin switchyard v${SWITCHYARD_VERSION}`);
