/**
 * The agent's CNI fast path measured in process (printed, never asserted): the `switchyard` type in l2bridge
 * mode with switchyard-ipam on the linux data plane, executed by execCni inside this process with the
 * agent's warm services, so a change to IPAM, the attach or the per-call work can be measured without the
 * whole fast-path benchmark (bench/cni-fastpath.ts). Root: a node netns and one netns per pod, removed at the end.
 *  - sequential ADD then DEL of `pods` pods, median per phase (spans around the IPAM and data-plane calls);
 *  - `width` concurrent calls in waves: wall time of all ADDs and DELs;
 *  - the same sequential ADD/DEL through the agent's API socket with an in-process client (framing, peer
 *    check, base64, the reply) to show the per-call overhead around execCni.
 * Run: node dist/bench/agent-add-profile.js [pods=50] [width=8]; `node --cpu-prof dist/bench/...` for a profile;
 * PROFILE_NETLINK=1 adds spans around the netlink calls (Rtnl methods, socket opens).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { execCni } from '../src/cni/exec';
import { WarmServices } from '../src/cni/warm-services';
import { openDataplane } from '../src/dataplane/factory';
import { startApiServer } from '../src/agent/api/server';
import { cniHandler } from '../src/agent/api/cni-handler';
import { encodeFrame, FrameReader } from '../src/agent/api/framing';
import { LinuxDataplane } from '../src/dataplane/linux';
import { Rtnl } from '../src/dataplane/linux/netlink/rtnl';
import { NetlinkSocket } from '../src/dataplane/linux/netlink/socket';
import * as hostlocal from '../src/cni/ipam/hostlocal';
import * as reservations from '../src/cni/ipam/reservations';
import { intArg, pct } from './lib/stats';
import { createSwitchyardNetwork, Namespaces, switchyardConf } from './lib/cni-lab';

const PODS = intArg(0, 'pods', 50);
const WIDTH = intArg(1, 'width', 8);
const tag = crypto.randomBytes(2).toString('hex');

/** Time spent per phase during the current call (phase → ms), reset per call. */
let spans: Map<string, number> = new Map();
const perCall: Map<string, number[]> = new Map();

