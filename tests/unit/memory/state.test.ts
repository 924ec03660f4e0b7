import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDataplane } from '../../../src/dataplane/factory';
import { EmulatorStateError, openMemory } from '../../../src/dataplane/memory';

const tempStateAt = (statePath: string) => openMemory({ statePath, env: {} });
import { parseHnsJson } from '../../../src/hns';
import { l2bridge, rejectsWith, tempState, type TempState } from './helpers';

const WORKER = path.join(__dirname, 'fixtures', 'worker.js');

describe('memory data plane: state file', () => {
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('creates the directory and survives reopening by another instance', async () => {
    const a = t.open();
    const net = await a.createNetwork(l2bridge());
    const ep = await a.createEndpoint(net.ID!, { Name: 'pod' });
    const b = t.open();
    assert.deepEqual(await b.listNetworks(), [net]);
    assert.deepEqual(await b.getEndpoint(ep.ID!), ep);
    const doc = JSON.parse(fs.readFileSync(t.statePath, 'utf8'));
    assert.equal(doc.Kind, 'switchyard-hns-emulator');
    assert.equal(doc.Endpoints[0].ID, ep.ID);
    assert.equal(fs.statSync(t.statePath).mode & 0o777, 0o600);
  });

  it('keeps uint64 values exact (beyond 2^53)', async () => {
    const hns = t.open();
    const luid = 18446744073709551557n;
    const net = await hns.createNetwork({
      ...l2bridge(),
      Policies: [{ Type: 'InterfaceConstraint', Settings: { InterfaceLuid: luid, InterfaceIndex: 7 } }],
      Health: { LastUpdateTime: 132512345678901234n },
    });
    const again = await t.open().getNetwork(net.ID!);
    assert.equal((again.Policies![0].Settings as { InterfaceLuid: bigint }).InterfaceLuid, luid);
    assert.equal(again.Health!.LastUpdateTime, 132512345678901234n);
    assert.match(fs.readFileSync(t.statePath, 'utf8'), /"InterfaceLuid":\s*18446744073709551557/);
  });

  it('a refused request leaves the file byte-for-byte unchanged', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    await hns.createEndpoint(net.ID!, {
      Policies: [{ Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 80 } }],
    });
    const before = fs.readFileSync(t.statePath);
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [{ Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 80 } }] }),
      'HCN_E_PORT_ALREADY_EXISTS',
    );
    await rejectsWith(hns.deleteNetwork(net.ID!), 'HCN_E_ENTITY_HAS_REFERENCES');
    assert.deepEqual(fs.readFileSync(t.statePath), before);
  });

  it('a corrupt state file is a clear error naming the file, and is never reset', async () => {
    fs.mkdirSync(path.dirname(t.statePath), { recursive: true });
    fs.writeFileSync(t.statePath, '{"Kind":"switchyard-hns-emulator", "Networks": [');
    const hns = t.open();
    await assert.rejects(
      hns.listNetworks(),
      (e: unknown) => e instanceof EmulatorStateError && e.message.includes(t.statePath) && /not valid JSON/.test(e.message),
    );
    await assert.rejects(hns.createNetwork(l2bridge()), EmulatorStateError);
    assert.equal(fs.readFileSync(t.statePath, 'utf8'), '{"Kind":"switchyard-hns-emulator", "Networks": [');
    fs.writeFileSync(t.statePath, '{"some":"other file"}');
    await assert.rejects(hns.listEndpoints(), /is not an emulator state file/);
  });

  it('a state file with a damaged Host section is refused, naming the field', async () => {
    const hns = t.open();
    await hns.createNamespace({});
    const doc = JSON.parse(fs.readFileSync(t.statePath, 'utf8'));
    delete doc.Host.NextNamespaceId;
    fs.writeFileSync(t.statePath, JSON.stringify(doc));
    await assert.rejects(t.open().createNamespace({}), /Host\.NextNamespaceId/);
  });

  it('a state path that cannot be created is an error naming the file', async () => {
    // A regular file where the directory should be: refused even for root.
    const blocker = path.join(t.dir, 'not-a-dir');
    fs.writeFileSync(blocker, '');
    const file = path.join(blocker, 'hns.json');
    await assert.rejects(
      tempStateAt(file).createNamespace({}),
      (e: unknown) => e instanceof EmulatorStateError && e.message.includes(file) && /cannot be locked/.test(e.message),
    );
    await assert.rejects(
      tempStateAt(file).listNetworks(),
      (e: unknown) => e instanceof EmulatorStateError && /cannot be read \(ENOTDIR\)/.test(e.message),
    );
  });

  it('parallel mutations inside one process serialize on the lock', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const eps = await Promise.all(Array.from({ length: 20 }, (_, i) => hns.createEndpoint(net.ID!, { Name: `p${i}` })));
    assert.equal(new Set(eps.map((e) => e.IpConfigurations![0].IpAddress)).size, 20);
    assert.equal((await hns.listEndpoints()).length, 20);
  });

  it('openDataplane picks the version from SWITCHYARD_HNS_VERSION and the state from SWITCHYARD_STATE', async () => {
    const hns = await openDataplane({ kind: 'memory', env: { SWITCHYARD_STATE: t.statePath, SWITCHYARD_HNS_VERSION: '12.0' } });
    assert.equal(hns.kind, 'memory');
    assert.deepEqual(await hns.version(), { Major: 12, Minor: 0 });
    assert.equal((await hns.features()).ModifyLoadbalancer, false);
    await hns.createNetwork(l2bridge());
    assert.ok(fs.existsSync(t.statePath));
    await hns.close();
  });

  it('rejects a malformed SWITCHYARD_EMULATOR_MANAGEMENT_IP', async () => {
    await assert.rejects(
      openDataplane({ kind: 'memory', statePath: t.statePath, env: { SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.0' } }),
      /SWITCHYARD_EMULATOR_MANAGEMENT_IP must be an IP address/,
    );
  });
});

describe('memory data plane: several processes on one state file', function () {
  this.timeout(120_000);
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('20 concurrent processes creating endpoints lose no update: all present, distinct IDs and IPs', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge('cbr0', '10.244.0.0/16', '10.244.0.1'));
    const procs = 20;
    const each = 5;
    const exits = await Promise.all(
      Array.from(
        { length: procs },
        () =>
          new Promise<{ code: number | null; err: string }>((resolve) => {
            const child = spawn(process.execPath, [WORKER, t.statePath, net.ID!, String(each)], { stdio: ['ignore', 'ignore', 'pipe'] });
            let err = '';
            child.stderr.on('data', (d) => {
              err += d;
            });
            child.on('exit', (code) => resolve({ code, err }));
          }),
      ),
    );
    for (const x of exits) assert.equal(x.code, 0, x.err);
    const eps = await hns.listEndpoints();
    assert.equal(eps.length, procs * each);
    assert.equal(new Set(eps.map((e) => e.ID)).size, procs * each, 'distinct IDs');
    assert.equal(new Set(eps.map((e) => e.IpConfigurations![0].IpAddress)).size, procs * each, 'distinct IPs');
    assert.equal(new Set(eps.map((e) => e.MacAddress)).size, procs * each, 'distinct MACs');
    assert.equal(new Set(eps.map((e) => e.Name)).size, procs * each);
  });

  it('a process killed with SIGKILL while mutating leaves a parseable state that others keep using', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge('cbr0', '10.244.0.0/16', '10.244.0.1'));
    const child = spawn(process.execPath, [WORKER, t.statePath, net.ID!, '0', '', '--forever'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Wait until it has committed several endpoints and is in the middle of more, then kill it.
    await new Promise<void>((resolve, reject) => {
      let lines = 0;
      child.stdout.on('data', (d: Buffer) => {
        lines += d.toString().split('\n').length - 1;
        if (lines >= 15) resolve();
      });
      child.on('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const doc = parseHnsJson<{ Endpoints: unknown[] }>(fs.readFileSync(t.statePath, 'utf8'));
    assert.ok(doc.Endpoints.length >= 15);
    // The kernel released its lock: another process can mutate straight away.
    const ep = await t.open().createEndpoint(net.ID!, { Name: 'after-kill' });
    assert.equal((await hns.getEndpoint(ep.ID!)).Name, 'after-kill');
    const r = spawnSync(process.execPath, [WORKER, t.statePath, net.ID!, '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await hns.listEndpoints()).length, doc.Endpoints.length + 2);
    const leftovers = fs.readdirSync(path.dirname(t.statePath)).filter((n) => n.endsWith('.tmp'));
    assert.deepEqual(leftovers, [], 'temp files of the killed writer are cleaned up by the next mutation');
  });
});
