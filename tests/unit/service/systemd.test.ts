/**
 * `switchyard service` on Linux against a fake systemctl (tests/fixtures/service/systemctl, on PATH) and a temp
 * installation root: the unit written (this installation's node and CLI, the configuration path; it passes
 * systemd-analyze verify), the configuration copied, the exact systemctl calls, idempotency (a second install
 * changes nothing and says so; a changed configuration restarts), dry runs that change nothing, and an
 * uninstall that leaves the pod network alone unless --purge.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { quoteSystemdArg } from '../../../src/service/systemd';
import { MAIN, ServiceSandbox } from './helpers';

const UNIT = '/etc/systemd/system/switchyard-agent.service';
const CONFIG = '/etc/switchyard/agent.yaml';
const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

function verify(unitText: string): void {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sy-verify-'));
  try {
    fs.writeFileSync(path.join(dir, 'switchyard-agent.service'), unitText);
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'switchyard-agent.service')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('service on Linux (systemd, fake systemctl)', () => {
  let sb: ServiceSandbox;
  let config: string;
  beforeEach(() => {
    sb = new ServiceSandbox('linux');
    config = sb.file('agent.yaml', 'nodeName: node-a\nbackend: vxlan\n');
  });
  afterEach(() => sb.cleanup());

  it("install writes the unit with this installation's paths, copies the config, and enables and starts the unit", function () {
    const out = sb.ok(['install', '--config', config, '--root', sb.root]);
    assert.deepEqual(sb.takeCalls(), [
      'daemon-reload',
      'enable|switchyard-agent.service',
      'is-active|--quiet|switchyard-agent.service',
      'start|switchyard-agent.service',
    ]);
    assert.deepEqual(out.trim().split('\n'), [
      `create config ${CONFIG}`,
      `create unit ${UNIT}`,
      'run systemctl daemon-reload',
      'run systemctl enable switchyard-agent.service',
      'run systemctl start switchyard-agent.service',
    ]);
    assert.deepEqual(sb.tree(), [
      'etc/switchyard/agent.yaml',
      'etc/switchyard/service-install.json',
      'etc/systemd/system/switchyard-agent.service',
    ]);
    assert.equal(fs.readFileSync(sb.at(CONFIG), 'utf8'), 'nodeName: node-a\nbackend: vxlan\n');
    assert.equal(fs.statSync(sb.at(CONFIG)).mode & 0o777, 0o600);
    const unit = fs.readFileSync(sb.at(UNIT), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath} ${MAIN} agent --config ${CONFIG}$`, 'm'));
    assert.match(unit, /^Type=notify$/m);
    assert.match(unit, /^Before=kubelet\.service/m);
    assert.match(unit, /^TimeoutStopSec=30$/m);
    assert.match(unit, /^# Written by `switchyard service install`/);
    if (hasAnalyze) verify(unit);
  });

  it('a second install changes nothing and says so; a changed config restarts the running agent', () => {
    sb.ok(['install', '--config', config, '--root', sb.root]);
    sb.takeCalls();
    const unitBefore = fs.readFileSync(sb.at(UNIT), 'utf8');
    const again = sb.ok(['install', '--config', config, '--root', sb.root]);
    assert.deepEqual(again.trim().split('\n'), [
      `config ${CONFIG}: unchanged`,
      `unit ${UNIT}: unchanged`,
      'run systemctl enable switchyard-agent.service',
      'switchyard-agent.service: running, nothing changed',
    ]);
    assert.deepEqual(sb.takeCalls(), ['enable|switchyard-agent.service', 'is-active|--quiet|switchyard-agent.service']);
    assert.equal(fs.readFileSync(sb.at(UNIT), 'utf8'), unitBefore);

    fs.writeFileSync(config, 'nodeName: node-a\nbackend: host-gw\n');
    const changed = sb.ok(['install', '--config', config, '--root', sb.root]);
    assert.match(changed, /^update config \/etc\/switchyard\/agent\.yaml$/m);
    assert.match(changed, /^unit .*: unchanged$/m);
    assert.deepEqual(sb.takeCalls(), [
      'enable|switchyard-agent.service',
      'is-active|--quiet|switchyard-agent.service',
      'restart|switchyard-agent.service',
    ]);
    assert.equal(fs.readFileSync(sb.at(CONFIG), 'utf8'), 'nodeName: node-a\nbackend: host-gw\n');
  });

  it('--stop-timeout and --config-in-place change the unit (daemon-reload, restart) and nothing is copied', () => {
    sb.ok(['install', '--config', config, '--root', sb.root]);
    sb.takeCalls();
    const out = sb.ok(['install', '--config', config, '--config-in-place', '--stop-timeout', '45', '--root', sb.root]);
    assert.match(out, new RegExp(`^config: ${config} used in place$`, 'm'));
    assert.match(out, /^update unit /m);
    const unit = fs.readFileSync(sb.at(UNIT), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=.* agent --config ${config}$`, 'm'));
    assert.match(unit, /^TimeoutStopSec=45$/m);
    assert.deepEqual(sb.takeCalls(), [
      'daemon-reload',
      'enable|switchyard-agent.service',
      'is-active|--quiet|switchyard-agent.service',
      'restart|switchyard-agent.service',
    ]);
  });

  it('paths with blanks, % and $ are quoted for systemd, and the unit still verifies', function () {
    assert.equal(quoteSystemdArg('/usr/bin/node'), '/usr/bin/node');
    assert.equal(quoteSystemdArg('/opt/my dir/node'), '"/opt/my dir/node"');
    assert.equal(quoteSystemdArg('/opt/50%/$HOME'), '/opt/50%%/$$HOME');
    assert.equal(quoteSystemdArg('a"b\\c'), '"a\\"b\\\\c"');
    assert.throws(() => quoteSystemdArg('a\nb'), /line break/);
    const odd = path.join(sb.dir, 'odd dir 50%');
    fs.mkdirSync(odd);
    fs.symlinkSync(process.execPath, path.join(odd, 'node'));
    const cfg = sb.file('cfg $x/agent.yaml', 'nodeName: a\n');
    sb.ok(['install', '--config', cfg, '--config-in-place', '--node', path.join(odd, 'node'), '--root', sb.root]);
    const unit = fs.readFileSync(sb.at(UNIT), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1];
    assert.equal(exec, `"${odd.replace('%', '%%')}/node" ${MAIN} agent --config "${cfg.replace('$', '$$')}"`);
    if (hasAnalyze) verify(unit);
  });

  it('--dry-run prints the plan and changes nothing', () => {
    const out = sb.ok(['install', '--config', config, '--root', sb.root, '--dry-run']);
    assert.deepEqual(out.trim().split('\n'), [
      `would create config ${CONFIG}`,
      `would create unit ${UNIT}`,
      'would run systemctl daemon-reload',
      'would run systemctl enable switchyard-agent.service',
      'would run systemctl start switchyard-agent.service',
    ]);
    assert.deepEqual(sb.tree(), []);
    assert.deepEqual(sb.takeCalls(), ['is-active|--quiet|switchyard-agent.service'], 'only a query');
  });

  it('bad input is refused with exit 2, naming the option, before anything is written', () => {
    let r = sb.run(['install', '--root', sb.root]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--config: the agent configuration file is required/);
    r = sb.run(['install', '--config', path.join(sb.dir, 'missing.yaml'), '--root', sb.root]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--config: .*missing\.yaml does not exist/);
    r = sb.run(['install', '--config', config, '--stop-timeout', 'soon', '--root', sb.root]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--stop-timeout: "soon"/);
    r = sb.run(['start', '--root', sb.root]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not installed/);
    assert.deepEqual(sb.tree(), []);
    assert.deepEqual(sb.takeCalls(), []);
  });

  it('a failing systemctl call fails the command (exit 1) naming the call', () => {
    const r = sb.run(['install', '--config', config, '--root', sb.root], { FAKE_SYSTEMCTL_FAIL: 'start' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /systemctl start switchyard-agent\.service failed \(exit 1\): Failed to start/);
  });

  it('start, stop and status go through systemctl', () => {
    assert.match(sb.ok(['status', '--root', sb.root]), /^Installed: +no$/m);
    sb.ok(['install', '--config', config, '--root', sb.root]);
    sb.takeCalls();
    const status = JSON.parse(sb.ok(['status', '--root', sb.root, '-o', 'json']));
    assert.deepEqual([status.installed, status.state, status.pid, status.startType], [true, 'running', 4242, 'enabled']);
    assert.equal(sb.ok(['stop', '--root', sb.root]), 'run systemctl stop switchyard-agent.service\n');
    assert.match(sb.ok(['status', '--root', sb.root]), /^State: +stopped$/m);
    assert.equal(sb.ok(['start', '--root', sb.root]), 'run systemctl start switchyard-agent.service\n');
    assert.deepEqual(sb.takeCalls(), [
      'show|switchyard-agent.service|--property=LoadState,ActiveState,SubState,MainPID,ExecMainStatus,UnitFileState,NRestarts',
      'stop|switchyard-agent.service',
      'show|switchyard-agent.service|--property=LoadState,ActiveState,SubState,MainPID,ExecMainStatus,UnitFileState,NRestarts',
      'start|switchyard-agent.service',
    ]);
  });

  it('uninstall stops, disables and removes the unit, keeps the config, and leaves the pod network alone', () => {
    sb.ok(['install', '--config', config, '--root', sb.root]);
    sb.takeCalls();
    const out = sb.ok(['uninstall', '--root', sb.root], { SWITCHYARD_AGENT_CLEANUP: path.join(sb.dir, 'never-run') });
    assert.deepEqual(out.trim().split('\n'), [
      'run systemctl stop switchyard-agent.service',
      'run systemctl disable switchyard-agent.service',
      'pod network: left as it is (uninstall --purge removes it)',
      `remove unit ${UNIT}`,
      'run systemctl daemon-reload',
      `config ${CONFIG}: kept (uninstall --purge removes it)`,
      'remove install record /etc/switchyard/service-install.json',
    ]);
    assert.deepEqual(sb.takeCalls(), ['stop|switchyard-agent.service', 'disable|switchyard-agent.service', 'daemon-reload']);
    assert.deepEqual(sb.tree(), ['etc/switchyard/agent.yaml']);
    assert.ok(!fs.existsSync(sb.cleanupLog), 'the agent cleanup did not run');
    assert.equal(sb.ok(['uninstall', '--root', sb.root]), 'switchyard-agent.service: not installed\n', 'a second uninstall is a no-op');
  });

  it('uninstall --purge runs the agent cleanup with the config, then removes what install created', () => {
    sb.ok(['install', '--config', config, '--root', sb.root]);
    sb.takeCalls();
    const cleanup = path.join(__dirname, '../../../../tests/fixtures/service/agent-cleanup');
    const out = sb.ok(['uninstall', '--purge', '--root', sb.root], { SWITCHYARD_AGENT_CLEANUP: cleanup });
    assert.match(out, new RegExp(`^remove the pod network: ${cleanup} --config ${CONFIG}$`, 'm'));
    assert.match(out, /^cleanup: removed network cbr0$/m);
    assert.match(out, /^remove config \/etc\/switchyard\/agent\.yaml$/m);
    assert.equal(fs.readFileSync(sb.cleanupLog, 'utf8'), `--config ${sb.at(CONFIG)}\n`);
    assert.deepEqual(sb.tree(), []);
    assert.ok(!fs.existsSync(sb.at('/etc/switchyard')), 'the empty directory is gone');
  });

  it("uninstall --purge runs this build's own `switchyard agent cleanup`; its failure fails the uninstall, naming it", () => {
    sb.ok(['install', '--config', config, '--root', sb.root]);
    sb.takeCalls();
    const r = sb.run(['uninstall', '--purge', '--root', sb.root], { SWITCHYARD_AGENT_CLEANUP: '' });
    // The fixture's config is not an agent configuration: the cleanup refuses it (exit 2), so the uninstall fails.
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /agent cleanup \(.* agent cleanup --config \S+\) exited 2: .*agent configuration/s);
  });
});
