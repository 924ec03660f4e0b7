#!/usr/bin/env node
/** Drop-in replacement for the reference win-overlay CNI plugin. */
import { runPlugin, SWITCHYARD_VERSION } from '../main';
import { winOverlayPlugin } from '../plugins/win-overlay';

void runPlugin(winOverlayPlugin(), `CNI win-overlay plugin switchyard v${SWITCHYARD_VERSION}`);
