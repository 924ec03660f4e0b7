/**
 * flannel's subnet.env: what the flannel CNI meta-plugin (and scripts written for flannel) read to learn the
 * node's subnet. Same keys, order and value spelling as flanneld's WriteSubnetFile (FLANNEL_SUBNET is the
 * subnet's first address with the prefix, `10.244.2.1/24`; FLANNEL_IPMASQ is Go's %t, `true`/`false`), at
 * the path flanneld uses: /run/flannel/subnet.env, which on Windows resolves to C:\run\flannel\subnet.env.
 * Written atomically (flanneld only manages that on Linux), mode 0644 as flanneld does: CNI plugins read it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../util/atomic-write';
import { firstAddressCidr, normalizeCidr } from './allocate';

export interface SubnetEnv {
  /** Cluster network, FLANNEL_NETWORK. */
  network: string;
  /** The node's subnet (CIDR, any host bits); written as its first address. */
  subnet: string;
  mtu: number;
  ipMasq: boolean;
}

export function defaultSubnetEnvPath(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'C:\\run\\flannel\\subnet.env' : '/run/flannel/subnet.env';
}

export function renderSubnetEnv(env: SubnetEnv): string {
  if (!Number.isInteger(env.mtu) || env.mtu < 68 || env.mtu > 65535) throw new Error(`subnet.env: MTU ${env.mtu} is not a valid MTU`);
  return (
    `FLANNEL_NETWORK=${normalizeCidr(env.network, 'FLANNEL_NETWORK')}\n` +
    `FLANNEL_SUBNET=${firstAddressCidr(env.subnet)}\n` +
    `FLANNEL_MTU=${env.mtu}\n` +
    `FLANNEL_IPMASQ=${env.ipMasq ? 'true' : 'false'}\n`
  );
}

/** Writes subnet.env atomically; returns whether the content changed (so callers log only real changes). */
export function writeSubnetEnv(file: string, env: SubnetEnv): boolean {
  const text = renderSubnetEnv(env);
  let old: string | undefined;
  try {
    old = fs.readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) return false;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  writeFileAtomicSync(file, text, 0o644);
  return true;
}

/**
 * The key=value pairs of an existing subnet.env (flanneld's own or ours), or undefined when the file is
 * absent. flanneld reads FLANNEL_SUBNET back at start to ask for the same subnet again; so does the etcd source.
 */
export function readSubnetEnv(file: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)=(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The node subnet a previous subnet.env names (FLANNEL_SUBNET, normalized to the subnet), if any. */
export function previousSubnet(file: string): string | undefined {
  const v = readSubnetEnv(file)?.FLANNEL_SUBNET;
  if (!v) return undefined;
  try {
    return normalizeCidr(v, 'FLANNEL_SUBNET');
  } catch {
    return undefined;
  }
}
