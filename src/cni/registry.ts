/**
 * The CNI plugins Switchyard answers for, by the name a runtime invokes them as. The standalone
 * entrypoints (src/cni/bin) and the agent's in-process executor (src/cni/exec.ts) both resolve plugins
 * here, so the two routes run the same handlers with the same "about" text.
 */
import type { PluginFuncs } from './protocol/skel';
import { winBridgePlugin } from './plugins/win-bridge';
import { winOverlayPlugin } from './plugins/win-overlay';
import { switchyardPlugin } from './plugins/switchyard';
import { ipamPlugin } from './ipam/plugin';
import { SWITCHYARD_VERSION } from './main';

export interface RegisteredPlugin {
  funcs(): PluginFuncs;
  about: string;
}

export const PLUGINS: Readonly<Record<string, RegisteredPlugin>> = {
  'win-bridge': { funcs: winBridgePlugin, about: `CNI win-bridge plugin switchyard v${SWITCHYARD_VERSION}` },
  'win-overlay': { funcs: winOverlayPlugin, about: `CNI win-overlay plugin switchyard v${SWITCHYARD_VERSION}` },
  switchyard: { funcs: switchyardPlugin, about: `CNI switchyard plugin v${SWITCHYARD_VERSION}` },
  'switchyard-ipam': { funcs: ipamPlugin, about: `CNI switchyard-ipam plugin v${SWITCHYARD_VERSION}` },
};

export function lookupPlugin(name: string): RegisteredPlugin | undefined {
  return Object.prototype.hasOwnProperty.call(PLUGINS, name) ? PLUGINS[name] : undefined;
}
