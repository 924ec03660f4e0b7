/**
 * Upgrading the agent through `switchyard service` keeps pods alive (issue 13, point 6), on the linux data plane.
 * systemd is not PID 1 here, so `systemctl` is a stand-in that runs the unit `service install` wrote with the
 * unit's semantics: ExecStart as written, `start` returns once the agent is ready (its "agent ready" line stands
 * for READY=1 of Type=notify), `stop` is SIGTERM then a wait, and Restart=on-failure restarts an agent that died
 * after RestartSec. The agent bundle (dist/) is a copy installed from; the upgrade replaces that copy's files and
 * restarts the service with `switchyard service stop` and `start`. Asserted: the new agent runs from the replaced
 * bundle, it created and deleted nothing (the network was adopted, the bridge is the same link), and a continuous
 * ping between pods on two nodes lost no packet. A SIGKILLed agent is restarted by the supervisor. Then
 * `service uninstall --purge` runs this build's `agent cleanup` on the linux data plane: refused while a pod's
 * endpoint remains, and once it is deleted the node's bridge, conflist, subnet.env and the agent's reservation go.
 * Losses are counted; no timing is asserted.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentLab, type LabPodRuntime } from '../../src/lab/agent-lab';
import { uniquePrefix } from './helpers/lab';
import { AGENT_ONLY, agentLabOrSkip, poll } from './helpers/agent-lab';

const ROOT = path.resolve(__dirname, '../../..');

/** The systemctl stand-in (run by `switchyard service` as SWITCHYARD_SYSTEMCTL). */
const SYSTEMCTL = String.raw`#!/usr/bin/env node
'use strict';
const fs = require('fs');
const { spawn } = require('child_process');
const dir = process.env.FAKE_SYSTEMD_DIR;
const unitFile = process.env.FAKE_SYSTEMD_UNIT;
const log = process.env.FAKE_AGENT_LOG;
const pidFile = dir + '/supervisor.pid';
const childFile = dir + '/agent.pid';
const args = process.argv.slice(2).filter((a) => a !== '--quiet');
fs.appendFileSync(dir + '/calls', args.join(' ') + '\n');
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const readPid = (f) => { try { return Number(fs.readFileSync(f, 'utf8')); } catch { return 0; } };
const unit = () => fs.readFileSync(unitFile, 'utf8');
const setting = (k) => (new RegExp('^' + k + '=(.*)$', 'm').exec(unit()) || [])[1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function start() {
  const sup = readPid(pidFile);
  if (sup && alive(sup)) return 0;
  const from = fs.existsSync(log) ? fs.statSync(log).size : 0;
  const child = spawn(process.execPath, [__filename, '__supervise'], { detached: true, stdio: 'ignore', env: process.env });
  fs.writeFileSync(pidFile, String(child.pid));
  child.unref();
  for (let i = 0; i < 1200; i++) {
    await sleep(50);
    const text = fs.existsSync(log) ? fs.readFileSync(log).subarray(from).toString() : '';
    if (/"agent ready"/.test(text)) return 0;
    if (!alive(child.pid)) break;
  }
  process.stderr.write('switchyard-agent.service: not ready\n');
  return 1;
}
async function stop() {
  const sup = readPid(pidFile);
  if (!sup || !alive(sup)) return 0;
  process.kill(sup, 'SIGTERM');
  const limit = Number(setting('TimeoutStopSec') || 30) * 20;
  for (let i = 0; i < limit && alive(sup); i++) await sleep(50);
  if (alive(sup)) { try { process.kill(-sup, 'SIGKILL'); } catch {} }
  return 0;
}
async function supervise() {
  const argv = setting('ExecStart').split(' ');
  const restartSec = Number(setting('RestartSec') || 5);
  let child;
  let stopping = false;
  process.on('SIGTERM', () => { stopping = true; if (child) child.kill('SIGTERM'); });
  for (;;) {
    const out = fs.openSync(log, 'a');
    child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out], env: process.env });
    fs.closeSync(out);
    fs.writeFileSync(childFile, String(child.pid));
    const code = await new Promise((r) => child.once('exit', (c, s) => r(c === null ? 128 : c)));
    fs.appendFileSync(dir + '/exits', code + '\n');
    if (stopping || code === 0) return;
    await sleep(restartSec * 1000); // Restart=on-failure, RestartSec=
    if (stopping) return;
  }
}
(async () => {
  const [verb] = args;
  if (verb === '__supervise') return supervise().then(() => process.exit(0));
  if (verb === 'start') process.exit(await start());
  if (verb === 'stop') process.exit(await stop());
  if (verb === 'restart') { await stop(); process.exit(await start()); }
  if (verb === 'is-active') process.exit(alive(readPid(pidFile)) ? 0 : 3);
  if (['daemon-reload', 'enable', 'disable'].includes(verb)) process.exit(0);
  process.stderr.write('fake systemctl: ' + verb + ' not supported\n');
  process.exit(1);
})();
`;

