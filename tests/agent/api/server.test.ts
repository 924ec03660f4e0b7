/**
 * The agent's local API server (docs/agent-api.md): the socket's file modes and what it refuses to replace,
 * peer credentials, framing errors answered without taking the server down (fuzzed), and a real CNI call
 * through the in-process executor.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { startApiServer } from '../../../src/agent/api/server';
import { cniHandler } from '../../../src/agent/api/cni-handler';
import { encodeFrame } from '../../../src/agent/api/framing';
import { MAX_FRAME_BYTES, type ApiServer, type CniRequest } from '../../../src/agent/api/types';

interface Exchange {
  reply?: Record<string, unknown>;
  /** Bytes received after the reply frame (must be none) or a partial frame. */
  raw: Buffer;
}

/** Sends bytes, optionally half-closes, and collects whatever comes back until the server closes. */
function exchange(socket: string, bytes: Buffer, end = true): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    c.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    c.on('close', () => {
      const raw = Buffer.concat(chunks);
      if (raw.length >= 4 && raw.readUInt32BE(0) === raw.length - 4)
        return resolve({ reply: JSON.parse(raw.subarray(4).toString('utf8')), raw });
      resolve({ raw });
    });
    c.on('connect', () => {
      c.write(bytes);
      if (end) c.end();
    });
  });
}

const frame = (body: Buffer | string): Buffer => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const h = Buffer.alloc(4);
  h.writeUInt32BE(b.length, 0);
  return Buffer.concat([h, b]);
};

