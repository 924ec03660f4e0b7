/**
 * Picks and opens a data plane. Each implementation is required lazily so a per-pod CNI process only
 * loads the one it uses (koffi, node-powershell and netlink code stay off the memory path).
 *
 * Every implementation module exports `open(options: ResolvedDataplaneOptions): Promise<HostNetworkService>`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataplaneKind, DataplaneOptions, HostNetworkService } from './types';
import { DATAPLANE_KINDS } from './types';
import type { HnsVersion } from '../hns/version';

export interface ResolvedDataplaneOptions extends DataplaneOptions {
  kind: DataplaneKind;
  statePath: string;
  env: NodeJS.ProcessEnv;
}

type Opener = (o: ResolvedDataplaneOptions) => Promise<HostNetworkService>;

// Literal require paths so bundlers see them; each is evaluated only when that kind is chosen.
const OPENERS: Record<DataplaneKind, () => Opener> = {
  memory: () => require('./memory').open,
  linux: () => require('./linux').open,
  hcn: () => require('./windows/hcn').open,
  'hns-v1': () => require('./windows/hnsv1').open,
  powershell: () => require('./windows/powershell').open,
};

export class DataplaneConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataplaneConfigError';
  }
}

export function defaultStatePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SWITCHYARD_STATE) return env.SWITCHYARD_STATE;
  if (process.platform === 'win32') return path.join(env.ProgramData ?? 'C:\\ProgramData', 'switchyard', 'hns-emulator.json');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return uid === 0 ? '/var/lib/switchyard/hns-emulator.json' : path.join(os.homedir(), '.switchyard', 'hns-emulator.json');
}

/** The platform's real data plane when it is usable, else the embedded emulator. */
export function defaultKind(env: NodeJS.ProcessEnv = process.env): DataplaneKind {
  if (process.platform === 'win32') return env.SWITCHYARD_HCN_LIBRARY || hasSystemDll('computenetwork.dll', env) ? 'hcn' : 'memory';
  if (process.platform === 'linux') {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    return root ? 'linux' : 'memory';
  }
  return 'memory';
}

function hasSystemDll(name: string, env: NodeJS.ProcessEnv): boolean {
  try {
    const fs = require('node:fs') as typeof import('node:fs');
    return fs.existsSync(path.join(env.SystemRoot ?? 'C:\\Windows', 'System32', name));
  } catch {
    return false;
  }
}

export function parseVersion(text: string): HnsVersion {
  const m = /^(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) throw new DataplaneConfigError(`SWITCHYARD_HNS_VERSION must look like "15.4", got "${text}"`);
  return { Major: Number(m[1]), Minor: Number(m[2]) };
}

export function resolveOptions(opts: DataplaneOptions = {}): ResolvedDataplaneOptions {
  const env = opts.env ?? process.env;
  const requested = opts.kind ?? (env.SWITCHYARD_DATAPLANE as DataplaneKind | undefined) ?? defaultKind(env);
  if (!DATAPLANE_KINDS.includes(requested)) {
    throw new DataplaneConfigError(`unknown data plane "${requested}": use one of ${DATAPLANE_KINDS.join(', ')}`);
  }
  const timeout = opts.timeoutMs ?? (env.SWITCHYARD_HNS_TIMEOUT_MS ? Number(env.SWITCHYARD_HNS_TIMEOUT_MS) : undefined);
  return {
    ...opts,
    kind: requested,
    env,
    statePath: opts.statePath ?? defaultStatePath(env),
    hcnLibrary: opts.hcnLibrary ?? env.SWITCHYARD_HCN_LIBRARY,
    vmcomputeLibrary: opts.vmcomputeLibrary ?? env.SWITCHYARD_VMCOMPUTE_LIBRARY,
    callLog: opts.callLog ?? env.SWITCHYARD_CALL_LOG,
    emulatedVersion: opts.emulatedVersion ?? (env.SWITCHYARD_HNS_VERSION ? parseVersion(env.SWITCHYARD_HNS_VERSION) : undefined),
    timeoutMs: timeout,
  };
}

export async function openDataplane(opts: DataplaneOptions = {}): Promise<HostNetworkService> {
  const resolved = resolveOptions(opts);
  const open = OPENERS[resolved.kind]();
  const service = await open(resolved);
  if (!resolved.callLog || service.recordsOwnCalls) return service;
  const { withCallLog } = require('./call-log') as typeof import('./call-log');
  return withCallLog(service, resolved.callLog);
}
