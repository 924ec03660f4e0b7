/**
 * `switchyard service` on Windows, run here through the SCM emulator (src/service/scm-memory.ts), which records
 * every SCM call with its parameters: the service created with the service host's ImagePath (quoted by the
 * Windows rules), automatic start, after hns, recovery (restart after 5 s ×3, reset after a day, also on a
 * non-zero exit), kubelet's DependOnService appended to and restored (never losing its other dependencies),
 * idempotency, and the files (service-host.conf, agent.yaml) under a temp root standing for C:\.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Plan, type InstallRequest } from '../../../src/service/common';
import { MemoryScm } from '../../../src/service/scm-memory';
import { WindowsScmBackend, DESCRIPTION, DISPLAY_NAME } from '../../../src/service/windows-scm';
import { parseWindowsCommandLine } from '../../../src/service/quote';
import type { AgentCleanup } from '../../../src/service/purge';
import { ServiceSandbox } from './helpers';

const HOST_EXE = 'C:\\Program Files\\Switchyard\\switchyard-service.exe';
const IMAGE_PATH = '"C:\\Program Files\\Switchyard\\switchyard-service.exe" --conf C:\\ProgramData\\Switchyard\\service-host.conf';
const RECOVERY = {
  resetPeriodSec: 86400,
  actions: [
    { type: 1, delayMs: 5000 },
    { type: 1, delayMs: 5000 },
    { type: 1, delayMs: 5000 },
  ],
};
const noCleanup: AgentCleanup = { unavailable: async () => 'no cleanup in this test', run: async () => '', describe: () => [] };

describe('service on Windows (SCM emulator)', () => {
  let dir: string;
  let root: string;
  let scm: MemoryScm;
  let config: string;
  let req: InstallRequest;
  const backend = (hostExe = HOST_EXE) =>
    new WindowsScmBackend({ scm, root, programData: 'C:\\ProgramData', hostExe, sleep: async () => {} });
  const ops = () => scm.calls.splice(0).map((c) => [c.op, c.service, c.args].filter((x) => x !== undefined));
  const run = async (fn: (plan: Plan) => Promise<void>, dryRun = false) => {
    const plan = new Plan(dryRun);
    await fn(plan);
    return plan.lines;
  };
  const at = (winPath: string) => path.join(root, winPath.replace(/^C:\\/, 'C\\').split('\\').join('/'));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-scm-'));
    root = path.join(dir, 'root');
    fs.mkdirSync(path.dirname(at(HOST_EXE)), { recursive: true });
    fs.writeFileSync(at(HOST_EXE), 'MZ');
    config = path.join(dir, 'agent.yaml');
    fs.writeFileSync(config, 'nodeName: win-a\n');
    scm = new MemoryScm();
    scm.seed('hns');
    scm.seed('kubelet', { dependencies: ['containerd'] });
    scm.seed('containerd');
    scm.calls.length = 0;
    req = {
      configFile: config,
      configInPlace: false,
      stopTimeoutSec: 30,
      nodePath: 'C:\\Program Files\\nodejs\\node.exe',
      cliPath: 'C:\\Program Files\\Switchyard\\dist\\src\\cli\\main.js',
    };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('install creates the service with the exact SCM calls, makes kubelet depend on it, and starts it', async () => {
    const lines = await run((p) => backend().install(req, p));
    assert.deepEqual(ops(), [
      ['OpenSCManagerW'],
      ['OpenServiceW', 'hns'],
      ['OpenServiceW', 'switchyard-agent'],
      [
        'CreateServiceW',
        'switchyard-agent',
        { serviceType: 0x10, startType: 2, errorControl: 1, binaryPath: IMAGE_PATH, displayName: DISPLAY_NAME, dependencies: ['hns'] },
      ],
      ['ChangeServiceConfig2W(SERVICE_CONFIG_DESCRIPTION)', 'switchyard-agent', DESCRIPTION],
      ['ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS)', 'switchyard-agent', RECOVERY],
      ['ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS_FLAG)', 'switchyard-agent', true],
      ['OpenServiceW', 'kubelet'],
      ['QueryServiceConfigW', 'kubelet'],
      ['ChangeServiceConfigW', 'kubelet', { dependencies: ['containerd', 'switchyard-agent'] }],
      ['QueryServiceStatusEx', 'switchyard-agent'],
      ['StartServiceW', 'switchyard-agent'],
      ['QueryServiceStatusEx', 'switchyard-agent'],
    ]);
    assert.deepEqual(parseWindowsCommandLine(IMAGE_PATH), [HOST_EXE, '--conf', 'C:\\ProgramData\\Switchyard\\service-host.conf']);
    assert.deepEqual(lines, [
      'create config C:\\ProgramData\\Switchyard\\agent.yaml',
      'create service host configuration C:\\ProgramData\\Switchyard\\service-host.conf',
      `create service switchyard-agent (automatic start, LocalSystem, after hns): ${IMAGE_PATH}`,
      'set switchyard-agent description and recovery: restart after 5 s, 3 times, reset after 1 day, also on a non-zero exit',
      "add switchyard-agent to kubelet's dependencies (containerd, switchyard-agent)",
      'start service switchyard-agent',
    ]);
    assert.equal(fs.readFileSync(at('C:\\ProgramData\\Switchyard\\agent.yaml'), 'utf8'), 'nodeName: win-a\n');
    assert.equal(
      fs.readFileSync(at('C:\\ProgramData\\Switchyard\\service-host.conf'), 'utf8'),
      '# Written by `switchyard service install`: the command the service host (switchyard-service.exe) runs.\r\n' +
        '# One argument per arg= line; the host quotes each by the Windows rules. Run install again to change it.\r\n' +
        'program=C:\\Program Files\\nodejs\\node.exe\r\n' +
        'arg=C:\\Program Files\\Switchyard\\dist\\src\\cli\\main.js\r\n' +
        'arg=agent\r\narg=--config\r\narg=C:\\ProgramData\\Switchyard\\agent.yaml\r\n' +
        'log=C:\\ProgramData\\Switchyard\\logs\\service-host.log\r\n' +
        'output=C:\\ProgramData\\Switchyard\\logs\\agent.log\r\n' +
        'stop-timeout-ms=30000\r\n',
    );
    const svc = scm.state.services['switchyard-agent'];
    assert.equal(svc.status.state, 4);
    assert.equal(svc.failureActionsOnNonCrashFailures, true);
  });

  it('a second install changes nothing in the SCM and does not restart; a new ImagePath is changed and restarts', async () => {
    await run((p) => backend().install(req, p));
    scm.calls.length = 0;
    const again = await run((p) => backend().install(req, p));
    const calls = ops();
    assert.ok(
      !calls.some(
        ([op, svc]) =>
          op === 'CreateServiceW' || op === 'ChangeServiceConfigW' || op === 'StartServiceW' || (op === 'ControlService' && svc),
      ),
      JSON.stringify(calls),
    );
    assert.deepEqual(
      again.filter((l) => !l.startsWith('set ')),
      [
        'config C:\\ProgramData\\Switchyard\\agent.yaml: unchanged',
        'service host configuration C:\\ProgramData\\Switchyard\\service-host.conf: unchanged',
        'service switchyard-agent: configuration unchanged',
        'kubelet: already depends on switchyard-agent',
        'service switchyard-agent: running, nothing changed',
      ],
    );
    assert.deepEqual(scm.state.services.kubelet.config.dependencies, ['containerd', 'switchyard-agent'], 'no duplicate dependency');

    const other = 'C:\\Switchyard 2\\switchyard-service.exe';
    fs.mkdirSync(path.dirname(at(other)), { recursive: true });
    fs.writeFileSync(at(other), 'MZ');
    const moved = await run((p) => backend(other).install(req, p));
    const newImage = `"${other}" --conf C:\\ProgramData\\Switchyard\\service-host.conf`;
    const c = ops();
    assert.deepEqual(
      c.find(([op, s]) => op === 'ChangeServiceConfigW' && s === 'switchyard-agent'),
      ['ChangeServiceConfigW', 'switchyard-agent', { binaryPath: newImage }],
    );
    assert.deepEqual(
      c.filter(([op]) => op === 'ControlService' || op === 'StartServiceW'),
      [
        ['ControlService', 'switchyard-agent', 1],
        ['StartServiceW', 'switchyard-agent'],
      ],
    );
    assert.ok(
      moved.includes(`update service switchyard-agent: binaryPath ${JSON.stringify(IMAGE_PATH)} → ${JSON.stringify(newImage)}`),
      moved.join('\n'),
    );
  });

  it('without hns and kubelet services: no dependency on hns, nothing added to kubelet', async () => {
    scm = new MemoryScm();
    const lines = await run((p) => backend().install(req, p));
    assert.deepEqual(scm.state.services['switchyard-agent'].config.dependencies, []);
    assert.ok(lines.includes('kubelet: not installed as a service, so no dependency to add'));
  });

  it('--dry-run makes no SCM change and writes no file', async () => {
    const lines = await run((p) => backend().install(req, p), true);
    assert.ok(
      lines.every((l) => l.startsWith('would ') || l.startsWith('kubelet')),
      lines.join('\n'),
    );
    assert.ok(
      !ops().some(([op]) => !['OpenSCManagerW', 'OpenServiceW', 'QueryServiceConfigW', 'QueryServiceStatusEx'].includes(op as string)),
    );
    assert.ok(!scm.state.services['switchyard-agent']);
    assert.ok(!fs.existsSync(at('C:\\ProgramData\\Switchyard')));
  });

  it('refuses before any SCM call: a missing service host, a quote in the node path, a line break in a path', async () => {
    await assert.rejects(
      backend('C:\\nowhere\\switchyard-service.exe').install(req, new Plan(false)),
      /--host-exe: the service host .* does not exist/,
    );
    await assert.rejects(backend().install({ ...req, nodePath: 'C:\\a"b\\node.exe' }, new Plan(false)), /--node .*cannot contain a quote/);
    await assert.rejects(backend().install({ ...req, cliPath: 'C:\\a\nb' }, new Plan(false)), /line break/);
    assert.deepEqual(ops(), []);
  });

  it("uninstall stops and deletes the service, takes it out of kubelet's dependencies only, keeps the config and the network", async () => {
    scm.state.services.kubelet.config.dependencies = ['containerd'];
    await run((p) => backend().install(req, p));
    scm.state.services.kubelet.config.dependencies.push('other');
    scm.calls.length = 0;
    const lines = await run((p) => backend().uninstall({ purge: false }, p, noCleanup));
    assert.deepEqual(ops(), [
      ['OpenSCManagerW'],
      ['OpenServiceW', 'switchyard-agent'],
      ['QueryServiceStatusEx', 'switchyard-agent'],
      ['ControlService', 'switchyard-agent', 1],
      ['QueryServiceStatusEx', 'switchyard-agent'],
      ['OpenServiceW', 'kubelet'],
      ['QueryServiceConfigW', 'kubelet'],
      ['ChangeServiceConfigW', 'kubelet', { dependencies: ['containerd', 'other'] }],
      ['DeleteService', 'switchyard-agent'],
    ]);
    assert.ok(lines.includes('pod network: left as it is (uninstall --purge removes it)'));
    assert.ok(lines.includes('config C:\\ProgramData\\Switchyard\\agent.yaml: kept (uninstall --purge removes it)'));
    assert.ok(!scm.state.services['switchyard-agent']);
    assert.ok(fs.existsSync(at('C:\\ProgramData\\Switchyard\\agent.yaml')));
    assert.ok(!fs.existsSync(at('C:\\ProgramData\\Switchyard\\service-host.conf')));
  });

  it('uninstall --purge is refused before any change when the agent cleanup is unavailable', async () => {
    await run((p) => backend().install(req, p));
    scm.calls.length = 0;
    await assert.rejects(
      backend().uninstall({ purge: true }, new Plan(false), noCleanup),
      /--purge: no cleanup in this test; nothing was changed/,
    );
    assert.deepEqual(ops(), []);
  });

  it('the CLI drives the same backend (SWITCHYARD_SCM=memory:FILE): install, status, stop, start, uninstall', () => {
    const sb = new ServiceSandbox('windows');
    try {
      const host = path.join(sb.root, 'C', 'Switchyard', 'switchyard-service.exe');
      fs.mkdirSync(path.dirname(host), { recursive: true });
      fs.writeFileSync(host, 'MZ');
      const env = { SWITCHYARD_SERVICE_HOST_EXE: 'C:\\Switchyard\\switchyard-service.exe' };
      const cfg = sb.file('agent.yaml', 'nodeName: win-b\n');
      const out = sb.ok(['install', '--config', cfg, '--root', sb.root], env);
      assert.match(
        out,
        /^create service switchyard-agent \(automatic start, LocalSystem\): C:\\Switchyard\\switchyard-service\.exe --conf C:\\ProgramData\\Switchyard\\service-host\.conf$/m,
      );
      const st = JSON.parse(sb.ok(['status', '--root', sb.root, '-o', 'json'], env));
      assert.deepEqual([st.installed, st.state, st.startType], [true, 'running', 'automatic']);
      assert.equal(sb.ok(['stop', '--root', sb.root], env), 'stop service switchyard-agent\n');
      assert.equal(sb.ok(['start', '--root', sb.root], env), 'start service switchyard-agent\n');
      assert.match(sb.ok(['uninstall', '--root', sb.root], env), /^delete service switchyard-agent$/m);
      assert.match(sb.ok(['status', '--root', sb.root], env), /^Installed: +no$/m);
    } finally {
      sb.cleanup();
    }
  });
});
