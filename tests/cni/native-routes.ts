/**
 * The three routes a CNI call can take (docs/cni.md "Routes"): the native entrypoint forwarding to an agent,
 * the native entrypoint falling back to its Node entrypoint (no agent), and the Node entrypoint run directly.
 * The agent here is the API server with the in-process executor as its cni handler — the agent's fast path
 * without the rest of the agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startApiServer } from '../../src/agent/api/server';
import { cniHandler } from '../../src/agent/api/cni-handler';
import type { ApiServer } from '../../src/agent/api/types';
import { BIN, ROOT, run, type CniEnv, type Lab, type Run } from './helpers';

/** The copyable Linux CNI bin directory (native entrypoints + switchyard-node/). */
export const INSTALL = path.join(ROOT, 'dist/cni/install/linux');
export const INSTALL_WIN = path.join(ROOT, 'dist/cni/install/windows');

export type Route = 'agent' | 'fallback' | 'node';
export const ROUTES: Route[] = ['agent', 'fallback', 'node'];

export interface RouteRunner {
  route: Route;
  /** The socket the native entrypoint is pointed at (absent for the node route). */
  socket?: string;
  run(plugin: string, lab: Lab, cni: CniEnv, stdin: string | object): Promise<Run>;
  close(): Promise<void>;
}

export async function inProcessAgent(socket: string): Promise<ApiServer> {
  return startApiServer({ socketPath: socket, handlers: { status: async () => ({ ready: true }), cni: cniHandler({}) } });
}

/** A route bound to one lab: the agent route starts an in-process server on a socket in the lab's dir. */
export async function routeRunner(route: Route, lab: Lab, binDir = INSTALL): Promise<RouteRunner> {
  if (route === 'node') {
    return { route, run: (plugin, l, cni, stdin) => run(path.join(BIN, plugin), l, cni, stdin), close: async () => {} };
  }
  const socket = path.join(lab.dir, 'run', 'agent.sock');
  const server = route === 'agent' ? await inProcessAgent(socket) : undefined;
  return {
    route,
    socket,
    run: (plugin, l, cni, stdin) => run(path.join(binDir, plugin), l, { SWITCHYARD_AGENT_SOCKET: socket, ...cni }, stdin),
    close: async () => server?.close(),
  };
}

/** A fresh copy of the installable bin directory somewhere else, as an operator's `cp -r` makes it. */
export function copyInstall(from = INSTALL): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cnibin-'));
  fs.cpSync(from, dir, { recursive: true });
  return dir;
}

/** The API server with the in-process executor in its own node process, so a test can SIGKILL it. */
export interface AgentProcess {
  child: ChildProcess;
  socket: string;
  stop(): Promise<void>;
}

const SERVER_SCRIPT = `
const { startApiServer } = require(${JSON.stringify(path.join(ROOT, 'dist/src/agent/api/server.js'))});
const { cniHandler } = require(${JSON.stringify(path.join(ROOT, 'dist/src/agent/api/cni-handler.js'))});
startApiServer({ socketPath: process.argv[1], handlers: { status: async () => ({}), cni: cniHandler({}) } })
  .then(() => process.stdout.write('ready\\n'), (e) => { console.error(e); process.exit(1); });
`;

export function startAgentProcess(socket: string, env: Record<string, string>): Promise<AgentProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', SERVER_SCRIPT, socket], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.once('exit', (code) => reject(new Error(`agent process exited ${code}: ${err}`)));
    child.stdout!.once('data', () =>
      resolve({
        child,
        socket,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r();
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
      }),
    );
  });
}
