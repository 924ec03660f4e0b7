/**
 * Start-up cost of the CNI executables, side by side in one run: a bare `node -e 0`, every executable's
 * VERSION and a full win-bridge ADD+DEL against the memory emulator, each three ways: the plain bundle (the
 * executable's form before the loader existed: Node compiles the whole bundle on every start), the loader
 * without its cache (`<name>.cache` absent or not fitting), and the executable as built (loader + code
 * cache); and Debian's host-local VERSION for reference. Each cell: median / p95 of N sequential runs, the
 * variants interleaved, each spawned as a runtime does. Run: node dist/bench/cni-startup.js [runs=30]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../src/dataplane/factory';
import { intArg, pct } from './lib/stats';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'dist/cni/bin');
const RUNS = intArg(0, 'runs', 30);
const HOST_LOCAL = '/usr/lib/cni/host-local';
const EXECUTABLES = ['win-bridge', 'win-overlay', 'switchyard', 'switchyard-ipam'];

function time(file: string, args: string[], env: NodeJS.ProcessEnv, stdin = ''): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, input: stdin, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${env.CNI_COMMAND ?? ''} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return ms;
}

interface Stat {
  median: number;
  p95: number;
}

/** Runs the variants alternately (a, b, a, b, …) so load from elsewhere on the machine hits both alike. */
function measure(...fns: (() => number)[]): Stat[] {
  for (const fn of fns) for (let i = 0; i < 3; i++) fn(); // warm the page cache
  const xs: number[][] = fns.map(() => []);
  for (let i = 0; i < RUNS; i++) fns.forEach((fn, j) => xs[j].push(fn()));
  return xs.map((x) => ({ median: pct(x, 50), p95: pct(x, 95) }));
}

/** The esbuild bundle inside a built executable (scripts/build-cni.js embeds it as a module function). */
function bundleOf(exe: string): string {
  const m = /^const SOURCE = (".*");$/m.exec(exe);
  if (!m) throw new Error('no embedded bundle in the executable: rebuild with scripts/build-cni.js');
  const source = JSON.parse(m[1]) as string;
  const head = '(function (exports, require, module, __filename, __dirname) {';
  return source.slice(head.length, source.length - '\n})'.length);
}

const cell = (m: Stat) => `${m.median.toFixed(1)} / ${m.p95.toFixed(1)}`;

async function main(): Promise<void> {
  delete process.env.NODE_EXTRA_CA_CERTS; // costs ~45 ms per start on these machines; runtimes should unset it too
  delete process.env.NODE_OPTIONS; // flags would make V8 reject the code cache
  // A copy of the executables without their caches, inside dist/ so `koffi` still resolves from node_modules.
  const bare = fs.mkdtempSync(path.join(ROOT, 'dist', '.cni-startup-'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-startup-'));
  try {
    const plain = path.join(bare, 'plain');
    fs.mkdirSync(plain);
    for (const name of EXECUTABLES) {
      const exe = fs.readFileSync(path.join(BIN, name), 'utf8');
      fs.writeFileSync(path.join(bare, name), exe, { mode: 0o755 });
      fs.writeFileSync(path.join(plain, name), `#!/usr/bin/env node\n${bundleOf(exe)}`, { mode: 0o755 });
    }
    const base: NodeJS.ProcessEnv = { PATH: process.env.PATH };

    console.log(
      `CNI executable start-up, ${RUNS} sequential runs each, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}, node ${process.version}`,
    );
    console.log('');
    console.log('| what | plain bundle (before) | loader, no cache | loader + code cache (as built) |');
    console.log('|---|---|---|---|');
    console.log(`| node -e 0 | ${cell(measure(() => time(process.execPath, ['-e', '0'], base))[0])} | | |`);
    for (const name of EXECUTABLES) {
      const env = { ...base, CNI_COMMAND: 'VERSION' };
      const cells = measure(...[plain, bare, BIN].map((d) => () => time(path.join(d, name), [], env)));
      console.log(`| ${name} VERSION | ${cells.map(cell).join(' | ')} |`);
    }

    const state = path.join(dir, 'hns.json');
    const s = await openDataplane({ kind: 'memory', statePath: state, env: { ...base, SWITCHYARD_STATE: state } });
    await s.createNetwork({
      Name: 'cbr0',
      Type: 'L2Bridge',
      SchemaVersion: { Major: 2, Minor: 0 },
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: '10.244.0.0/16', Routes: [{ NextHop: '10.244.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
    });
    const ns = (await s.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } })).ID!;
    await s.close();
    const conf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      apiVersion: 2,
      ipMasqNetwork: '10.244.0.0/16',
      ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/16', rangeStart: '10.244.1.10', dataDir: path.join(dir, 'ipam') },
    });
    let pod = 0;
    const addDel = (bin: string) => () => {
      const env = {
        ...base,
        SWITCHYARD_DATAPLANE: 'memory',
        SWITCHYARD_STATE: state,
        CNI_CONTAINERID: `pod${pod++}`,
        CNI_NETNS: ns,
        CNI_IFNAME: 'eth0',
        CNI_PATH: bin,
      };
      return (
        time(path.join(bin, 'win-bridge'), [], { ...env, CNI_COMMAND: 'ADD' }, conf) +
        time(path.join(bin, 'win-bridge'), [], { ...env, CNI_COMMAND: 'DEL' }, conf)
      );
    };
    const cells = measure(addDel(plain), addDel(bare), addDel(BIN));
    console.log(`| win-bridge v2 ADD+DEL, memory emulator, in-process IPAM | ${cells.map(cell).join(' | ')} |`);
    if (fs.existsSync(HOST_LOCAL)) {
      console.log(
        `| reference: ${HOST_LOCAL} VERSION | ${cell(measure(() => time(HOST_LOCAL, [], { ...base, CNI_COMMAND: 'VERSION' }))[0])} | | |`,
      );
    }
  } finally {
    fs.rmSync(bare, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
