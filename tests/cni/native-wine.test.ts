/**
 * The Windows form of the native entrypoint (the mingw-built .exe) under Debian's wine64
 * (docs/windows.md "Under Wine"): VERSION with no agent and no node.exe reports both as CNI error JSON
 * code 50, as the fallback rule says; and an ADD, a CHECK and a DEL through Wine's named pipes reach a
 * Linux agent API server (the .exe → \\.\pipe\… → a Wine relay fixture → TCP 127.0.0.1 → the unix socket)
 * and print what the Node entrypoint prints.
 * Skipped, saying why, when wine64, mingw-w64 or the .exe is missing.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADD, BIN, ROOT, createNamespace, createV1Network, makeLab, run, type Lab, type Run } from './helpers';
import { INSTALL_WIN, inProcessAgent } from './native-routes';
import type { ApiServer } from '../../src/agent/api/types';

const WINE = '/usr/lib/wine/wine64';
const WINESERVER = '/usr/lib/wine/wineserver';
const MINGW = 'x86_64-w64-mingw32-gcc';

function haveMingw(): boolean {
  return spawnSync(MINGW, ['--version']).status === 0;
}

/**
 * wineserver keeps its socket in /tmp/wine-XXXXXX/server-<dev>-<inode of the prefix>/ and leaves it behind:
 * remove the one belonging to this test's prefix (found by the prefix's device and inode).
 */
