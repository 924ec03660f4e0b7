/**
 * The CNI fast path, side by side in one run (printed, never asserted): Debian's reference `bridge` +
 * `host-local` (/usr/lib/cni), Switchyard's Node entrypoint, and Switchyard's native entrypoint forwarding
 * to an agent (the API server with the in-process executor: src/agent/api, src/cni/exec.ts).
 *  1. Entrypoint start: VERSION of each executable (median / p95 of N sequential runs, interleaved).
 *  2. Linux data plane, as root: 50 pods ADD then DEL, sequential and 8-way parallel, every executable
 *     started as a container runtime's exec starts it: posix_spawn from a resident process in the node netns
 *     (bench/lib/exec-driver.ts; the agent itself runs in that namespace), config on stdin; with
 *     SY_BENCH_LAUNCHER=nsenter, Node's spawn of `nsenter --net=<node netns> <plugin>` per call instead. The
 *     switchyard type in l2bridge mode with switchyard-ipam against bridge + host-local (the same kind of
 *     network); reference and agent interleaved wave by wave (see interleaved) so that load from other work
 *     on the machine hits both alike, measured after warm-up passes (the first printed as the agent's cold
 *     figures; SY_BENCH_WARMUP, default 5) over SY_BENCH_PASSES passes (default 3; walls: the median
 *     pass's); the Node entrypoint alone afterwards.
 *  3. Memory data plane: win-bridge v2, Node entrypoint vs the agent route, and the data-plane calls per ADD.
 * Run: node dist/bench/cni-fastpath.js [pods=50] [parallel=8] [runs=30]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../src/dataplane/factory';
import { intArg, pct, pool } from './lib/stats';
import { ExecDriver, launcherKind, routeLauncher, type RouteLauncher } from './lib/exec-driver';
import { createSwitchyardNetwork, Namespaces, pluginEnv, podEnv, REF_BIN, referenceConf, switchyardConf, timedExec } from './lib/cni-lab';

const ROOT = path.resolve(__dirname, '../..');
const NODE_BIN = path.join(ROOT, 'dist/cni/bin');
const SHIM_BIN = path.join(ROOT, 'dist/cni/install/linux');
const PODS = intArg(0, 'pods', 50);
const PAR = intArg(1, 'parallel', 8);
const RUNS = intArg(2, 'runs', 30);
const tag = crypto.randomBytes(2).toString('hex');
const LAUNCHER = launcherKind();
/** Passes of the pods before the measured ones (the first is the agent's cold row), and passes measured. */
const WARMUP = Math.max(1, Number(process.env.SY_BENCH_WARMUP ?? 5));
const PASSES = Math.max(1, Number(process.env.SY_BENCH_PASSES ?? 3));

const SERVER_SCRIPT = `
const { startApiServer } = require(${JSON.stringify(path.join(ROOT, 'dist/src/agent/api/server.js'))});
const { cniHandler } = require(${JSON.stringify(path.join(ROOT, 'dist/src/agent/api/cni-handler.js'))});
startApiServer({ socketPath: process.argv[1], handlers: { status: async () => ({}), cni: cniHandler({}) } })
  .then(() => process.stdout.write('ready\\n'), (e) => { console.error(e); process.exit(1); });
`;

interface Agent {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The API server with the in-process executor, in its own process (optionally inside a node netns). */
function startAgent(socket: string, env: NodeJS.ProcessEnv, netns?: string): Promise<Agent> {
  const argv = [process.execPath, '-e', SERVER_SCRIPT, socket];
  const [cmd, ...args] = netns ? ['nsenter', `--net=${netns}`, ...argv] : argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('exit', (code) => reject(new Error(`agent exited ${code}`)));
    child.stdout!.once('data', () =>
      resolve({
        child,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null) return r();
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
      }),
    );
  });
}

const f1 = (x: number) => x.toFixed(1).padStart(6);

/**
 * VERSION of each executable, timed two ways, interleaved: Node's spawnSync (a fork of this process), and
 * the resident driver's posix_spawn (how a runtime starts a plugin), with /bin/true as the floor of each.
 */
