/**
 * The memory data plane: the embedded HNS emulator (state in one file shared by every process).
 * Env: SWITCHYARD_STATE (file), SWITCHYARD_HNS_VERSION (reported HNS version),
 * SWITCHYARD_EMULATOR_MANAGEMENT_IP and SWITCHYARD_EMULATOR_DR_MAC (host facts recorded when the state
 * file is created), SWITCHYARD_EMULATOR_LOCK_TIMEOUT_MS.
 */
import type { ResolvedDataplaneOptions } from '../factory';
import type { HostNetworkService } from '../types';
import type { HnsVersion } from '../../hns';
import { MemoryHns } from './emulator';
import { isMac, parseIp } from '../../net';

export { MemoryHns, DEFAULT_MANAGEMENT_IP, DEFAULT_DR_MAC } from './emulator';
export type { MemoryHnsOptions } from './emulator';
export { EmulatorStateError } from './state';
export { MemoryHcs, type ComputeSystemRecord, type ComputeSystemHandle } from './compute-systems';
export type { EmulatorState, EmulatedHost } from './state';

export async function open(options: ResolvedDataplaneOptions): Promise<HostNetworkService> {
  return openMemory(options);
}

/** The emulator itself (with its extra methods: host(), statePath), for callers that want it directly. */
export function openMemory(options: { statePath: string; emulatedVersion?: HnsVersion; env?: NodeJS.ProcessEnv }): MemoryHns {
  const env = options.env ?? process.env;
  const mgmt = env.SWITCHYARD_EMULATOR_MANAGEMENT_IP;
  if (mgmt !== undefined && mgmt !== '' && !parseIp(mgmt)) {
    throw new Error(`SWITCHYARD_EMULATOR_MANAGEMENT_IP must be an IP address, got "${mgmt}"`);
  }
  const drMac = env.SWITCHYARD_EMULATOR_DR_MAC;
  if (drMac !== undefined && drMac !== '' && !isMac(drMac)) {
    throw new Error(`SWITCHYARD_EMULATOR_DR_MAC must be a MAC address such as 00-15-5D-C0-00-01, got "${drMac}"`);
  }
  const lockTimeout = env.SWITCHYARD_EMULATOR_LOCK_TIMEOUT_MS;
  if (lockTimeout !== undefined && lockTimeout !== '' && !/^\d+$/.test(lockTimeout)) {
    throw new Error(`SWITCHYARD_EMULATOR_LOCK_TIMEOUT_MS must be a number of milliseconds, got "${lockTimeout}"`);
  }
  return new MemoryHns({
    statePath: options.statePath,
    emulatedVersion: options.emulatedVersion,
    managementIp: mgmt || undefined,
    drMacAddress: drMac || undefined,
    lockTimeoutMs: lockTimeout ? Number(lockTimeout) : undefined,
  });
}
