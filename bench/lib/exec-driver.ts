/**
 * The benchmarks' launcher of CNI plugins: native/bench-driver/cni-exec-driver (protocol at the top of that
 * file), a resident process started once per route in the route's node netns, which starts plugins as a
 * container runtime's exec does (posix_spawn, config on stdin, output through a pipe). Timing there keeps
 * Node's own fork (~2 ms a call) and an nsenter per call out of the figures.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inNetns, timedExec } from './cni-lab';

/** The driver binary `npm run build` makes (native/Makefile), from dist/bench/lib. */
export const DRIVER_BIN = path.resolve(__dirname, '../../../native/build/cni-exec-driver');

export interface DriverJob {
  /** Absolute path of the executable. */
  file: string;
  /** The file the job reads as stdin (the network config); '' for /dev/null. */
  stdinFile: string;
  /** Added to the driver's environment for this job, replacing same-named variables. */
  env: Record<string, string>;
}

export interface WaveResult {
  /** Per job, in order: from just before its spawn until reaped with its output read, ms. */
  ms: number[];
  status: number[];
  out: string[];
  /** From the first spawn until the last job finished, ms. */
  wall: number;
}

/** Parses the driver's framed answer to a wave of `n` jobs from `buf`; null while it is incomplete. */
function parseWave(buf: Buffer, n: number): WaveResult | null {
  const res: WaveResult = { ms: [], status: [], out: [], wall: 0 };
  let at = 0;
  const line = (): string | null => {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) return null;
    const s = buf.toString('latin1', at, nl);
    at = nl + 1;
    return s;
  };
  for (let k = 0; k < n; k++) {
    const head = line();
    if (head === null) return null;
    const m = /^(\d+) (\d+) (\d+) (\d+)$/.exec(head);
    if (!m) throw new Error(`cni-exec-driver: malformed job header ${JSON.stringify(head)} for job ${k}`);
    const captured = Number(m[3]);
    if (buf.length < at + captured) return null;
    const dropped = Number(m[4]);
    res.ms.push(Number(m[1]) / 1e6);
    res.status.push(Number(m[2]));
    res.out.push(buf.toString('utf8', at, at + captured) + (dropped ? `\n[${dropped} more bytes dropped by the driver]` : ''));
    at += captured;
  }
  const tail = line();
  if (tail === null) return null;
  const w = /^wall (\d+)$/.exec(tail);
  if (!w) throw new Error(`cni-exec-driver: malformed wave trailer ${JSON.stringify(tail)}`);
  if (at !== buf.length) throw new Error(`cni-exec-driver: ${buf.length - at} unexpected bytes after a wave`);
  res.wall = Number(w[1]) / 1e6;
  return res;
}

const FIELD_BAD = /[\t\n]/;

export class ExecDriver {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private exited: string | null = null;
  private pending: { n: number; chunks: Buffer[]; resolve: (r: WaveResult) => void; reject: (e: Error) => void } | null = null;