describe('agent API server', function () {
  this.timeout(120_000);
  let dir: string;
  let socket: string;
  let server: ApiServer | undefined;
  const calls: CniRequest[] = [];
  const handlers = {
    status: async () => ({ ready: true }),
    cni: async (req: CniRequest) => {
      calls.push(req);
      return { ok: true as const, stdout: `ran ${req.plugin}`, stderr: '', exitCode: 3 };
    },
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-api-'));
    socket = path.join(dir, 'run', 'agent.sock');
    calls.length = 0;
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the socket 0600 in a 0700 directory, answers status and removes the socket on close', async () => {
    server = await startApiServer({ socketPath: socket, handlers });
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(socket)).mode & 0o777, 0o700);
    assert.ok(fs.lstatSync(socket).isSocket());
    assert.deepEqual(fs.readdirSync(path.dirname(socket)), ['agent.sock'], 'no bind directory left behind');
    const r = await exchange(socket, encodeFrame({ op: 'status' }));
    assert.deepEqual(r.reply, { ok: true, status: { ready: true } });
    await server.close();
    server = undefined;
    assert.equal(fs.existsSync(socket), false);
  });

  it('forwards a cni request to the handler with its env and stdin as sent', async () => {
    server = await startApiServer({ socketPath: socket, handlers });
    const req = {
      op: 'cni',
      plugin: 'win-bridge',
      env: { CNI_COMMAND: 'ADD', SWITCHYARD_X: 'é"\\' },
      stdin: Buffer.from('{"a":1}').toString('base64'),
    };
    const r = await exchange(socket, encodeFrame(req));
    assert.deepEqual(r.reply, { ok: true, stdout: 'ran win-bridge', stderr: '', exitCode: 3 });
    assert.deepEqual(calls, [req]);
  });

  it('refuses to replace a regular file or a symlink at the socket path, and a live socket', async () => {
    fs.mkdirSync(path.dirname(socket), { mode: 0o700 });
    fs.writeFileSync(socket, 'precious');
    await assert.rejects(startApiServer({ socketPath: socket, handlers }), /not a socket/);
    assert.equal(fs.readFileSync(socket, 'utf8'), 'precious');
    fs.rmSync(socket);
    fs.symlinkSync('/etc/hostname', socket);
    await assert.rejects(startApiServer({ socketPath: socket, handlers }), /not a socket/);
    fs.rmSync(socket);
    server = await startApiServer({ socketPath: socket, handlers });
    await assert.rejects(startApiServer({ socketPath: socket, handlers }), /another agent is listening/);
  });

  it('replaces a stale socket nobody listens on', async function () {
    fs.mkdirSync(path.dirname(socket), { mode: 0o700 });
    // A socket file nobody listens on, as a killed agent leaves it (bound, process gone).
    const r = spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', socket]);
    if (r.status !== 0) this.skip();
    assert.ok(fs.lstatSync(socket).isSocket());
    server = await startApiServer({ socketPath: socket, handlers });
    assert.deepEqual((await exchange(socket, encodeFrame({ op: 'status' }))).reply, { ok: true, status: { ready: true } });
  });

  it('tightens an existing directory to 0700 and refuses a symlinked directory', async () => {
    fs.mkdirSync(path.dirname(socket), { mode: 0o755 });
    fs.chmodSync(path.dirname(socket), 0o755);
    server = await startApiServer({ socketPath: socket, handlers });
    assert.equal(fs.statSync(path.dirname(socket)).mode & 0o777, 0o700);
    await server.close();
    server = undefined;
    const real = path.join(dir, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    fs.symlinkSync(real, path.join(dir, 'link'));
    await assert.rejects(
      startApiServer({ socketPath: path.join(dir, 'link', 'agent.sock'), handlers }),
      /not a directory \(or is a symlink\)/,
    );
  });

  it('refuses a peer that is not root with an error reply (SO_PEERCRED)', async function () {
    if (process.getuid?.() !== 0) this.skip();
    server = await startApiServer({ socketPath: socket, handlers });
    // Open the file modes so only the credential check stands between the peer and the handler.
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.dirname(socket), 0o755);
    fs.chmodSync(socket, 0o666);
    const script = `
      const net = require('node:net');
      const c = net.connect(process.argv[1]);
      const chunks = [];
      c.on('data', (d) => chunks.push(d));
      c.on('error', () => {});
      c.on('close', () => process.stdout.write(Buffer.concat(chunks).subarray(4).toString()));
      c.on('connect', () => { const b = Buffer.from(JSON.stringify({ op: 'status' })); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); c.end(Buffer.concat([h, b])); });
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script, socket], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
      let o = '';
      let e = '';
      child.stdout.on('data', (d) => (o += d));
      child.stderr.on('data', (d) => (e += d));
      child.on('close', (code) => (code === 0 ? resolve(o) : reject(new Error(e))));
    });
    const reply = JSON.parse(out);
    assert.equal(reply.ok, false);
    assert.match(reply.error, /permission denied: uid 65534/);
    assert.deepEqual(calls, []);
  });

  it('answers framing errors with an error reply and keeps serving', async () => {
    server = await startApiServer({ socketPath: socket, handlers, requestTimeoutMs: 5_000 });
    const bad: [string, Buffer, RegExp][] = [
      ['oversized', Buffer.from([0xff, 0xff, 0xff, 0xff]), /exceeds the limit/],
      [
        'just over the limit',
        (() => {
          const h = Buffer.alloc(4);
          h.writeUInt32BE(MAX_FRAME_BYTES + 1);
          return h;
        })(),
        /exceeds the limit/,
      ],
      ['truncated header', Buffer.from([0, 0]), /truncated frame header/],
      ['truncated body', Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from('{"op"')]), /truncated frame \(5 of 10/],
      ['not JSON', frame('{op: status}'), /not JSON/],
      ['not UTF-8', frame(Buffer.from([0x22, 0xff, 0x22])), /not valid UTF-8/],
      ['not an object', frame('[1,2]'), /not a JSON object/],
      ['null', frame('null'), /not a JSON object/],
      ['unknown op', frame('{"op":"reboot"}'), /unknown op "reboot"/],
      ['bad plugin', frame('{"op":"cni","plugin":"../x","env":{},"stdin":""}'), /"plugin"/],
      ['bad env', frame('{"op":"cni","plugin":"win-bridge","env":{"A":1},"stdin":""}'), /"env.A"/],
      ['bad stdin', frame('{"op":"cni","plugin":"win-bridge","env":{},"stdin":"%%%"}'), /"stdin" must be base64/],
      ['two frames', Buffer.concat([encodeFrame({ op: 'status' }), encodeFrame({ op: 'status' })]), /one request per connection/],
    ];
    for (const [name, bytes, re] of bad) {
      const r = await exchange(socket, bytes);
      assert.equal(r.reply?.ok, false, `${name}: ${r.raw.toString()}`);
      assert.match(String(r.reply?.error), re, name);
    }
    assert.deepEqual(calls, []);
    assert.deepEqual((await exchange(socket, encodeFrame({ op: 'status' }))).reply, { ok: true, status: { ready: true } });
  });

  it('survives fuzzed frames (random bytes, lengths, JSON values) and then serves a good request', async () => {
    server = await startApiServer({ socketPath: socket, handlers, requestTimeoutMs: 5_000 });
    const arbFrame = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 64 })).map(([n, a]) => {
        const h = Buffer.alloc(4);
        h.writeUInt32BE(n);
        return Buffer.concat([h, Buffer.from(a)]);
      }),
      fc.jsonValue().map((v) => frame(JSON.stringify(v) ?? 'undefined')),
      fc
        .record(
          {
            op: fc.constantFrom('cni', 'status', 'x'),
            plugin: fc.oneof(fc.string(), fc.constant('win-bridge')),
            env: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
            stdin: fc.string(),
          },
          { requiredKeys: [] },
        )
        .map((v) => frame(JSON.stringify(v))),
    );
    await fc.assert(
      fc.asyncProperty(arbFrame, async (bytes) => {
        const r = await exchange(socket, bytes);
        // A complete frame always gets a reply; anything else at most an error reply.
        if (r.reply === undefined) assert.equal(r.raw.length, 0, `partial reply ${r.raw.toString('hex')}`);
        else if (r.reply.ok !== true) assert.equal(typeof r.reply.error, 'string');
      }),
      { numRuns: 300 },
    );
    const good = { op: 'cni', plugin: 'switchyard', env: { CNI_COMMAND: 'VERSION' }, stdin: '' };
    assert.deepEqual((await exchange(socket, encodeFrame(good))).reply, { ok: true, stdout: 'ran switchyard', stderr: '', exitCode: 3 });
  });

  it('runs a CNI call in process through the executor (VERSION and the about text)', async () => {
    server = await startApiServer({ socketPath: socket, handlers: { status: async () => ({}), cni: cniHandler({}) } });
    const v = await exchange(socket, encodeFrame({ op: 'cni', plugin: 'win-overlay', env: { CNI_COMMAND: 'VERSION' }, stdin: '' }));
    assert.deepEqual(v.reply, {
      ok: true,
      stdout: '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
      stderr: '',
      exitCode: 0,
    });
    const about = await exchange(socket, encodeFrame({ op: 'cni', plugin: 'switchyard-ipam', env: {}, stdin: '' }));
    assert.match(String(about.reply?.stderr), /^CNI switchyard-ipam plugin v/);
    const unknown = await exchange(socket, encodeFrame({ op: 'cni', plugin: 'bridge', env: { CNI_COMMAND: 'VERSION' }, stdin: '' }));
    assert.equal(unknown.reply?.exitCode, 1);
    assert.equal(JSON.parse(String(unknown.reply?.stdout)).code, 50);
  });
});