async function startup(env: NodeJS.ProcessEnv, socket: string, dir: string): Promise<string[]> {
  const variants = (
    [
      ['(launcher floor: /bin/true)', '/bin/true', {}],
      ['Go bridge (reference)', path.join(REF_BIN, 'bridge'), {}],
      ['Go host-local (reference)', path.join(REF_BIN, 'host-local'), {}],
      ['native win-bridge → agent', path.join(SHIM_BIN, 'win-bridge'), { SWITCHYARD_AGENT_SOCKET: socket }],
      ['native win-bridge → fallback (node)', path.join(SHIM_BIN, 'win-bridge'), { SWITCHYARD_AGENT_SOCKET: `${socket}.none` }],
      ['Node win-bridge entrypoint', path.join(NODE_BIN, 'win-bridge'), {}],
    ] as [string, string, Record<string, string>][]
  ).filter(([, file]) => fs.existsSync(file));
  const viaSpawnSync = (file: string, extra: Record<string, string>) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(file, [], { env: { ...env, ...extra, CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${file} VERSION exited ${r.status}: ${r.stdout}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const stdinFile = path.join(dir, 'version-stdin.json');
  fs.writeFileSync(stdinFile, '{"cniVersion":"1.0.0"}');
  const driver = new ExecDriver(env);
  try {
    const viaDriver = async (file: string, extra: Record<string, string>) =>
      (await driver.runWave([{ file, stdinFile, env: { ...extra, CNI_COMMAND: 'VERSION' } }])).ms[0];
    const xs = variants.map(() => [] as number[]);
    const ds = variants.map(() => [] as number[]);
    for (const [, file, extra] of variants)
      for (let i = 0; i < 3; i++) {
        viaSpawnSync(file, extra);
        await viaDriver(file, extra);
      }
    for (let i = 0; i < RUNS; i++)
      for (const [j, [, file, extra]] of variants.entries()) {
        xs[j].push(viaSpawnSync(file, extra));
        ds[j].push(await viaDriver(file, extra));
      }
    return variants.map(
      ([label], j) =>
        `  ${label.padEnd(40)} ${f1(pct(xs[j], 50))} / ${f1(pct(xs[j], 95))}     ${f1(pct(ds[j], 50))} / ${f1(pct(ds[j], 95))}`,
    );
  } finally {
    await driver.close();
  }
}

interface Route {
  label: string;
  file: string;
  env: NodeJS.ProcessEnv;
  conf: string;
}

async function podsRun(
  route: Route,
  cni: (i: number) => NodeJS.ProcessEnv,
  width: number,
  wrap: string[],
  afterAdd?: () => void,
): Promise<{ add: number[]; del: number[]; addWall: number; delWall: number }> {
  let t0 = process.hrtime.bigint();
  const add = await pool(PODS, width, (i) => timedExec(route.file, { ...route.env, ...cni(i), CNI_COMMAND: 'ADD' }, route.conf, wrap));
  const addWall = Number(process.hrtime.bigint() - t0) / 1e6;
  afterAdd?.();
  t0 = process.hrtime.bigint();
  const del = await pool(PODS, width, (i) => timedExec(route.file, { ...route.env, ...cni(i), CNI_COMMAND: 'DEL' }, route.conf, wrap));
  const delWall = Number(process.hrtime.bigint() - t0) / 1e6;
  return { add, del, addWall, delWall };
}

function row(
  label: string,
  mode: string,
  r: { add: number[]; del: number[]; addWall: number; delWall: number },
  ref?: { add: number[]; del: number[]; addWall: number; delWall: number },
): string {
  const ratio = ref
    ? `   (ADD ${(pct(r.add, 50) / pct(ref.add, 50)).toFixed(2)}×, DEL ${(pct(r.del, 50) / pct(ref.del, 50)).toFixed(2)}×, wall ${(r.addWall / ref.addWall).toFixed(2)}×, DEL wall ${(r.delWall / ref.delWall).toFixed(2)}× of the reference)`
    : '';
  return `  ${label.padEnd(40)} ${mode.padEnd(12)} ADD ${f1(pct(r.add, 50))}  DEL ${f1(pct(r.del, 50))}  ADD wall ${f1(r.addWall)}  DEL wall ${f1(r.delWall)}${ratio}`;
}

type PodsResult = Awaited<ReturnType<typeof podsRun>>;

/** Several passes of one route as one: every call's latency, and the median pass's walls. */
function mergePasses(passes: PodsResult[]): PodsResult {
  const median = (xs: number[]) => pct(xs, 50);
  return {
    add: passes.flatMap((p) => p.add),
    del: passes.flatMap((p) => p.del),
    addWall: median(passes.map((p) => p.addWall)),
    delWall: median(passes.map((p) => p.delWall)),
  };
}

/**
 * The routes side by side, interleaved so that a change of the machine's load (other work on a shared VM)
 * hits every route alike: pods go in waves of `width` (1 = sequential), each wave run through every route
 * in turn, `width` calls at once. Per-call latencies are collected per route; a route's wall time is the
 * sum of its waves' (waves of 8 instead of one continuous 8-wide pool: the same for every route). `pass`
 * names the pass's containers (a warm-up pass and the measured one use the same pod namespaces).
 */
async function interleaved(
  routes: { route: Route; cni: (i: number, pass: string) => NodeJS.ProcessEnv; launcher: RouteLauncher }[],
  width: number,
  pass: string,
): Promise<PodsResult[]> {
  const out: PodsResult[] = routes.map(() => ({ add: [], del: [], addWall: 0, delWall: 0 }));
  for (const command of ['ADD', 'DEL'] as const) {
    for (let first = 0; first < PODS; first += width) {
      const wave = Array.from({ length: Math.min(width, PODS - first) }, (_, k) => first + k);
      for (const [j, { route, cni, launcher }] of routes.entries()) {
        const { ms, wall } = await launcher.wave(
          route.file,
          wave.map((i) => ({ ...cni(i, pass), CNI_COMMAND: command })),
        );
        if (command === 'ADD') {
          out[j].add.push(...ms);
          out[j].addWall += wall;
        } else {
          out[j].del.push(...ms);
          out[j].delWall += wall;
        }
      }
    }
  }
  return out;
}

/**
 * What every route pays before any plugin runs: the launcher's start of /bin/true in the node netns, in the
 * same waves (the driver's posix_spawn, or this harness's spawn of `nsenter`). Printed so that a ratio can be
 * read net of it; the ratios above include it.
 */
async function launcherFloor(launcher: RouteLauncher, width: number): Promise<string> {
  const ms: number[] = [];
  let wall = 0;
  for (let first = 0; first < PODS; first += width) {
    const r = await launcher.wave(
      '/bin/true',
      Array.from({ length: Math.min(width, PODS - first) }, () => ({})),
    );
    ms.push(...r.ms);
    wall += r.wall;
  }
  const label = LAUNCHER === 'driver' ? '(driver floor: /bin/true via the driver)' : '(harness floor: nsenter /bin/true)';
  return `  ${label.padEnd(40)} ${(width === 1 ? 'sequential' : `${width}-way`).padEnd(12)} run ${f1(pct(ms, 50))}  wall ${f1(wall)}`;
}

async function linuxPlane(dir: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  if (process.getuid?.() !== 0) return ['  skipped: needs root (network namespaces)'];
  if (!fs.existsSync(path.join(REF_BIN, 'bridge'))) return [`  skipped: needs ${REF_BIN}/bridge (containernetworking-plugins)`];
  const rows: string[] = [];
  const ns = new Namespaces();
  const agents: Agent[] = [];
  const launchers: RouteLauncher[] = [];
  try {
    for (const [mode, width] of [
      ['sequential', 1],
      [`${PAR}-way`, PAR],
    ] as const) {
      const routes: Parameters<typeof interleaved>[0] = [];
      let floor: RouteLauncher | undefined;
      for (const kind of ['reference', 'agent', 'node'] as const) {
        const r = `${tag}${width}${kind[0]}`;
        const nodeNs = ns.add(`syfp${r}`, true);
        const runEnv: NodeJS.ProcessEnv = {
          ...env,
          SWITCHYARD_DATAPLANE: 'linux',
          SWITCHYARD_LINUX_STATE: path.join(dir, `state-${r}.json`),
        };
        const podNs = Array.from({ length: PODS }, (_, i) => ns.add(`syfp${r}p${i}`));
        let route: Route;
        if (kind === 'reference') {
          route = {
            label: 'reference bridge + host-local',
            file: path.join(REF_BIN, 'bridge'),
            env: runEnv,
            conf: referenceConf(r, path.join(dir, `ref${r}`)),
          };
        } else {
          await createSwitchyardNetwork(runEnv, nodeNs, `net${r}`);
          const conf = switchyardConf(`net${r}`, path.join(dir, `sy${r}`));
          if (kind === 'node') route = { label: 'switchyard, Node entrypoint', file: path.join(NODE_BIN, 'switchyard'), env: runEnv, conf };
          else {
            const socket = path.join(dir, `agent-${r}`, 'agent.sock');
            agents.push(await startAgent(socket, runEnv, nodeNs));
            route = {
              label: 'switchyard, native → agent',
              file: path.join(SHIM_BIN, 'switchyard'),
              env: { ...runEnv, SWITCHYARD_AGENT_SOCKET: socket },
              conf,
            };
          }
        }
        const launcher = routeLauncher(LAUNCHER, nodeNs, route.env, route.conf, path.join(dir, `conf-${r}.json`));
        launchers.push(launcher);
        if (kind === 'reference') {
          floor = routeLauncher(LAUNCHER, nodeNs, runEnv, '', path.join(dir, `floor-${r}.json`));
          launchers.push(floor);
        }
        routes.push({ route, cni: (i, pass) => podEnv(r + pass, i, podNs, kind === 'reference' ? REF_BIN : NODE_BIN), launcher });
      }
      // A resident agent is measured warm, as it serves a node's pods: V8 runs the call path in its
      // baseline tier until each function has run some hundreds of times, so the agent is measured after
      // WARMUP passes of the same pods (the first pass after its start is printed as the cold figure); the
      // reference gets the same passes (its binaries in the page cache). Then PASSES measured passes, each
      // route's wall the median of its passes' (one pass's wall swings by a third on this kind of VM). The
      // Node entrypoint starts from nothing on every call; it runs alone after the pair so that its ~50 ms
      // processes do not sit between the pair's waves.
      const [ref, agent, node] = routes;
      const passes: PodsResult[][] = [];
      for (let k = 0; k < WARMUP; k++) passes.push(await interleaved([ref, agent], width, `w${k}`));
      const [refCold, agentCold] = passes[0];
      const measured: PodsResult[][] = [];
      for (let k = 0; k < PASSES; k++) measured.push(await interleaved([ref, agent], width, `m${k}`));
      passes.push(...measured);
      const [refWarm, agentWarm] = [0, 1].map((j) => mergePasses(measured.map((m) => m[j])));
      const [nodeRun] = await interleaved([node], width, 'm');
      rows.push(row(ref.route.label, mode, refWarm));
      rows.push(row(agent.route.label, mode, agentWarm, refWarm));
      rows.push(row(`${agent.route.label} (cold)`, mode, agentCold, refCold));
      rows.push(row(`${node.route.label} (alone)`, mode, nodeRun, refWarm));
      // How the agent warms up, pass by pass, against the reference's passes (the measured ones last).
      rows.push(
        `  ${'(ADD wall by pass: agent / reference)'.padEnd(40)} ${mode.padEnd(12)} ${passes.map(([r, a]) => `${a.addWall.toFixed(0)}/${r.addWall.toFixed(0)}`).join('  ')}`,
      );
      rows.push(await launcherFloor(floor!, width));
    }
  } finally {
    for (const l of launchers) await l.close();
    for (const a of agents) await a.stop();
    ns.cleanup();
  }
  return rows;
}

async function memoryPlane(dir: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const rows: string[] = [];
  const agents: Agent[] = [];
  try {
    for (const [mode, width] of [
      ['sequential', 1],
      [`${PAR}-way`, PAR],
    ] as const) {
      for (const kind of ['node', 'agent'] as const) {
        const d = path.join(dir, `mem-${kind}-${width}`);
        fs.mkdirSync(d);
        const callLog = path.join(d, 'calls.jsonl');
        const memEnv: NodeJS.ProcessEnv = { ...env, SWITCHYARD_DATAPLANE: 'memory', SWITCHYARD_STATE: path.join(d, 'hns.json') };
        const s = await openDataplane({ kind: 'memory', env: memEnv });
        await s.v1!.call('POST', '/networks/', {
          Name: 'cbr0',
          Type: 'L2Bridge',
          Subnets: [{ AddressPrefix: '10.244.0.0/16', GatewayAddress: '10.244.0.1' }],
        });
        const ns = (await s.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } })).ID!;
        await s.close();
        const conf = JSON.stringify({
          cniVersion: '1.0.0',
          name: 'cbr0',
          type: 'win-bridge',
          apiVersion: 2,
          ipMasqNetwork: '10.244.0.0/16',
          ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/16', dataDir: path.join(d, 'ipam') },
        });
        const runEnv = { ...memEnv, SWITCHYARD_CALL_LOG: callLog };
        let route: Route;
        if (kind === 'node')
          route = { label: 'win-bridge v2, Node entrypoint', file: path.join(NODE_BIN, 'win-bridge'), env: runEnv, conf };
        else {
          const socket = path.join(d, 'run', 'agent.sock');
          agents.push(await startAgent(socket, memEnv));
          route = {
            label: 'win-bridge v2, native → agent',
            file: path.join(SHIM_BIN, 'win-bridge'),
            env: { ...runEnv, SWITCHYARD_AGENT_SOCKET: socket },
            conf,
          };
        }
        const cni = (i: number) => ({ CNI_CONTAINERID: `m${i}`, CNI_NETNS: ns, CNI_IFNAME: 'eth0', CNI_PATH: NODE_BIN });
        const readCalls = () =>
          fs
            .readFileSync(callLog, 'utf8')
            .trim()
            .split('\n')
            .map((l) => (JSON.parse(l) as { op: string }).op);
        let addCalls: string[] = [];
        const res = await podsRun(route, cni, width, [], () => (addCalls = readCalls()));
        const perPod = readCalls().length / PODS;
        rows.push(`${row(route.label, mode, res)}   calls/pod: ADD ${(addCalls.length / PODS).toFixed(2)}, ADD+DEL ${perPod.toFixed(2)}`);
        if (width === 1) {
          // Sequential ADDs log one call after another, each ADD ending with its attach: the first ADD's
          // calls, and the most frequent count (a kept-open data plane's caches are warm after the first).
          const perAdd: string[][] = [[]];
          for (const op of addCalls) {
            perAdd[perAdd.length - 1].push(op);
            if (op === 'attachEndpoint') perAdd.push([]);
          }
          perAdd.pop();
          const counts = new Map<number, number>();
          for (const ops of perAdd) counts.set(ops.length, (counts.get(ops.length) ?? 0) + 1);
          const [mode] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
          const typical = perAdd.find((ops) => ops.length === mode)!;
          rows.push(
            `    data-plane calls per ADD: first ${perAdd[0].length} (${perAdd[0].join(', ')}); ` +
              `${counts.get(mode)} of ${perAdd.length}: ${mode} (${typical.join(', ')})`,
          );
        }
      }
    }
  } finally {
    for (const a of agents) await a.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(SHIM_BIN, 'win-bridge'))) {
    console.error(`needs ${SHIM_BIN} (npm run build)`);
    process.exit(2);
  }
  const env = pluginEnv();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-fastpath-'));
  try {
    const socket = path.join(dir, 'version', 'agent.sock');
    const agent = await startAgent(socket, env);
    let start: string[];
    try {
      start = await startup(env, socket, dir);
    } finally {
      await agent.stop();
    }
    console.log(`Entrypoint start (VERSION), ms, median / p95 of ${RUNS}: Node spawnSync | posix_spawn from the resident driver`);
    for (const r of start) console.log(r);
    const how =
      LAUNCHER === 'driver'
        ? "every executable posix_spawned by a resident driver in the node netns, like a runtime's exec, config on stdin from a file"
        : 'every executable through Node spawn of nsenter into the node netns (SY_BENCH_LAUNCHER=nsenter)';
    console.log(
      `\nLinux data plane, ${PODS} pods, ms (medians; wall = all ${PODS} ADDs or DELs, summed over waves of ${PAR}), ${how}; reference and agent interleaved; ${WARMUP} warm-up pass(es) of the ${PODS} pods (the first: the agent's row "cold"), then ${PASSES} measured (walls: the median pass's)`,
    );
    for (const r of await linuxPlane(dir, env)) console.log(r);
    console.log(`\nMemory data plane, ${PODS} pods, ms`);
    for (const r of await memoryPlane(dir, env)) console.log(r);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
