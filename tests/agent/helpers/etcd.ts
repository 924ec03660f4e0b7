/**
 * A real etcd for tests: Debian's /usr/bin/etcd (package etcd-server) on 127.0.0.1 with free client and
 * peer ports and a temp data dir. `startEtcd()` resolves once /health says true; `stop()` ends the process
 * and removes the data dir (call it from `after`). `restart()` stops and starts the same member on the same
 * ports and data, for reconnect tests. Suites call `etcdOrSkip(this)` so a machine without etcd skips them
 * with a message instead of failing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { etcdHealthy as healthy, freePort } from '../../../src/lab/etcd';

export const ETCD_BIN = process.env.SWITCHYARD_ETCD_BIN ?? '/usr/bin/etcd';

export function etcdAvailable(): boolean {
  return fs.existsSync(ETCD_BIN);
}

/** Skips the calling suite (from a `before` hook) when etcd is not installed. */
export function etcdOrSkip(ctx: Mocha.Context): void {
  if (!etcdAvailable()) {
    console.log(`    (skipped: ${ETCD_BIN} is missing; install Debian's etcd-server)`);
    ctx.skip();
  }
}

export class EtcdServer {
  private proc?: ChildProcess;
  private output = '';
  readonly endpoint: string;

  constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {
    this.endpoint = `http://127.0.0.1:${clientPort}`;
  }

  async run(timeoutMs = 20_000): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.output = '';
    const proc = spawn(
      ETCD_BIN,
      [
        '--name',
        'test',
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        this.endpoint,
        '--advertise-client-urls',
        this.endpoint,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `test=${peer}`,
        '--initial-cluster-state',
        'new',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    proc.stdout!.on('data', (c) => (this.output += c));
    proc.stderr!.on('data', (c) => (this.output = (this.output + c).slice(-8000)));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`etcd exited with code ${proc.exitCode}: ${this.output.slice(-2000)}`);
      if (await healthy(this.endpoint)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.kill();
    throw new Error(`etcd at ${this.endpoint} not healthy after ${timeoutMs} ms: ${this.output.slice(-2000)}`);
  }

  /** Ends the process (SIGTERM, then SIGKILL) and keeps the data dir. */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.run();
  }

  async stop(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function startEtcd(): Promise<EtcdServer> {
  let last: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-etcd-'));
    const server = new EtcdServer(path.join(dir, 'data'), await freePort(), await freePort());
    try {
      await server.run();
      // stop() removes the whole temp dir, not just the data dir inside it.
      const stop = server.stop.bind(server);
      server.stop = async () => {
        await stop();
        fs.rmSync(dir, { recursive: true, force: true });
      };
      return server;
    } catch (e) {
      last = e as Error; // most likely a port taken between probing and binding: try new ports
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw last ?? new Error('etcd did not start');
}

/**
 * A TCP relay in front of etcd on 127.0.0.1, so a test can cut one client's connection (every socket
 * reset, new ones refused) while other clients keep talking to etcd directly, then restore it.
 */
export class TcpCut {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private open = true;
  endpoint = '';

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => {
      if (!this.open) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
    return this.endpoint;
  }

  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.open = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
