/**
 * The agent's service-manager hooks: sd-notify sends READY=1 / STOPPING=1 as one datagram to NOTIFY_SOCKET (a
 * path or an abstract "@name"), received here by a fake systemd socket bound through libc; stop-signal turns
 * the service host's "stop" line or the end of stdin into exactly one graceful stop, and only when the host
 * asked for it (SWITCHYARD_SERVICE_STOP=stdin) — in-process with a stream and in a real child process.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { notifyReady, notifyStopping, sdNotify, sockaddrUn } from '../../../src/agent/platform/sd-notify';
import { watchServiceStop } from '../../../src/agent/platform/stop-signal';

type Fn = (...args: unknown[]) => number;

/** A unix datagram socket bound at `name`, read without blocking: what systemd's notify socket receives. */
function fakeNotifySocket(name: string) {
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int, int, int)') as Fn;
  const bind = lib.func('int bind(int, const void *, uint32_t)') as Fn;
  const recv = lib.func('intptr_t recv(int, _Out_ uint8_t *buf, size_t, int)') as Fn;
  const close = lib.func('int close(int)') as Fn;
  const fd = socket(1, 2, 0);
  assert.ok(fd >= 0);
  const addr = sockaddrUn(name);
  assert.equal(bind(fd, addr, addr.length), 0, `bind ${name}`);
  return {
    take(): string | undefined {
      const buf = Buffer.alloc(4096);
      const n = Number(recv(fd, buf, buf.length, 0x40 /* MSG_DONTWAIT */));
      return n > 0 ? buf.subarray(0, n).toString('utf8') : undefined;
    },
    close: () => close(fd),
  };
}

describe('agent platform: sd-notify', function () {
  if (process.platform !== 'linux') return;
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-notify-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sends READY=1 and STOPPING=1 as single datagrams to a path socket', async () => {
    const sockPath = path.join(dir, 'notify');
    const sock = fakeNotifySocket(sockPath);
    try {
      assert.equal(await notifyReady({ NOTIFY_SOCKET: sockPath }), true);
      assert.equal(sock.take(), 'READY=1\nSTATUS=pod network ready');
      assert.equal(await notifyStopping({ NOTIFY_SOCKET: sockPath }), true);
      assert.equal(sock.take(), 'STOPPING=1\nSTATUS=stopping');
      assert.equal(sock.take(), undefined, 'nothing more');
    } finally {
      sock.close();
    }
  });

  it('reaches an abstract-namespace socket (@name)', async () => {
    const name = `@sy-notify-${process.pid}-${Date.now()}`;
    const sock = fakeNotifySocket(name);
    try {
      assert.equal(await sdNotify('READY=1', { NOTIFY_SOCKET: name }), true);
      assert.equal(sock.take(), 'READY=1');
    } finally {
      sock.close();
    }
  });

  it('does nothing without NOTIFY_SOCKET, and reports a socket nobody listens on', async () => {
    assert.equal(await notifyReady({}), true);
    assert.equal(await sdNotify('READY=1', { NOTIFY_SOCKET: path.join(dir, 'nobody'), PATH: '/nonexistent' }), false);
  });
});

describe("agent platform: the service host's stop (stdin)", () => {
  it('a "stop" line triggers one graceful stop; later input and EOF do not repeat it', () => {
    const stdin = new PassThrough();
    const reasons: string[] = [];
    const dispose = watchServiceStop((r) => reasons.push(r), { env: { SWITCHYARD_SERVICE_STOP: 'stdin' }, stdin });
    stdin.write('sto');
    assert.deepEqual(reasons, []);
    stdin.write('p\nstop\n');
    stdin.end();
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        assert.deepEqual(reasons, ['service host: stop requested']);
        dispose();
        resolve();
      }),
    );
  });

  it('the end of stdin (the host is gone) stops the agent', () =>
    new Promise<void>((resolve) => {
      const stdin = new PassThrough();
      watchServiceStop(
        (r) => {
          assert.equal(r, 'service host: stdin closed');
          resolve();
        },
        { env: { SWITCHYARD_SERVICE_STOP: 'stdin' }, stdin },
      );
      stdin.resume();
      stdin.end('hello\n');
    }));

  it('without SWITCHYARD_SERVICE_STOP=stdin, stdin is not read', () => {
    const stdin = new PassThrough();
    watchServiceStop(() => assert.fail('must not stop'), { env: {}, stdin });
    assert.equal(stdin.listenerCount('data'), 0);
    assert.equal(stdin.listenerCount('end'), 0);
  });

  it('in a child process with a pipe as stdin, as the service host starts the agent', async () => {
    const mod = require.resolve('../../../src/agent/platform/stop-signal');
    const script = `const { watchServiceStop } = require(${JSON.stringify(mod)});
      const t = setInterval(() => {}, 1000);
      console.log('running');
      watchServiceStop((r) => { console.log('stopping: ' + r); clearInterval(t); process.exitCode = 0; });`;
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, SWITCHYARD_SERVICE_STOP: 'stdin' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('running\n') && !child.stdin.writableEnded) child.stdin.end('stop\n');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    assert.equal(out, 'running\nstopping: service host: stop requested\n');
  });
});
