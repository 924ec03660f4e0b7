/** Runs the bundled CNI executables as a runtime does, against a lab node's linux data plane. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { NetnsLab } from '../../../src/lab/netns-driver';
import type { LabNode } from '../../../src/lab/spec';

export const CNI_BIN = path.resolve(__dirname, '../../../cni/bin');
/** Debian's reference plugins (containernetworking-plugins), for `host-local` as a delegated IPAM. */
export const REFERENCE_BIN = '/usr/lib/cni';
export const hostLocalIpam = (): string => (fs.existsSync(path.join(REFERENCE_BIN, 'host-local')) ? 'host-local' : 'switchyard-ipam');

export const haveCniBin = (): boolean => fs.existsSync(path.join(CNI_BIN, 'switchyard')) && fs.existsSync(path.join(CNI_BIN, 'win-bridge'));

export interface CniRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export function runCni(
  lab: NetnsLab,
  node: LabNode,
  plugin: string,
  command: string,
  conf: object,
  opts: { containerId?: string; netns?: string; ifName?: string; env?: NodeJS.ProcessEnv } = {},
): CniRun {
  const env: NodeJS.ProcessEnv = {
    ...lab.nodeEnv(node),
    SWITCHYARD_DATAPLANE: 'linux',
    CNI_COMMAND: command,
    CNI_PATH: `${CNI_BIN}:${REFERENCE_BIN}`,
    ...opts.env,
  };
  if (opts.containerId !== undefined) env.CNI_CONTAINERID = opts.containerId;
  if (opts.netns !== undefined) env.CNI_NETNS = opts.netns;
  if (command !== 'GC' && command !== 'STATUS') env.CNI_IFNAME = opts.ifName ?? 'eth0';
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.SWITCHYARD_FAILPOINT;
  if (opts.env?.SWITCHYARD_FAILPOINT) env.SWITCHYARD_FAILPOINT = opts.env.SWITCHYARD_FAILPOINT;
  const r = spawnSync(path.join(CNI_BIN, plugin), [], { input: JSON.stringify(conf), env, encoding: 'utf8' });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** Addresses reserved in a host-local store directory (everything but `lock` and `last_reserved_ip.*`). */
export function reservations(dataDir: string, network: string): string[] {
  const dir = path.join(dataDir, network);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));
}
