/**
 * The powershell data plane driven through its shell interface by a fake PowerShell that accepts only the
 * data plane's constant command text and runs each decoded operation on the memory data plane: the shared
 * conformance suite, plus session handling (import, timeouts kill the session, adversarial names).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openMemory } from '../../../src/dataplane/memory';
import { PowerShellDataplane, moduleManifest } from '../../../src/dataplane/windows/powershell';
import { parseCommand } from '../../../src/dataplane/windows/powershell/command';
import type { HostNetworkService } from '../../../src/dataplane/types';
import { HRESULT, buildQuery, type HnsVersion } from '../../../src/hns';
import { runConformance, rejectsKind } from '../../conformance/suite';
import { fakeShellFactory, type FakeShellLog, type FakeShellOptions } from './fake-shell';

let dir = '';
const newLog = (): FakeShellLog => ({ scripts: [], imported: [], disposed: 0, sessions: 0 });

function openPs(log: FakeShellLog, opts: FakeShellOptions & { timeoutMs?: number; version?: HnsVersion } = {}): HostNetworkService {
  const memory = openMemory({ statePath: path.join(dir, 'hns.json'), emulatedVersion: opts.version, env: {} });
  return new PowerShellDataplane({
    shell: fakeShellFactory(memory, log, opts),
    modulePath: '/opt/switchyard/ps-modules/Switchyard.Hns/Switchyard.Hns.psd1',
    timeoutMs: opts.timeoutMs ?? 10_000,
    shellName: 'pwsh',
  });
}

const fresh = () => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-ps-'));
};

let conformanceLog = newLog();
runConformance('powershell (fake PowerShell over the memory data plane)', async () => openPs(conformanceLog), {
  reset: () => {
    fresh();
    conformanceLog = newLog();
  },
  verify: () => {
    // Every script the data plane sent was one of the two allowed shapes.
    for (const s of conformanceLog.scripts) assert.ok(parseCommand(s) || s.startsWith('Import-Module -Name ([System.Text.Encoding]'), s);
  },
});

describe('powershell data plane: session and envelopes', function () {
  beforeEach(fresh);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('imports the module once per session and keeps the session for later calls', async function () {
    const log = newLog();
    const ps = openPs(log);
    await ps.listNetworks();
    await ps.listEndpoints();
    assert.deepEqual(log.imported, ['/opt/switchyard/ps-modules/Switchyard.Hns/Switchyard.Hns.psd1']);
    assert.equal(log.sessions, 1);
    await ps.close();
    assert.equal(log.disposed, 1);
  });

  it('carries names with quotes, ;, $(), backticks and newlines as data', async function () {
    const log = newLog();
    const ps = openPs(log);
    const name = 'evil\'; Remove-Item C:\\ -Recurse; $(Stop-Computer) `n\n"x" réseau 🚀';
    const net = await ps.createNetwork({ Name: name, Type: 'L2Bridge' });
    assert.equal(net.Name, name);
    assert.deepEqual(
      (await ps.listNetworks(buildQuery({ Name: name }))).map((n) => n.Name),
      [name],
    );
    for (const s of log.scripts.slice(1)) {
      assert.ok(parseCommand(s), `constant shape: ${s}`);
      assert.ok(!s.includes('Remove-Item') && !s.includes('$('), 'nothing of the name in the script text');
    }
    await ps.close();
  });

  it('maps the module error envelope to HnsError (HRESULT, call, record)', async function () {
    const ps = openPs(newLog());
    const e = await rejectsKind(ps.getNetwork('5a1f7d34-6a8b-4c55-9a0e-3c3f2b1d0e11'), 'not-found');
    assert.equal(e.hresult, HRESULT.ERROR_NOT_FOUND);
    assert.ok(e.record && JSON.parse(e.record).ErrorCode === HRESULT.ERROR_NOT_FOUND);
    const bad = await rejectsKind(ps.getNetwork("x'; calc"), 'bad-input');
    assert.match(bad.message, /network ID "x'; calc" is not a GUID/);
    await ps.close();
  });

  it('times out a hung session, kills it, and starts a new one for the next call', async function () {
    const log = newLog();
    // Generous: the calls before and after the hung one must finish inside it even on a loaded CI machine.
    const ps = openPs(log, { hang: new Set(['ListEndpoints']), timeoutMs: 750 });
    await ps.listNetworks();
    const e = await rejectsKind(ps.listEndpoints(), 'timeout');
    assert.match(e.message, /Invoke-SwitchyardHnsOperation ListEndpoints did not return within 750 ms/);
    assert.equal(log.disposed, 1, 'the hung session was killed');
    await ps.listNetworks();
    assert.equal(log.sessions, 2, 'a new session was started');
    assert.equal(log.imported.length, 2, 'and the module imported into it');
    await ps.close();
  });

  it('reports a PowerShell that cannot start or dies as unavailable, and recovers with a new session', async function () {
    const log = newLog();
    const ps = openPs(log, { failStarts: 1, crash: new Set(['ListEndpoints']) });
    const start = await rejectsKind(ps.listNetworks(), 'unavailable');
    assert.match(
      start.message,
      /PowerShell \(pwsh\) is not usable: Shell process exited\. spawn pwsh ENOENT; install it or set SWITCHYARD_POWERSHELL/,
    );
    await ps.listNetworks(); // second session starts
    const died = await rejectsKind(ps.listEndpoints(), 'unavailable');
    assert.equal(died.call, 'Invoke-SwitchyardHnsOperation ListEndpoints');
    await ps.listNetworks();
    assert.equal(log.sessions, 3, 'a new session after each failure');
    await ps.close();
  });

  it('reads the version through the module and gates features by it', async function () {
    const ps = openPs(newLog(), { version: { Major: 10, Minor: 1 } });
    assert.deepEqual(await ps.version(), { Major: 10, Minor: 1 });
    const e = await rejectsKind(
      ps.createLoadBalancer({ FrontendVIPs: ['10.96.0.1'], Flags: 1, PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }] }),
      'unsupported',
    );
    assert.match(e.message, /needs HNS 9\.3–9\.x or ≥ 10\.2.*this host runs HNS 10\.1/);
    assert.deepEqual(await ps.v1!.call('GET', '/globals/version'), { Major: 10, Minor: 1 });
    await ps.close();
  });

  it('finds the module manifest in this checkout', function () {
    const m = moduleManifest({});
    assert.ok(fs.existsSync(m) && m.endsWith(path.join('ps-modules', 'Switchyard.Hns', 'Switchyard.Hns.psd1')), m);
  });
});