  /**
   * Starts the driver with `env` as its (and every job's base) environment, inside network namespace
   * `netns` (a path, entered with nsenter once) when given.
   */
  constructor(env: NodeJS.ProcessEnv, netns?: string, driver = DRIVER_BIN) {
    const [cmd, ...args] = netns ? ['nsenter', `--net=${netns}`, driver] : [driver];
    this.child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4096)));
    this.child.stdout.on('data', (d: Buffer) => this.onData(d));
    this.child.stdin.on('error', () => {});
    this.child.on('error', (e) => this.fail(`${cmd} could not start: ${e.message}`));
    this.child.on('exit', (code, signal) => this.fail(`${cmd} ${args.join(' ')} exited ${code ?? signal}`));
  }

  private fail(why: string): void {
    this.exited ??= why;
    const p = this.pending;
    this.pending = null;
    p?.reject(new Error(`cni-exec-driver: ${why}${this.stderr ? `: ${this.stderr.trim()}` : ''}`));
  }

  private onData(d: Buffer): void {
    const p = this.pending;
    if (!p) return this.fail(`wrote ${d.length} bytes outside a wave`);
    p.chunks.push(d);
    let res: WaveResult | null;
    try {
      res = parseWave(Buffer.concat(p.chunks), p.n);
    } catch (e) {
      return this.fail((e as Error).message);
    }
    if (!res) return;
    this.pending = null;
    p.resolve(res);
  }

  /**
   * Runs `jobs` at once and resolves when all have finished; rejects naming the plugin, command, container and
   * exit status with the output of the first job that failed (after the whole wave, so nothing is left running).
   */
  async runWave(jobs: DriverJob[]): Promise<WaveResult> {
    if (this.exited) throw new Error(`cni-exec-driver: ${this.exited}`);
    if (this.pending) throw new Error('cni-exec-driver: a wave is already running');
    if (jobs.length < 1 || jobs.length > 256) throw new Error(`cni-exec-driver: a wave is 1..256 jobs, not ${jobs.length}`);
    let req = `wave ${jobs.length}\n`;
    for (const [k, j] of jobs.entries()) {
      const fields = [j.file, j.stdinFile, ...Object.entries(j.env).map(([name, v]) => `${name}=${v}`)];
      const bad = fields.find((f) => FIELD_BAD.test(f));
      if (bad !== undefined) throw new Error(`cni-exec-driver: job ${k}: field ${JSON.stringify(bad)} holds a tab or newline`);
      if (!path.isAbsolute(j.file)) throw new Error(`cni-exec-driver: job ${k}: file ${j.file} is not an absolute path`);
      req += `${fields.join('\t')}\n`;
    }
    const res = await new Promise<WaveResult>((resolve, reject) => {
      this.pending = { n: jobs.length, chunks: [], resolve, reject };
      this.child.stdin.write(req);
    });
    const k = res.status.findIndex((s) => s !== 0);
    if (k >= 0) {
      const { file, env } = jobs[k];
      throw new Error(`${file} ${env.CNI_COMMAND ?? ''} ${env.CNI_CONTAINERID ?? ''} exited ${res.status[k]}: ${res.out[k]}`);
    }
    return res;
  }

  /** Ends the driver (quit, then SIGKILL if it has not exited within 5 s). */
  async close(): Promise<void> {
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/** How the benchmarks launch plugins: `driver` (default) or `nsenter` (SY_BENCH_LAUNCHER=nsenter: Node spawns `nsenter <plugin>` per call). */
export type LauncherKind = 'driver' | 'nsenter';

export function launcherKind(): LauncherKind {
  const v = process.env.SY_BENCH_LAUNCHER ?? 'driver';
  if (v !== 'driver' && v !== 'nsenter') {
    console.error(`SY_BENCH_LAUNCHER must be "driver" or "nsenter", not ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return v;
}

/** One route's way of running a wave of calls of one plugin, each call's env added to the route's. */
export interface RouteLauncher {
  wave(file: string, calls: NodeJS.ProcessEnv[]): Promise<{ ms: number[]; wall: number }>;
  close(): Promise<void>;
}

const defined = (env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));

/**
 * A launcher for a route whose plugins run in node netns `nodeNs` with base environment `env` and network
 * config `conf` on stdin. `driver`: one resident cni-exec-driver in `nodeNs`, the config written once to
 * `confFile`. `nsenter`: Node spawns `nsenter --net=<nodeNs> <plugin>` per call, the config piped in; the
 * wall is measured here.
 */
export function routeLauncher(kind: LauncherKind, nodeNs: string, env: NodeJS.ProcessEnv, conf: string, confFile: string): RouteLauncher {
  if (kind === 'nsenter')
    return {
      async wave(file, calls) {
        const t0 = process.hrtime.bigint();
        const ms = await Promise.all(calls.map((c) => timedExec(file, { ...env, ...c }, conf, inNetns(nodeNs))));
        return { ms, wall: Number(process.hrtime.bigint() - t0) / 1e6 };
      },
      close: async () => {},
    };
  fs.writeFileSync(confFile, conf);
  const driver = new ExecDriver(env, nodeNs);
  return {
    wave: (file, calls) => driver.runWave(calls.map((c) => ({ file, stdinFile: confFile, env: defined(c) }))),
    close: () => driver.close(),
  };
}
