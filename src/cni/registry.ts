/**
 * The CNI plugins Switchyard answers for, by the name a runtime invokes them as. The standalone
 * entrypoints (src/cni/bin) and the agent's in-process executor (src/cni/exec.ts) both resolve plugins
 * here, so the two routes run the same handlers with the same "about" text.
 */
import type { PluginFuncs } from './protocol/skel';
import { windowsPlugin } from './plugins/windows';
import { switchyardPlugin } from './plugins/switchyard';
import { ipamPlugin } from './ipam/plugin';
import { SWITCHYARD_VERSION } from './main';

export interface RegisteredPlugin {
  funcs(): PluginFuncs;
  about: string;
}

export const PLUGINS: Readonly<Record<string, RegisteredPlugin>> = {
  'win-bridge': { funcs: () => windowsPlugin('win-bridge'), about: `CNI win-bridge plugin switchyard v${SWITCHYARD_VERSION}` },
  'win-overlay': { funcs: () => windowsPlugin('win-overlay'), about: `CNI win-overlay plugin switchyard v${SWITCHYARD_VERSION}` },
  switchyard: { funcs: switchyardPlugin, about: `CNI switchyard plugin v${SWITCHYARD_VERSION}` },
  'switchyard-ipam': { funcs: ipamPlugin, about: `CNI switchyard-ipam plugin v${SWITCHYARD_VERSION}` },
};

export function lookupPlugin(name: string): RegisteredPlugin | undefined {
  return Object.prototype.hasOwnProperty.call(PLUGINS, name) ? PLUGINS[name] : undefined;
}