function removeWineServerDir(prefix: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(prefix);
  } catch {
    return;
  }
  const name = `server-${st.dev.toString(16)}-${st.ino.toString(16)}`;
  for (const d of fs.readdirSync(os.tmpdir())) {
    if (!d.startsWith('wine-')) continue;
    const dir = path.join(os.tmpdir(), d);
    if (fs.existsSync(path.join(dir, name))) fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('native entrypoint: the Windows .exe under Wine', function () {
  this.timeout(300_000);
  let prefix: string;
  let lab: Lab;
  let server: ApiServer | undefined;
  let forwarder: net.Server | undefined;
  let relay: ChildProcess | undefined;
  const pipe = `\\\\.\\pipe\\switchyard-test-${process.pid}`;
  const wineEnv = () => ({ ...lab.env, WINEPREFIX: prefix, WINEDEBUG: '-all' });

  before(async function () {
    const missing = [
      !fs.existsSync(WINE) && `${WINE} (apt-get install wine64)`,
      !haveMingw() && `${MINGW} (apt-get install gcc-mingw-w64-x86-64)`,
      !fs.existsSync(path.join(INSTALL_WIN, 'win-bridge.exe')) &&
        'dist/cni/install/windows/win-bridge.exe (built by npm run build where mingw is)',
    ].filter(Boolean);
    if (missing.length > 0) {
      console.log(`      skipped: missing ${missing.join(', ')}`);
      this.skip();
    }
    prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-wine-'));
    lab = makeLab();
    lab.env.SWITCHYARD_CALL_LOG = '';
  });

  after(async () => {
    relay?.kill('SIGKILL');
    if (prefix) {
      spawnSync(WINESERVER, ['-k'], { env: { ...process.env, WINEPREFIX: prefix } });
      removeWineServerDir(prefix);
    }
    await new Promise<void>((r) => (forwarder ? forwarder.close(() => r()) : r()));
    await server?.close();
    lab?.cleanup();
    if (prefix) fs.rmSync(prefix, { recursive: true, force: true });
  });

  it('VERSION with no agent and no node.exe: CNI error JSON code 50 naming both', async () => {
    const exe = path.join(INSTALL_WIN, 'win-bridge.exe');
    const r = await runExe(exe, { CNI_COMMAND: 'VERSION', SWITCHYARD_AGENT_SOCKET: `\\\\.\\pipe\\switchyard-absent-${process.pid}` }, '');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const e = JSON.parse(r.stdout);
    assert.equal(e.code, 50);
    assert.equal(e.msg, 'switchyard agent is not running and node was not found for the fallback');
    assert.match(
      e.details,
      /^open agent pipe: .*\(error 2\); node\.exe not found \(SWITCHYARD_NODE, .*\\switchyard-node\\node\.exe, PATH\)$/,
    );
  });

  it('ADD, CHECK and DEL through a named pipe reach the agent and print what the Node entrypoint prints', async () => {
    // The agent API on its unix socket, and a TCP door to it that Wine processes can reach.
    const socket = path.join(lab.dir, 'run', 'agent.sock');
    server = await inProcessAgent(socket);
    forwarder = net.createServer((c) => {
      const u = net.connect(socket);
      c.pipe(u).pipe(c);
      c.on('error', () => u.destroy());
      u.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => forwarder!.listen(0, '127.0.0.1', r));
    const port = (forwarder.address() as net.AddressInfo).port;
    const relayExe = path.join(prefix, 'pipe-relay.exe');
    const cc = spawnSync(MINGW, ['-O2', '-o', relayExe, path.join(ROOT, 'tests/fixtures/wine/pipe-relay.c'), '-lws2_32'], {
      encoding: 'utf8',
    });
    assert.equal(cc.status, 0, cc.stderr);
    relay = spawn(WINE, [relayExe, pipe, String(port)], {
      env: { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise<void>((resolve, reject) => {
      relay!.stdout!.once('data', () => resolve());
      relay!.once('exit', (code) => reject(new Error(`pipe relay exited ${code}`)));
    });

    await createV1Network(lab, {
      Name: 'cbr0',
      Type: 'L2Bridge',
      Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }],
    });
    const ns = await createNamespace(lab);
    const conf = {
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      apiVersion: 2,
      ipam: { type: 'switchyard-ipam', subnet: '10.244.1.0/24', dataDir: lab.ipamDir },
    };
    const exe = path.join(INSTALL_WIN, 'win-bridge.exe');
    const viaPipe = { SWITCHYARD_AGENT_SOCKET: pipe };

    const version = await runExe(exe, { CNI_COMMAND: 'VERSION', ...viaPipe }, '');
    const nodeVersion = await run(path.join(BIN, 'win-bridge'), lab, { CNI_COMMAND: 'VERSION' }, '');
    assert.deepEqual([version.code, version.stdout], [nodeVersion.code, nodeVersion.stdout]);

    const add = await runExe(exe, { ...ADD('wine1', ns), ...viaPipe }, conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.match(add.json().ips[0].address, /^10\.244\.1\.\d+\/24$/);
    // The same call from the Node entrypoint for another container prints the same document but its own address and MAC.
    const nodeAdd = await run(path.join(BIN, 'win-bridge'), lab, ADD('wine2', ns), conf);
    const shape = (s: string) =>
      s
        .replace(/10\.244\.1\.\d+/g, '<ip>')
        .replace(/wine\d/g, '<id>')
        .replace(/00-15-5D(-[0-9A-F]{2}){3}/g, '<mac>');
    assert.equal(shape(add.stdout), shape(nodeAdd.stdout));

    const check = await runExe(exe, { ...ADD('wine1', ns), CNI_COMMAND: 'CHECK', ...viaPipe }, { ...conf, prevResult: add.json() });
    assert.equal(check.code, 0, check.stdout);
    const del = await runExe(exe, { ...ADD('wine1', ns), CNI_COMMAND: 'DEL', ...viaPipe }, conf);
    assert.deepEqual([del.code, del.stdout], [0, '']);
    const s = await lab.service();
    try {
      assert.deepEqual(
        (await s.listEndpoints()).map((e) => e.Name),
        ['wine2_cbr0'],
      );
    } finally {
      await s.close();
    }
  });

  /** Runs a .exe under Wine as a runtime would: env, stdin, stdout, exit status. */
  function runExe(exe: string, env: Record<string, string | undefined>, stdin: string | object): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(WINE, [exe], {
        env: { ...wineEnv(), ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) } as NodeJS.ProcessEnv,
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.stdin.on('error', () => {});
      child.on('close', (code) => resolve({ code: code ?? -1, stdout: out, stderr: err, json: () => JSON.parse(out) }));
      child.stdin.end(typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
    });
  }
});
