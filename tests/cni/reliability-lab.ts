/**
 * A memory-plane lab for the reliability suites: an L2Bridge network `cbr0` and an Overlay network
 * `vxlan0`, network configs for win-bridge, win-overlay and switchyard with either switchyard-ipam or
 * Debian's host-local, and the invariant of src/cni/invariant.ts read from outside the plugins.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkInvariant, describe as describeViolation, networkEndpoints, type Violation } from '../../src/cni/invariant';
import { loadIpamConfig } from '../../src/cni/ipam/config';
import { DiskStore } from '../../src/cni/ipam/store';
import { BIN, HOST_LOCAL, createNamespace, createV1Network, makeLab, type Lab } from './helpers';

export type PluginName = 'win-bridge' | 'win-overlay' | 'switchyard';
export type IpamName = 'switchyard-ipam' | 'host-local';

export const HAVE_HOST_LOCAL = fs.existsSync(HOST_LOCAL);
export const CNI_PATH = `${BIN}:${path.dirname(HOST_LOCAL)}`;

export interface RelLab extends Lab {
  nets: Record<'cbr0' | 'vxlan0', string>;
}

export async function makeRelLab(): Promise<RelLab> {
  const lab = makeLab({ SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.0.4' });
  const cbr0 = (
    await createV1Network(
      lab,
      { Name: 'cbr0', Type: 'L2Bridge', Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }] },
      lab.env,
    )
  ).ID;
  const vxlan0 = (
    await createV1Network(
      lab,
      {
        Name: 'vxlan0',
        Type: 'Overlay',
        Subnets: [{ AddressPrefix: '10.245.1.0/24', GatewayAddress: '10.245.1.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
      },
      lab.env,
    )
  ).ID;
  return Object.assign(lab, { nets: { cbr0, vxlan0 } });
}

export function netconf(lab: Lab, plugin: PluginName, ipam: IpamName): Record<string, unknown> {
  const dataDir = path.join(lab.ipamDir, plugin);
  if (plugin === 'win-overlay') {
    return {
      cniVersion: '1.0.0',
      name: 'vxlan0',
      type: 'win-overlay',
      apiVersion: 2,
      ipam: { type: ipam, subnet: '10.245.1.0/24', rangeStart: '10.245.1.10', rangeEnd: '10.245.1.120', dataDir },
    };
  }
  if (plugin === 'win-bridge') {
    return {
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      apiVersion: 2,
      ipam: { type: ipam, subnet: '10.244.1.0/24', rangeStart: '10.244.1.10', rangeEnd: '10.244.1.120', dataDir },
    };
  }
  return {
    cniVersion: '1.0.0',
    name: 'pods',
    type: 'switchyard',
    mode: 'l2bridge',
    network: 'cbr0',
    ipam: { type: ipam, subnet: '10.244.1.0/24', rangeStart: '10.244.1.10', rangeEnd: '10.244.1.120', dataDir },
  };
}

/** 1.1.0 variant of a config, for GC and STATUS (host-local is not asked: those run in process). */
export const v11 = (conf: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...conf, cniVersion: '1.1.0', ...extra });

export const hnsNetworkOf = (lab: RelLab, conf: Record<string, unknown>) =>
  lab.nets[(conf.type === 'switchyard' ? conf.network : conf.name) as 'cbr0' | 'vxlan0'];

export function storeOf(conf: Record<string, unknown>): DiskStore {
  const c = loadIpamConfig(conf, '');
  return new DiskStore(c.dataDir, c.name, false);
}

export async function violations(lab: RelLab, conf: Record<string, unknown>): Promise<Violation[]> {
  const s = await lab.service();
  try {
    const c = loadIpamConfig(conf, '');
    return await checkInvariant(s, {
      name: conf.name as string,
      networkId: hnsNetworkOf(lab, conf),
      view: { store: new DiskStore(c.dataDir, c.name, false), ranges: c.ranges },
    });
  } finally {
    await s.close();
  }
}

export const explain = (v: Violation[]) => v.map(describeViolation).join('\n');

/** Endpoints of the config's network: owner → addresses. */
export async function endpointsOf(lab: RelLab, conf: Record<string, unknown>): Promise<Map<string, string[]>> {
  const s = await lab.service();
  try {
    const eps = await networkEndpoints(s, { name: conf.name as string, networkId: hnsNetworkOf(lab, conf) });
    return new Map(eps.map((e) => [e.owner, e.ips]));
  } finally {
    await s.close();
  }
}

export async function namespaces(lab: Lab, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await createNamespace(lab));
  return out;
}

/** A small seeded PRNG (mulberry32): every suite prints its seed, and SWITCHYARD_TEST_SEED replays one. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function suiteSeed(): number {
  const fromEnv = Number(process.env.SWITCHYARD_TEST_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
}