describe('linux: upgrading the agent through `switchyard service` keeps pod traffic', function () {
  this.timeout(240_000);
  let lab: AgentLab;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const pod = (node: number): LabPodRuntime => lab.pods.find((p) => p.node.index === node)!;
  const pkg = () => path.join(tmp, 'pkg');
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(pkg(), 'dist/src/cli/main.js'), 'service', ...args], { env, encoding: 'utf8' });
  const agentPid = () => Number(fs.readFileSync(path.join(tmp, 'systemd', 'agent.pid'), 'utf8'));
  const copyBundle = (to: string) => {
    fs.cpSync(path.join(ROOT, 'dist'), to, { recursive: true });
  };

  before(async function () {
    agentLabOrSkip(this);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-svc-up-'));
    lab = new AgentLab({ prefix: uniquePrefix('saes'), nodes: 2, podsPerNode: 0, type: 'L2Bridge' }, { subnetSource: 'etcd', agents: 2 });
    await lab.up();
    for (const n of lab.plan.nodes) lab.addPod(n, `${n.name}-p0`, AGENT_ONLY);
    // The installed package: a copy of this build's bundle (node_modules shared, as a package would ship it).
    fs.mkdirSync(pkg());
    copyBundle(path.join(pkg(), 'dist'));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg(), 'package.json'));
    fs.cpSync(path.join(ROOT, 'manifests'), path.join(pkg(), 'manifests'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg(), 'node_modules'));
    fs.mkdirSync(path.join(tmp, 'systemd'));
    const systemctl = path.join(tmp, 'systemctl');
    fs.writeFileSync(systemctl, SYSTEMCTL, { mode: 0o755 });
    const a = lab.agent(lab.plan.nodes[0]);
    env = {
      ...lab.lab.nodeEnv(a.node),
      SWITCHYARD_SERVICE_PLATFORM: 'linux',
      SWITCHYARD_SYSTEMCTL: systemctl,
      FAKE_SYSTEMD_DIR: path.join(tmp, 'systemd'),
      FAKE_SYSTEMD_UNIT: path.join(tmp, 'root/etc/systemd/system/switchyard-agent.service'),
      FAKE_AGENT_LOG: path.join(tmp, 'agent.log'),
    };
    delete env.SWITCHYARD_AGENT_SOCKET;
    // The node's agent moves from the lab's process to the service.
    await lab.stopAgent(a.node);
  });

  after(async () => {
    if (env) cli('uninstall', '--root', path.join(tmp, 'root'));
    await lab?.down();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('service install starts the agent under the unit; it adopts the network', () => {
    const a = lab.agent(lab.plan.nodes[0]);
    const r = cli('install', '--config', a.config, '--config-in-place', '--root', path.join(tmp, 'root'));
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const unit = fs.readFileSync(env.FAKE_SYSTEMD_UNIT!, 'utf8');
    assert.match(
      unit,
      new RegExp(
        `^ExecStart=\\S+ ${path.join(pkg(), 'dist/src/cli/main.js').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} agent --config `,
        'm',
      ),
    );
    assert.ok(agentPid() > 0);
    assert.doesNotMatch(fs.readFileSync(env.FAKE_AGENT_LOG!, 'utf8'), /"step":"(create|delete)/, 'the service agent recreated something');
  });

  it('the bundle replaced and the service restarted: nothing recreated, a continuous ping across nodes loses nothing', async () => {
    const [p, q] = [pod(0), pod(1)];
    const node = lab.plan.nodes[0];
    const bridge = () => lab.exec(node.name, ['ip', '-o', 'link', 'show', 'type', 'bridge']).trim();
    const before = { bridge: bridge(), pid: agentPid() };
    const logFrom = fs.statSync(env.FAKE_AGENT_LOG!).size;
    const pinger = spawn('ip', ['netns', 'exec', p.name, 'ping', '-i', '0.1', '-c', '60', '-W', '1', q.ip], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    pinger.stdout!.on('data', (d) => (text += d));
    const pinged = new Promise((r) => pinger.once('close', r));
    await new Promise((r) => setTimeout(r, 500));
    // Replace the package's files (new inodes, as an upgrade's unpack does), then restart through the service.
    const next = path.join(pkg(), 'dist.new');
    copyBundle(next);
    fs.writeFileSync(path.join(next, 'UPGRADED'), 'v2\n');
    fs.renameSync(path.join(pkg(), 'dist'), path.join(tmp, 'dist.old'));
    fs.renameSync(next, path.join(pkg(), 'dist'));
    const stop = cli('stop', '--root', path.join(tmp, 'root'));
    assert.equal(stop.status, 0, stop.stderr);
    const start = cli('start', '--root', path.join(tmp, 'root'));
    assert.equal(start.status, 0, start.stderr);
    await pinged;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(text);
    assert.ok(m, text);
    assert.equal(Number(m[1]) - Number(m[2]), 0, `packets lost across the service restart:\n${text}`);
    const pid = agentPid();
    assert.notEqual(pid, before.pid, 'the agent was not restarted');
    assert.ok(fs.existsSync(path.join(pkg(), 'dist', 'UPGRADED')));
    assert.match(
      fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
      new RegExp(path.join(pkg(), 'dist').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')),
    );
    const log = fs.readFileSync(env.FAKE_AGENT_LOG!).subarray(logFrom).toString();
    assert.match(log, /"agent ready"/);
    assert.doesNotMatch(log, /"step":"(create|delete)/, 'the upgraded agent recreated or deleted something');
    assert.equal(bridge(), before.bridge, 'the bridge is not the same link');
  });

  it('Restart=on-failure: an agent that dies is restarted by the service', async () => {
    const pid = agentPid();
    const logFrom = fs.statSync(env.FAKE_AGENT_LOG!).size;
    process.kill(pid, 'SIGKILL');
    const back = await poll(() => {
      try {
        return agentPid() !== pid && /"agent ready"/.test(fs.readFileSync(env.FAKE_AGENT_LOG!).subarray(logFrom).toString());
      } catch {
        return false;
      }
    }, 60_000);
    assert.ok(back, 'the killed agent was not restarted');
    assert.match(fs.readFileSync(path.join(tmp, 'systemd', 'exits'), 'utf8'), /^128$/m);
  });

  it("uninstall --purge runs `agent cleanup`: refused while a pod remains (naming it), then the node's network and the agent's files go", () => {
    const a = lab.agent(lab.plan.nodes[0]);
    const node = lab.plan.nodes[0];
    const net = lab.netConf(node).name as string;
    const files = [path.join(a.dir, 'net.d', '10-switchyard.conflist'), path.join(a.dir, 'subnet.env')];
    const hostRes = path.join(a.dir, 'ipam', net, lab.subnet(node)!.replace(/0\/24$/, '2'));
    for (const f of [...files, hostRes]) assert.ok(fs.existsSync(f), f);
    const refused = cli('uninstall', '--purge', '--root', path.join(tmp, 'root'));
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, new RegExp(`${pod(0).containerId}_${net.replace(/\./g, '\\.')}`), refused.stderr);
    assert.match(lab.exec(node.name, ['ip', '-o', 'link', 'show', 'type', 'bridge']), /\S/, 'a refused cleanup removed the bridge');
    lab.delPod(pod(0));
    const purged = cli('uninstall', '--purge', '--root', path.join(tmp, 'root'));
    assert.equal(purged.status, 0, purged.stderr + purged.stdout);
    assert.match(purged.stdout, new RegExp(`removed network ${net.replace(/\./g, '\\.')}`));
    assert.equal(lab.exec(node.name, ['ip', '-o', 'link', 'show', 'type', 'bridge']).trim(), '', 'the bridge is left');
    for (const f of [...files, hostRes]) assert.equal(fs.existsSync(f), false, `${f} left`);
    assert.equal(fs.existsSync(env.FAKE_SYSTEMD_UNIT!), false, 'the unit is left');
    // The other node is untouched: its pod still reaches its node.
    assert.ok(lab.ok(pod(1).name, ['ping', '-c', '1', '-W', '2', lab.plan.nodes[1].underlayIp]));
  });
});
