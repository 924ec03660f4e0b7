/**
 * What the CNI benchmarks share (cni-fastpath.ts, linux-cni-latency.ts): timing one plugin execution, the
 * namespaces of a run (a node netns per route, one pod netns per pod, removed at the end), and the two
 * networks compared side by side: Debian's reference `bridge` + `host-local`, and Switchyard's
 * `switchyard` type in l2bridge mode with `switchyard-ipam` on a bridge network created the way the node
 * agent creates it (the same bridge + gateway address the reference makes on its first ADD).
 */
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { openDataplane } from '../../src/dataplane/factory';

export const REF_BIN = '/usr/lib/cni';

/**
 * The environment plugins run with: this process's, less NODE_EXTRA_CA_CERTS (~45 ms per Node start here,
 * and runtimes do not set it) and NODE_OPTIONS (flags make V8 reject the bundles' code cache).
 */
export function pluginEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * Runs `file` (after `wrap`, e.g. nsenter) with `env` and `stdin`; resolves with the wall time in ms, or
 * rejects with the exit status and output when it fails.
 */
export function timedExec(file: string, env: NodeJS.ProcessEnv, stdin: string, wrap: string[] = []): Promise<number> {
  const t0 = process.hrtime.bigint();
  const [cmd, ...args] = [...wrap, file];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${file} ${env.CNI_COMMAND} ${env.CNI_CONTAINERID ?? ''} exited ${code}: ${out}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
  });
}

/** Network namespaces made for a run, all removed by cleanup() (in reverse order). */
export class Namespaces {
  private readonly created: string[] = [];

  /** Adds `name` and returns its path; `loUp` also brings its loopback up (a node namespace). */
  add(name: string, loUp = false): string {
    execFileSync('ip', ['netns', 'add', name]);
    this.created.push(name);
    if (loUp) execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return `/var/run/netns/${name}`;
  }

  cleanup(): void {
    for (const n of this.created.splice(0).reverse()) execFileSync('ip', ['netns', 'del', n]);
  }
}

/** The reference network config: bridge + host-local on 10.88.0.0/16, gateway on the bridge, no masquerade. */
export function referenceConf(run: string, dataDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: `ref${run}`,
    type: 'bridge',
    bridge: `cni${run}`.slice(0, 15),
    isGateway: true,
    ipMasq: false,
    ipam: { type: 'host-local', subnet: '10.88.0.0/16', dataDir },
  });
}

/** Switchyard's config for the same kind of network (on the network createSwitchyardNetwork made). */
export function switchyardConf(network: string, dataDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'sy',
    type: 'switchyard',
    mode: 'l2bridge',
    network,
    ipam: { type: 'switchyard-ipam', subnet: '10.89.0.0/16', dataDir },
  });
}

/**
 * The L2Bridge network on 10.89.0.0/16 (gateway 10.89.0.1) in node namespace `nodeNs`, recorded in the
 * linux data plane state that `env` selects (SWITCHYARD_LINUX_STATE).
 */
export async function createSwitchyardNetwork(env: NodeJS.ProcessEnv, nodeNs: string, name: string): Promise<void> {
  const dp = await openDataplane({ kind: 'linux', env: { ...env, SWITCHYARD_LINUX_NETNS: nodeNs } });
  try {
    await dp.createNetwork({
      Name: name,
      Type: 'L2Bridge',
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: '10.89.0.0/16', Routes: [{ NextHop: '10.89.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
    });
  } finally {
    await dp.close();
  }
}

/** The CNI_* variables of pod `i` (container c<run><i> in `podNs[i]`, eth0). */
export function podEnv(run: string, i: number, podNs: string[], cniPath: string): NodeJS.ProcessEnv {
  return { CNI_CONTAINERID: `c${run}${i}`, CNI_NETNS: podNs[i], CNI_IFNAME: 'eth0', CNI_PATH: cniPath };
}

/** The node namespace path `nsenter` enters, as the prefix of a command line. */
export const inNetns = (nodeNs: string): string[] => ['nsenter', `--net=${nodeNs}`];

/** Where the compiled Node entrypoints are, relative to a compiled bench script's directory. */
export const nodeBin = (benchDir: string): string => path.resolve(benchDir, '../cni/bin');
