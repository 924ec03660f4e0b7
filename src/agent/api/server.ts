/**
 * The agent's local API server: frames, authenticates and dispatches (docs/agent-api.md). One request and
 * one reply per connection; a bad frame gets an error reply and its connection closed while the server
 * goes on serving.
 *
 * Linux: a unix socket, 0600, in a 0700 directory. The socket is bound inside a fresh private directory
 * (mkdtemp, 0700) next to the final path, chmod'ed, then renamed into place, so there is no moment at which
 * it exists with the umask's mode. An existing non-socket or symlink at the path is refused; a socket nobody
 * answers on is stale and removed; one that answers belongs to a running agent (EADDRINUSE). Every peer's
 * SO_PEERCRED uid must be 0 (or the server's own uid, for an unprivileged development agent).
 *
 * Windows: the named pipe `\\.\pipe\switchyard-agent` through Node's net server. libuv creates it with
 * the default named-pipe DACL (full control: LocalSystem, Administrators, the creator owner; read only for
 * Everyone/anonymous), so an unprivileged client cannot write a request; Node exposes neither a way to set
 * an explicit security descriptor nor the pipe handle for a client-token check (docs/agent-api.md).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { FrameError, FrameReader, encodeFrame, parseFrameBody } from './framing';
import { peerCredentials } from './peer';
import type { ApiHandlers, ApiServer, CniReply, CniRequest, ErrorReply, StatusReply } from './types';
import type { Logger } from '../../util/log';

export const DEFAULT_SOCKET = process.platform === 'win32' ? '\\\\.\\pipe\\switchyard-agent' : '/run/switchyard/agent.sock';

export interface ApiServerOptions {
  socketPath?: string;
  handlers: ApiHandlers;
  log?: Logger;
  /** How long a client may take to send its request (ms); default 30 s. */
  requestTimeoutMs?: number;
}

const PLUGIN_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The request's shape, checked before a handler sees it; a FrameError names the field. */
export function validateRequest(obj: Record<string, unknown>): CniRequest | { op: 'status' } {
  if (obj.op === 'status') return { op: 'status' };
  if (obj.op !== 'cni') throw new FrameError(`unknown op ${JSON.stringify(obj.op)}: expected "cni" or "status"`);
  if (typeof obj.plugin !== 'string' || !PLUGIN_RE.test(obj.plugin)) throw new FrameError('field "plugin" must be a plugin name');
  const env = obj.env;
  if (env === null || typeof env !== 'object' || Array.isArray(env)) throw new FrameError('field "env" must be an object of strings');
  for (const [k, v] of Object.entries(env)) if (typeof v !== 'string') throw new FrameError(`field "env.${k}" must be a string`);
  if (typeof obj.stdin !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(obj.stdin) || obj.stdin.length % 4 !== 0) {
    throw new FrameError('field "stdin" must be base64');
  }
  return { op: 'cni', plugin: obj.plugin, env: { ...(env as Record<string, string>) }, stdin: obj.stdin };
}

function errorReply(error: string): ErrorReply {
  return { ok: false, error };
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const address = opts.socketPath ?? DEFAULT_SOCKET;
  const isPipe = process.platform === 'win32' && address.startsWith('\\\\');
  const server = net.createServer({ allowHalfOpen: true }, (socket) => serve(socket, opts, isPipe));
  server.on('error', (e) => opts.log?.error('api server error', { address, error: e.message }));
  if (isPipe) {
    await listen(server, address);
    return handle(server, address, undefined);
  }
  const ino = await listenUnix(server, address);
  return handle(server, address, ino);
}

function handle(server: net.Server, address: string, ino: number | undefined): ApiServer {
  let closed: Promise<void> | undefined;
  return {
    address,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Connections in flight finish their reply; none is waited for beyond that.
        if (ino !== undefined) {
          try {
            // Never remove what another agent bound at the path since.
            if (fs.lstatSync(address).ino === ino) fs.unlinkSync(address);
          } catch {
            // already gone
          }
        }
      });
      return closed;
    },
  };
}

