/** VSwitchExtension (network): enables or disables a vSwitch extension (also HcnModifyNetwork `Extension`). */
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface VSwitchExtensionSettings {
  ExtensionID: string;
  Enable?: boolean;
}

export const vswitchExtension: PolicyDescriptor = {
  type: 'VSwitchExtension',
  keys: ['ExtensionID', 'Enable'],
  check: (c, p, s) => {
    c.guid(at(p, 'ExtensionID'), s.ExtensionID);
    if (s.Enable !== undefined) c.boolean(at(p, 'Enable'), s.Enable);
  },
};