function span<T extends object>(obj: T, name: keyof T & string, label: string): void {
  const orig = obj[name] as unknown as (...a: unknown[]) => unknown;
  (obj as Record<string, unknown>)[name] = function (this: unknown, ...a: unknown[]) {
    const t0 = process.hrtime.bigint();
    const done = () => spans.set(label, (spans.get(label) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e6);
    const r = orig.apply(this, a);
    if (r instanceof Promise) return r.finally(done);
    done();
    return r;
  };
}

function instrument(): void {
  span(hostlocal, 'hostLocalAdd', 'ipam add');
  span(hostlocal, 'hostLocalDel', 'ipam del');
  span(reservations, 'releaseStale', 'ipam releaseStale');
  span(reservations, 'withInflight', 'inflight marker + inner');
  const p = LinuxDataplane.prototype;
  for (const m of ['listNetworks', 'listEndpoints', 'createEndpoint', 'attachEndpoint', 'getEndpoint', 'deleteEndpoint', 'batch'] as const)
    span(p, m, `dp.${m}`);
  if (process.env.PROFILE_NETLINK) {
    const r = Rtnl.prototype;
    for (const m of ['linkByName', 'createVeth', 'setLink', 'addAddress', 'addRoute', 'addresses'] as const) span(r, m, `rtnl.${m}`);
    span(NetlinkSocket, 'open', 'netlink open');
  }
}

function record(command: string, total: number): void {
  for (const [k, v] of [...spans, ['total', total] as [string, number]]) {
    const key = `${command} ${k}`;
    if (!perCall.has(key)) perCall.set(key, []);
    perCall.get(key)!.push(v);
  }
  spans = new Map();
}

const f = (x: number) => x.toFixed(2).padStart(7);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('needs root (network namespaces)');
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-addprof-'));
  const ns = new Namespaces();
  let server: Awaited<ReturnType<typeof startApiServer>> | undefined;
  const services = new WarmServices((env) => openDataplane({ env: env as NodeJS.ProcessEnv }));
  try {
    const nodeNs = ns.add(`syap${tag}n`, true);
    const baseEnv: Record<string, string> = {
      SWITCHYARD_DATAPLANE: 'linux',
      SWITCHYARD_LINUX_STATE: path.join(dir, 'state.json'),
      SWITCHYARD_LINUX_NETNS: nodeNs,
    };
    await createSwitchyardNetwork(baseEnv, nodeNs, `net${tag}`);
    const conf = Buffer.from(switchyardConf(`net${tag}`, path.join(dir, 'ipam')));
    const rounds = ['seq', 'par', 'api'] as const;
    const podNs = new Map(rounds.map((r) => [r, Array.from({ length: PODS }, (_, i) => ns.add(`syap${tag}${r[0]}${i}`))]));
    const env = (r: string, i: number, command: string) => ({
      ...baseEnv,
      CNI_COMMAND: command,
      CNI_CONTAINERID: `c${r}${i}`,
      CNI_NETNS: podNs.get(r as (typeof rounds)[number])![i],
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/nonexistent',
    });
    const call = async (r: string, i: number, command: string): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const out = await execCni({ plugin: 'switchyard', env: env(r, i, command), stdin: conf }, { services });
      if (out.exitCode !== 0) throw new Error(`${command} ${r}${i}: ${out.stdout}`);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    // Warm-up: the data plane's first open and reconcile, the first compile of every function on the path.
    for (let i = 0; i < 3; i++) await call('seq', i, 'ADD');
    for (let i = 0; i < 3; i++) await call('seq', i, 'DEL');

    instrument();
    for (const command of ['ADD', 'DEL']) {
      for (let i = 0; i < PODS; i++) {
        spans = new Map();
        record(command, await call('seq', i, command));
      }
    }
    console.log(`In process (execCni, warm services), ${PODS} pods sequential, median / p90 ms per call:`);
    for (const [k, xs] of perCall) console.log(`  ${k.padEnd(34)} ${f(pct(xs, 50))} / ${f(pct(xs, 90))}  (${xs.length} samples)`);

    const wall: Record<string, number> = {};
    for (const command of ['ADD', 'DEL']) {
      const t0 = process.hrtime.bigint();
      for (let first = 0; first < PODS; first += WIDTH) {
        const wave = Array.from({ length: Math.min(WIDTH, PODS - first) }, (_, k) => first + k);
        await Promise.all(wave.map((i) => call('par', i, command)));
      }
      wall[command] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    console.log(`\n${WIDTH}-way in waves, wall of ${PODS} calls: ADD ${wall.ADD.toFixed(1)} ms, DEL ${wall.DEL.toFixed(1)} ms`);

    const socket = path.join(dir, 'run', 'agent.sock');
    server = await startApiServer({ socketPath: socket, handlers: { status: async () => ({}), cni: cniHandler(baseEnv) } });
    const viaApi = (i: number, command: string) => apiCall(socket, env('api', i, command), conf);
    await viaApi(0, 'ADD');
    await viaApi(0, 'DEL');
    const api: Record<string, number[]> = { ADD: [], DEL: [] };
    for (const command of ['ADD', 'DEL']) for (let i = 0; i < PODS; i++) api[command].push(await viaApi(i, command));
    console.log(
      `\nThrough the API socket (in-process client), sequential median / p90: ADD ${f(pct(api.ADD, 50))} / ${f(pct(api.ADD, 90))}, DEL ${f(pct(api.DEL, 50))} / ${f(pct(api.DEL, 90))}`,
    );
    console.log(
      `load average: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await server?.close();
    await services.close();
    ns.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One request over the agent socket as the native entrypoint sends it; resolves with the round trip in ms. */
function apiCall(socket: string, env: Record<string, string>, stdin: Buffer): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    const reader = new FrameReader();
    c.on('connect', () => c.end(encodeFrame({ op: 'cni', plugin: 'switchyard', env, stdin: stdin.toString('base64') })));
    c.on('data', (d: Buffer) => {
      const body = reader.push(d);
      if (!body) return;
      const reply = JSON.parse(body.toString('utf8')) as { ok: boolean; exitCode?: number; stdout?: string; error?: string };
      if (!reply.ok || reply.exitCode !== 0) reject(new Error(`${env.CNI_COMMAND}: ${reply.error ?? reply.stdout}`));
      else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    c.on('error', reject);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
