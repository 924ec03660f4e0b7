/**
 * The copyable CNI bin directory (docs/cni.md "Install by copying"): copied to a fresh directory it serves
 * ADD/CHECK/DEL on the memory data plane through the fallback, with and without SWITCHYARD_LOG_FILE, with
 * nothing from the repository's node_modules reachable; failures are CNI error JSON. And the native
 * entrypoint's own failures: no agent and no fallback, an agent that accepts and never answers (code 11
 * after SWITCHYARD_AGENT_TIMEOUT_MS, nothing else printed), an agent that drops the connection.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADD, CHECK, DEL, createNamespace, createV1Network, makeLab, run, type Lab } from './helpers';
import { INSTALL, copyInstall } from './native-routes';

const NODE_DIR = path.dirname(process.execPath);

describe('native entrypoint: install by copying', function () {
  this.timeout(120_000);
  let lab: Lab;
  let bin: string;
  let ns: string;

  before(async function () {
    if (!fs.existsSync(path.join(INSTALL, 'win-bridge'))) this.skip();
    lab = makeLab();
    // Only node's own directory on PATH, run from an unrelated cwd: nothing resolves to the repository.
    lab.env.PATH = `${NODE_DIR}:/usr/bin:/bin`;
    lab.env.SWITCHYARD_AGENT_SOCKET = path.join(lab.dir, 'no-agent.sock');
    bin = copyInstall();
    await createV1Network(lab, {
      Name: 'cbr0',
      Type: 'L2Bridge',
      Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }],
    });
    ns = await createNamespace(lab);
  });
  after(() => {
    lab?.cleanup();
    if (bin) fs.rmSync(bin, { recursive: true, force: true });
  });

  const conf = () => ({
    cniVersion: '1.0.0',
    name: 'cbr0',
    type: 'win-bridge',
    apiVersion: 2,
    ipam: { type: 'switchyard-ipam', subnet: '10.244.1.0/24', dataDir: lab.ipamDir },
  });

  for (const logging of [false, true]) {
    it(`ADD, CHECK, DEL from a copied bin dir ${logging ? 'with' : 'without'} SWITCHYARD_LOG_FILE`, async () => {
      const logFile = path.join(lab.dir, 'cni.log');
      const extra = logging ? { SWITCHYARD_LOG_FILE: logFile } : {};
      const id = `copy${logging ? 'log' : 'plain'}`;
      const cni = (e: Record<string, string>) => ({ ...e, CNI_PATH: bin, ...extra });
      const add = await run(path.join(bin, 'win-bridge'), lab, cni(ADD(id, ns) as Record<string, string>), conf());
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(add.json().ips[0].address.startsWith('10.244.1.'), true);
      const check = await run(path.join(bin, 'win-bridge'), lab, cni(CHECK(id, ns) as Record<string, string>), {
        ...conf(),
        prevResult: add.json(),
      });
      assert.equal(check.code, 0, check.stdout + check.stderr);
      const del = await run(path.join(bin, 'win-bridge'), lab, cni(DEL(id, ns) as Record<string, string>), conf());
      assert.equal(del.code, 0, del.stdout + del.stderr);
      // A failure is CNI error JSON, never a stack trace.
      const bad = await run(path.join(bin, 'win-bridge'), lab, cni(ADD(id, ns) as Record<string, string>), { ...conf(), name: 'absent' });
      assert.equal(bad.code, 1);
      assert.equal(bad.json().code, 999);
      assert.doesNotMatch(bad.stdout + bad.stderr, /\n\s+at /);
      if (logging) {
        const lines = fs
          .readFileSync(logFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        assert.deepEqual(
          lines.map((l) => l.message),
          ['cni call succeeded', 'cni call succeeded', 'cni call succeeded', 'cni call failed'],
        );
      }
    });
  }

  it('no agent and no node: CNI error code 50 naming what was tried', async () => {
    const r = await run(path.join(bin, 'switchyard'), lab, { CNI_COMMAND: 'VERSION', PATH: '/nonexistent' }, '');
    assert.equal(r.code, 1);
    const e = r.json();
    assert.equal(e.code, 50);
    assert.match(e.msg, /agent is not running and node was not found/);
    assert.match(e.details, /switchyard-node\/node, PATH/);
  });

  it('SWITCHYARD_NODE picks the node the fallback runs', async () => {
    const r = await run(
      path.join(bin, 'switchyard'),
      lab,
      { CNI_COMMAND: 'VERSION', PATH: '/nonexistent', SWITCHYARD_NODE: process.execPath },
      '',
    );
    assert.equal(r.code, 0, r.stdout);
    assert.equal(JSON.parse(r.stdout).cniVersion, '1.1.0');
  });

  it('no Node entrypoint next to the native one: CNI error code 50', async () => {
    const lone = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cnibin-'));
    try {
      fs.copyFileSync(path.join(bin, 'win-overlay'), path.join(lone, 'win-overlay'));
      fs.chmodSync(path.join(lone, 'win-overlay'), 0o755);
      const r = await run(path.join(lone, 'win-overlay'), lab, { CNI_COMMAND: 'VERSION' }, '');
      assert.equal(r.code, 1);
      assert.equal(r.json().code, 50);
      assert.match(r.json().details, /no Node entrypoint at .*switchyard-node\/win-overlay\.js/);
    } finally {
      fs.rmSync(lone, { recursive: true, force: true });
    }
  });

  /** A listener that accepts and then does what `behave` says with each connection. */
  async function fakeAgent(behave: (s: net.Socket) => void): Promise<{ socket: string; close(): Promise<void> }> {
    const socket = path.join(lab.dir, `fake-${Math.random().toString(36).slice(2)}.sock`);
    const conns = new Set<net.Socket>();
    const server = net.createServer((s) => {
      conns.add(s);
      s.on('error', () => {});
      behave(s);
    });
    await new Promise<void>((r) => server.listen(socket, r));
    return {
      socket,
      close: () =>
        new Promise<void>((r) => {
          for (const c of conns) c.destroy();
          server.close(() => r());
        }),
    };
  }

  it('an agent that accepts and never answers: code 11 after SWITCHYARD_AGENT_TIMEOUT_MS, nothing else', async () => {
    const agent = await fakeAgent(() => {});
    try {
      const r = await run(
        path.join(bin, 'win-bridge'),
        lab,
        { ...ADD('slow', ns), SWITCHYARD_AGENT_SOCKET: agent.socket, SWITCHYARD_AGENT_TIMEOUT_MS: '300' },
        conf(),
      );
      assert.equal(r.code, 1);
      assert.equal(r.stderr, '');
      assert.deepEqual(r.json(), {
        code: 11,
        msg: 'no reply from the switchyard agent',
        details: 'no answer from the agent before the deadline',
      });
    } finally {
      await agent.close();
    }
  });

  it('an agent that drops the connection, or sends half a reply: code 11, never a partial result', async () => {
    for (const behave of [
      (s: net.Socket) => s.once('data', () => s.destroy()),
      (s: net.Socket) =>
        s.once('data', () => s.end(Buffer.concat([Buffer.from([0, 0, 0, 100]), Buffer.from('{"ok":true,"stdout":"{\\"cniVersion\\"')]))),
      (s: net.Socket) => s.once('data', () => s.end(Buffer.concat([Buffer.from([0, 0, 0, 9]), Buffer.from('{"ok":tru')]))),
    ]) {
      const agent = await fakeAgent(behave);
      try {
        const r = await run(path.join(bin, 'win-bridge'), lab, { ...ADD('drop', ns), SWITCHYARD_AGENT_SOCKET: agent.socket }, conf());
        assert.equal(r.code, 1);
        assert.equal(r.json().code, 11, r.stdout);
      } finally {
        await agent.close();
      }
    }
  });

  it("the agent refusing the call: CNI error code 999 with the agent's reason", async () => {
    const agent = await fakeAgent((s) =>
      s.once('data', () => {
        const body = Buffer.from(JSON.stringify({ ok: false, error: 'permission denied: uid 1000 <x> & y' }));
        const h = Buffer.alloc(4);
        h.writeUInt32BE(body.length);
        s.end(Buffer.concat([h, body]));
      }),
    );
    try {
      const r = await run(path.join(bin, 'win-bridge'), lab, { ...ADD('refused', ns), SWITCHYARD_AGENT_SOCKET: agent.socket }, conf());
      assert.equal(r.code, 1);
      // Printed exactly as the plugins print errors (Go's encoding/json escapes <, > and &).
      assert.equal(
        r.stdout,
        '{\n    "code": 999,\n    "msg": "the switchyard agent refused the call",\n    "details": "permission denied: uid 1000 \\u003cx\\u003e \\u0026 y"\n}',
      );
    } finally {
      await agent.close();
    }
  });

  it('forwards CNI_* and SWITCHYARD_* only, JSON-escaped, with stdin as base64 byte for byte', async () => {
    let got: Record<string, unknown> | undefined;
    const agent = await fakeAgent((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d) => {
        chunks.push(d);
        const all = Buffer.concat(chunks);
        if (all.length < 4 || all.length < 4 + all.readUInt32BE(0)) return;
        got = JSON.parse(all.subarray(4).toString('utf8'));
        const body = Buffer.from(JSON.stringify({ ok: true, stdout: 'out ✓ "q"\n', stderr: 'err\u0001', exitCode: 7 }));
        const h = Buffer.alloc(4);
        h.writeUInt32BE(body.length);
        s.end(Buffer.concat([h, body]));
      });
    });
    try {
      const stdin = Buffer.from([0x7b, 0x00, 0xff, 0x22, 0x5c, 0x0a, 0xe2, 0x9c, 0x93]);
      const weird = 'tab\t"quote"\\back\u0001ctl é ✓ \u{1F600}';
      const env = { ...ADD('fwd', ns), SWITCHYARD_AGENT_SOCKET: agent.socket, SWITCHYARD_ODD: weird, OTHER_VAR: 'not forwarded' };
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const { spawn } = require('node:child_process') as typeof import('node:child_process');
        const child = spawn(path.join(bin, 'win-bridge'), [], { env: { ...lab.env, ...env } });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => resolve({ code: code ?? -1, stdout: out, stderr: err }));
        child.stdin.end(stdin);
      });
      assert.equal(r.code, 7);
      assert.equal(r.stdout, 'out ✓ "q"\n');
      assert.equal(r.stderr, 'err\u0001');
      assert.equal(got!.op, 'cni');
      assert.equal(got!.plugin, 'win-bridge');
      assert.equal(Buffer.from(String(got!.stdin), 'base64').toString('hex'), stdin.toString('hex'));
      const fwd = got!.env as Record<string, string>;
      assert.equal(fwd.SWITCHYARD_ODD, weird);
      assert.equal(fwd.CNI_CONTAINERID, 'fwd');
      assert.equal(fwd.OTHER_VAR, undefined);
      assert.equal(fwd.PATH, undefined);
    } finally {
      await agent.close();
    }
  });
});
