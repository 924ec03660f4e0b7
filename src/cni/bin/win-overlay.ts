#!/usr/bin/env node
/** Drop-in replacement for the reference win-overlay CNI plugin. */
import { runPlugin, SWITCHYARD_VERSION } from '../main';
import { windowsPlugin } from '../plugins/windows';

void runPlugin(windowsPlugin('win-overlay'), `CNI win-overlay plugin switchyard v${SWITCHYARD_VERSION}`);