function listen(server: net.Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(address, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory())
    throw new Error(`agent socket directory ${dir} exists and is not a directory (or is a symlink): refusing to use it`);
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : st.uid;
  if (st.uid !== uid) throw new Error(`agent socket directory ${dir} is owned by uid ${st.uid}, not ${uid}: refusing to use it`);
  if ((st.mode & 0o777) !== 0o700) fs.chmodSync(dir, 0o700);
}

function answers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(address);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

async function listenUnix(server: net.Server, address: string): Promise<number> {
  const dir = path.dirname(path.resolve(address));
  ensurePrivateDir(dir);
  let existing: fs.Stats | undefined;
  try {
    existing = fs.lstatSync(address);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (existing) {
    if (!existing.isSocket()) throw new Error(`${address} exists and is not a socket (or is a symlink): refusing to replace it`);
    if (await answers(address)) throw Object.assign(new Error(`${address}: another agent is listening there`), { code: 'EADDRINUSE' });
    fs.unlinkSync(address);
  }
  const tmpDir = fs.mkdtempSync(path.join(dir, '.bind-'));
  const tmp = path.join(tmpDir, 's');
  try {
    await listen(server, tmp);
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, address);
  } catch (e) {
    server.close();
    throw e;
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  return fs.lstatSync(address).ino;
}

function allowedPeer(socket: net.Socket): string | undefined {
  const cred = peerCredentials(socket);
  if (cred instanceof Error) return `cannot verify the caller: ${cred.message}`;
  const own = typeof process.geteuid === 'function' ? process.geteuid() : 0;
  if (cred.uid === 0 || cred.uid === own) return undefined;
  return `permission denied: uid ${cred.uid} (pid ${cred.pid}) is not root`;
}

function serve(socket: net.Socket, opts: ApiServerOptions, isPipe: boolean): void {
  let replied = false;
  const reply = (value: unknown, drain = false) => {
    if (replied) return;
    replied = true;
    socket.setTimeout(0);
    let frame: Buffer;
    try {
      frame = encodeFrame(value);
    } catch (e) {
      frame = encodeFrame(errorReply(`reply could not be framed: ${(e as Error).message}`));
    }
    if (!drain) {
      // The request was read whole: closed once the reply is handed to the kernel (a half-open socket
      // would otherwise keep server.close() waiting).
      socket.end(frame, () => socket.destroy());
      return;
    }
    // Refused before the client finished sending: what it still sends is read and dropped for a moment,
    // so its write does not fail before it reads the refusal; then the connection is closed regardless.
    socket.removeAllListeners('data');
    socket.on('data', () => {});
    socket.end(frame);
    socket.once('end', () => socket.destroy());
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  const refuse = (why: string) => {
    opts.log?.warn('api request refused', { error: why });
    reply(errorReply(why), true);
  };
  socket.on('error', () => {
    // the client went away; nothing to answer
  });
  if (!isPipe) {
    const denied = allowedPeer(socket);
    if (denied) return refuse(denied);
  }
  socket.setTimeout(opts.requestTimeoutMs ?? 30_000, () => {
    if (!replied) refuse('timed out waiting for the request');
    socket.destroy();
  });
  const reader = new FrameReader();
  let body: Buffer | undefined;
  socket.on('data', (chunk: Buffer) => {
    if (body !== undefined) return refuse('bytes after the frame: one request per connection');
    try {
      body = reader.push(chunk);
    } catch (e) {
      return refuse((e as Error).message);
    }
    if (body !== undefined) void dispatch(body, opts).then(reply);
  });
  socket.on('end', () => {
    if (body === undefined && !replied) refuse(reader.endError().message);
  });
}

async function dispatch(body: Buffer, opts: ApiServerOptions): Promise<CniReply | StatusReply | ErrorReply> {
  let req: ReturnType<typeof validateRequest>;
  try {
    req = validateRequest(parseFrameBody(body));
  } catch (e) {
    opts.log?.warn('api request refused', { error: (e as Error).message });
    return errorReply((e as Error).message);
  }
  try {
    if (req.op === 'status') return { ok: true, status: await opts.handlers.status() };
    return await opts.handlers.cni(req);
  } catch (e) {
    opts.log?.error('api handler failed', { op: req.op, error: (e as Error).message });
    return errorReply(`${req.op} failed: ${(e as Error).message}`);
  }
}
