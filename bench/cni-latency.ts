/**
 * CNI latency against the memory data plane: 50 pods, ADD then DEL, sequential and 8-way parallel, for
 * win-bridge (HNS v1 and HCN v2), win-overlay v2 and the switchyard type, each executable spawned exactly as
 * a runtime does. Prints median and p95 per operation and the data-plane calls per ADD and per DEL (from the
 * call log). Run: node dist/bench/cni-latency.js [pods=50] [parallel=8]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../src/dataplane/factory';
import { intArg, pct, pool } from './lib/stats';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'dist/cni/bin');
const PODS = intArg(0, 'pods', 50);
const PAR = intArg(1, 'parallel', 8);

interface Scenario {
  label: string;
  plugin: string;
  conf: (ipamDir: string) => Record<string, unknown>;
  netns: (ns: string) => string;
}

const SCENARIOS: Scenario[] = [
  {
    label: 'win-bridge v2 (HCN), switchyard-ipam in process',
    plugin: 'win-bridge',
    netns: (ns) => ns,
    conf: (d) => ({
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      apiVersion: 2,
      ipMasqNetwork: '10.244.0.0/16',
      ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/16', rangeStart: '10.244.1.10', dataDir: d },
    }),
  },
  {
    label: 'win-bridge v1 (HNS), switchyard-ipam in process',
    plugin: 'win-bridge',
    netns: () => 'none',
    conf: (d) => ({
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      ipMasqNetwork: '10.244.0.0/16',
      ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/16', rangeStart: '10.244.1.10', dataDir: d },
    }),
  },
  {
    label: 'win-bridge v2, host-local delegated (Debian binary)',
    plugin: 'win-bridge',
    netns: (ns) => ns,
    conf: (d) => ({
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      apiVersion: 2,
      ipam: { type: 'host-local', subnet: '10.244.0.0/16', rangeStart: '10.244.1.10', dataDir: d },
    }),
  },
  {
    label: 'switchyard l2bridge, switchyard-ipam in process',
    plugin: 'switchyard',
    netns: (ns) => ns,
    conf: (d) => ({
      cniVersion: '1.1.0',
      name: 'cbr0',
      type: 'switchyard',
      mode: 'l2bridge',
      ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/16', rangeStart: '10.244.1.10', dataDir: d },
    }),
  },
];

function once(plugin: string, env: NodeJS.ProcessEnv, stdin: string): Promise<{ ms: number; code: number; out: string }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BIN, plugin), [], { env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code: code ?? -1, out }));
    child.stdin.end(stdin);
  });
}

function countCalls(file: string): number {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

async function scenario(sc: Scenario): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-'));
  const state = path.join(dir, 'hns.json');
  const callLog = path.join(dir, 'calls.log');
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, SWITCHYARD_DATAPLANE: 'memory', SWITCHYARD_STATE: state };
  const s = await openDataplane({ kind: 'memory', statePath: state, env: base });
  await s.v1!.call('POST', '/networks/', {
    Name: 'cbr0',
    Type: 'L2Bridge',
    Subnets: [{ AddressPrefix: '10.244.0.0/16', GatewayAddress: '10.244.0.1' }],
  });
  const ns = (await s.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } })).ID!;
  await s.close();
  const rows: string[] = [];
  try {
    for (const [mode, width] of [
      ['sequential', 1],
      [`${PAR}-way parallel`, PAR],
    ] as const) {
      const stdin = JSON.stringify(sc.conf(path.join(dir, `ipam-${width}`)));
      const env = (cmd: string, i: number): NodeJS.ProcessEnv => ({
        ...base,
        ...(width === 1 ? { SWITCHYARD_CALL_LOG: callLog } : {}),
        CNI_COMMAND: cmd,
        CNI_CONTAINERID: `pod${width}-${i}`,
        CNI_NETNS: sc.netns(ns),
        CNI_IFNAME: 'eth0',
        CNI_PATH: `${BIN}:/usr/lib/cni`,
      });
      fs.rmSync(callLog, { force: true });
      const adds = await pool(PODS, width, (i) => once(sc.plugin, env('ADD', i), stdin));
      const addCalls = countCalls(callLog);
      fs.rmSync(callLog, { force: true });
      const dels = await pool(PODS, width, (i) => once(sc.plugin, env('DEL', i), stdin));
      const delCalls = countCalls(callLog);
      const failed = [...adds, ...dels].filter((r) => r.code !== 0);
      if (failed.length) throw new Error(`${sc.label}: ${failed.length} failures, e.g. ${failed[0].out}`);
      const a = adds.map((r) => r.ms);
      const d = dels.map((r) => r.ms);
      const calls = width === 1 ? `${(addCalls / PODS).toFixed(1)} / ${(delCalls / PODS).toFixed(1)}` : '';
      rows.push(
        `| ${sc.label} | ${mode} | ${pct(a, 50).toFixed(1)} | ${pct(a, 95).toFixed(1)} | ${pct(d, 50).toFixed(1)} | ${pct(d, 95).toFixed(1)} | ${calls} |`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function baseline(): Promise<string> {
  const env = { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' };
  const xs: number[] = [];
  for (let i = 0; i < 20; i++) xs.push((await once('win-bridge', env, '')).ms);
  return `process start + VERSION (no work): median ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms`;
}

async function main(): Promise<void> {
  delete process.env.NODE_EXTRA_CA_CERTS;
  console.log(`CNI latency, memory data plane, ${PODS} pods, ${os.cpus().length} CPUs, node ${process.version}`);
  console.log(await baseline());
  console.log('');
  console.log('| scenario | run | ADD median ms | ADD p95 ms | DEL median ms | DEL p95 ms | data-plane calls per ADD / DEL |');
  console.log('|---|---|---|---|---|---|---|');
  for (const sc of SCENARIOS) for (const row of await scenario(sc)) console.log(row);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
