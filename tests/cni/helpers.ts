/**
 * Drives the built CNI executables exactly as a container runtime does (CNI_* environment, config on
 * stdin, JSON on stdout, exit status) against the memory data plane in a temp directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../../src/dataplane/factory';
import type { CallRecord, HostNetworkService } from '../../src/dataplane/types';

export const ROOT = path.resolve(__dirname, '../../..');
export const BIN = path.join(ROOT, 'dist/cni/bin');
export const HOST_LOCAL = '/usr/lib/cni/host-local';

export interface Lab {
  dir: string;
  state: string;
  callLog: string;
  ipamDir: string;
  /** Environment every plugin run gets (data plane selection, PATH). */
  env: Record<string, string>;
  service(extra?: Record<string, string>): Promise<HostNetworkService>;
  calls(): CallRecord[];
  clearCalls(): void;
  cleanup(): void;
}

export function makeLab(extraEnv: Record<string, string> = {}): Lab {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cni-'));
  const state = path.join(dir, 'hns.json');
  const callLog = path.join(dir, 'calls.log');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    SWITCHYARD_DATAPLANE: 'memory',
    SWITCHYARD_STATE: state,
    SWITCHYARD_CALL_LOG: callLog,
    ...extraEnv,
  };
  return {
    dir,
    state,
    callLog,
    ipamDir: path.join(dir, 'ipam'),
    env,
    service: (extra = {}) => openDataplane({ kind: 'memory', statePath: state, env: { ...env, SWITCHYARD_CALL_LOG: '', ...extra } }),
    calls: () =>
      fs.existsSync(callLog)
        ? fs
            .readFileSync(callLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as CallRecord)
        : [],
    clearCalls: () => fs.rmSync(callLog, { force: true }),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json(): any;
}

export interface CniEnv {
  CNI_COMMAND?: string;
  CNI_CONTAINERID?: string;
  CNI_NETNS?: string;
  CNI_IFNAME?: string;
  CNI_PATH?: string;
  CNI_ARGS?: string;
  [k: string]: string | undefined;
}

function toRun(code: number | null, stdout: string, stderr: string): Run {
  return { code: code ?? -1, stdout, stderr, json: () => JSON.parse(stdout) };
}

function fullEnv(lab: Lab | undefined, cni: CniEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(lab?.env ?? { PATH: process.env.PATH }) };
  for (const [k, v] of Object.entries(cni)) if (v !== undefined) env[k] = v;
  return env;
}

export function runSync(plugin: string, lab: Lab | undefined, cni: CniEnv, stdin: string | object): Run {
  const file = plugin.startsWith('/') ? plugin : path.join(BIN, plugin);
  const r = spawnSync(file, [], {
    env: fullEnv(lab, cni),
    input: typeof stdin === 'string' ? stdin : JSON.stringify(stdin),
    encoding: 'utf8',
  });
  return toRun(r.status, r.stdout, r.stderr);
}

export function run(plugin: string, lab: Lab | undefined, cni: CniEnv, stdin: string | object): Promise<Run> {
  const file = plugin.startsWith('/') ? plugin : path.join(BIN, plugin);
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env: fullEnv(lab, cni) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve(toRun(code, out, err)));
    // A plugin that fails before reading stdin closes it; its exit status is the result.
    child.stdin.on('error', () => {});
    child.stdin.end(typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
  });
}

export const ADD = (containerID: string, netns = 'none', ifname = 'eth0'): CniEnv => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: containerID,
  CNI_NETNS: netns,
  CNI_IFNAME: ifname,
  CNI_PATH: BIN,
});
export const DEL = (containerID: string, netns = 'none', ifname = 'eth0'): CniEnv => ({
  ...ADD(containerID, netns, ifname),
  CNI_COMMAND: 'DEL',
});
export const CHECK = (containerID: string, netns = 'none', ifname = 'eth0'): CniEnv => ({
  ...ADD(containerID, netns, ifname),
  CNI_COMMAND: 'CHECK',
});

/** HNS v1 network as flannel/kubeadm create them. */
export async function createV1Network(lab: Lab, doc: Record<string, unknown>, extra: Record<string, string> = {}): Promise<{ ID: string }> {
  const s = await lab.service(extra);
  try {
    return await s.v1!.call<{ ID: string }>('POST', '/networks/', doc);
  } finally {
    await s.close();
  }
}

export async function createNamespace(lab: Lab): Promise<string> {
  const s = await lab.service();
  try {
    return (await s.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } })).ID!;
  } finally {
    await s.close();
  }
}

export function files(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}
