#!/usr/bin/env node
/** Drop-in replacement for the reference win-bridge CNI plugin. */
import { runPlugin, SWITCHYARD_VERSION } from '../main';
import { windowsPlugin } from '../plugins/windows';

void runPlugin(windowsPlugin('win-bridge'), `CNI win-bridge plugin switchyard v${SWITCHYARD_VERSION}`);
