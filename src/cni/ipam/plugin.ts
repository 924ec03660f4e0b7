/** The switchyard-ipam executable's handlers: host-local's commands on the shared store. */
import type { CmdArgs, PluginFuncs } from '../protocol/skel';
import { toPlain } from '../protocol/gojson';
import { formatResult } from '../protocol/result';
import { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, hostLocalStatus, type IpamRequest } from './hostlocal';

function request(args: CmdArgs): IpamRequest {
  return { config: toPlain(args.config) as Record<string, unknown>, containerID: args.containerID, ifName: args.ifName, args: args.args };
}

function version(req: IpamRequest): string {
  return typeof req.config.cniVersion === 'string' ? req.config.cniVersion : '';
}

function validAttachments(req: IpamRequest): { containerID: string; ifname: string }[] {
  const v = req.config['cni.dev/valid-attachments'];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error('cni.dev/valid-attachments must be a list of {containerID, ifname}');
  return v.map((a: Record<string, unknown>) => ({ containerID: String(a?.containerID ?? ''), ifname: String(a?.ifname ?? '') }));
}

export function ipamPlugin(): PluginFuncs {
  return {
    add: async (args) => {
      const req = request(args);
      return formatResult(await hostLocalAdd(req), version(req));
    },
    del: async (args) => {
      await hostLocalDel(request(args));
    },
    check: async (args) => {
      await hostLocalCheck(request(args));
    },
    gc: async (args) => {
      const req = request(args);
      await hostLocalGc(req, validAttachments(req));
    },
    status: async (args) => {
      await hostLocalStatus(request(args));
    },
  };
}
