/**
 * How the plugins reach IPAM. `ipam.type` "switchyard-ipam" runs in process (no spawn; same store, same
 * lock as the binary and as host-local); any other type is executed from CNI_PATH like the reference
 * (SWITCHYARD_IPAM_EXEC=1 forces that for switchyard-ipam too). GC and STATUS of host-local are served in
 * process on the shared store because the reference host-local has no GC/STATUS handlers.
 */
import { parseResult, type CniResult } from '../protocol/result';
import { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, hostLocalStatus, type IpamRequest } from './hostlocal';
import { releaseStale } from './reservations';

export const BUILTIN_IPAM = 'switchyard-ipam';

export interface IpamCall {
  type: string;
  /** Exactly the bytes the plugin received. */
  stdin: Buffer;
  /** The same config as plain JSON. */
  config: Record<string, unknown>;
  env: Record<string, string | undefined>;
  containerID: string;
  ifName: string;
  cniArgs: string;
  cniPath: string;
  cniVersion: string;
}

function inProcess(call: IpamCall): boolean {
  return call.type === BUILTIN_IPAM && call.env.SWITCHYARD_IPAM_EXEC !== '1';
}

function storeBacked(call: IpamCall): boolean {
  return call.type === BUILTIN_IPAM || call.type === 'host-local';
}

function request(call: IpamCall): IpamRequest {
  return { config: call.config, containerID: call.containerID, ifName: call.ifName, args: call.cniArgs };
}

function run(call: IpamCall, command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC'): Promise<string> {
  // Required on use: delegation spawns a process, and node:child_process (with net and stream behind it)
  // costs a few ms to load, which in-process IPAM calls never need.
  const { delegate } = require('./invoke') as typeof import('./invoke');
  return delegate(call.type, { cniPath: call.cniPath, env: call.env, stdin: call.stdin, command });
}

/**
 * `dropStale`: first release what the attachment still holds in the ranges (reservations.ts releaseStale);
 * in process this happens in the same lock hold and directory scan as the allocation.
 */
export async function ipamAdd(call: IpamCall, opts: { dropStale?: boolean } = {}): Promise<CniResult> {
  if (inProcess(call)) return hostLocalAdd(request(call), opts);
  if (opts.dropStale) await releaseStale(call, call.containerID);
  const out = await run(call, 'ADD');
  let value: unknown;
  try {
    value = JSON.parse(out);
  } catch (e) {
    throw new Error(`decoding version from network config: ${(e as Error).message}`);
  }
  return parseResult(value, call.cniVersion);
}

export async function ipamDel(call: IpamCall): Promise<void> {
  if (inProcess(call)) return hostLocalDel(request(call));
  await run(call, 'DEL');
}

export async function ipamCheck(call: IpamCall): Promise<void> {
  if (inProcess(call)) {
    await hostLocalCheck(request(call));
    return;
  }
  await run(call, 'CHECK');
}

export async function ipamStatus(call: IpamCall): Promise<void> {
  if (storeBacked(call) && call.env.SWITCHYARD_IPAM_EXEC !== '1') return hostLocalStatus(request(call));
  await run(call, 'STATUS');
}

export async function ipamGc(call: IpamCall, valid: { containerID: string; ifname: string }[]): Promise<string[]> {
  if (storeBacked(call) && call.env.SWITCHYARD_IPAM_EXEC !== '1') return hostLocalGc(request(call), valid);
  await run(call, 'GC');
  return [];
}
