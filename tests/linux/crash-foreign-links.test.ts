/**
 * Issue 11, defect 9: reads never write, and nothing deletes a kernel object this instance did not create.
 * Opening the linux data plane and reading (`network list`, `get`) leaves every link and the state file as
 * they were, even links the state does not know. `switchyard repair --dry-run` says what a repair would
 * change and changes nothing; `switchyard repair` does it and prints each change. A `syb*` link without this
 * instance's owner tag (another state file's bridge, a link made by hand) survives the repair too.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../../src/dataplane/factory';
import { ownerTagFor } from '../../src/dataplane/linux/context';
import { canRunNetns, uniquePrefix } from './helpers/lab';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

describe('linux data plane: reads never write; repair deletes only links it owns', function () {
  const ns = uniquePrefix('syfl');
  let dir: string;
  before(function () {
    if (!canRunNetns()) this.skip();
    execFileSync('ip', ['netns', 'add', ns]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-foreign-'));
  });
  after(() => {
    if (!dir) return;
    execFileSync('ip', ['netns', 'del', ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ip = (...a: string[]) => execFileSync('ip', ['-n', ns, ...a], { encoding: 'utf8' });
  const env = () => ({ ...process.env, SWITCHYARD_LINUX_NETNS: `/run/netns/${ns}` });
  const cli = (state: string, ...args: string[]) =>
    spawnSync(process.execPath, [MAIN, '--dataplane', 'linux', ...args], {
      env: { ...env(), SWITCHYARD_LINUX_STATE: state },
      encoding: 'utf8',
    });

  it('a read leaves foreign and own leftover links and the state file alone; repair removes only its own', async () => {
    const state = path.join(dir, 'linux.json');
    // A state file that records a network but knows none of the links below.
    const dp0 = await openDataplane({ kind: 'linux', statePath: state, env: env() });
    await dp0.createNamespace({ ID: `/run/netns/${ns}`, SchemaVersion: { Major: 2, Minor: 0 } });
    await dp0.close();
    const before = fs.readFileSync(state, 'utf8');
    const stat = fs.statSync(state);
    ip('link', 'add', 'syb0123456789', 'type', 'bridge');
    ip('link', 'add', 'syb9876543210', 'type', 'bridge');
    ip('link', 'set', 'syb9876543210', 'alias', ownerTagFor(state));
    ip('link', 'add', 'sybaaaaaaaaaa', 'type', 'bridge');
    ip('link', 'set', 'sybaaaaaaaaaa', 'alias', ownerTagFor(path.join(dir, 'other.json')));

    const dp = await openDataplane({ kind: 'linux', statePath: state, env: env() });
    await dp.listNetworks();
    await dp.listEndpoints();
    await dp.listNamespaces();
    await dp.listLoadBalancers();
    await dp.close();
    const list = cli(state, 'network', 'list');
    assert.equal(list.status, 0, list.stderr);
    let links = ip('-o', 'link', 'show');
    for (const l of ['syb0123456789', 'syb9876543210', 'sybaaaaaaaaaa']) assert.match(links, new RegExp(l), `${l} kept by reads`);
    assert.equal(fs.readFileSync(state, 'utf8'), before, 'the state file is unchanged');
    assert.equal(fs.statSync(state).ino, stat.ino, 'the state file was not replaced');

    const dry = cli(state, 'repair', '--dry-run');
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(dry.stdout, 'would delete link syb9876543210 (ours, recorded by no object)\n');
    assert.match(ip('-o', 'link', 'show'), /syb9876543210/, 'a dry run changes nothing');

    const done = cli(state, 'repair');
    assert.equal(done.status, 0, done.stderr);
    assert.equal(done.stdout, 'delete link syb9876543210 (ours, recorded by no object)\n');
    links = ip('-o', 'link', 'show');
    assert.match(links, /syb0123456789/, 'untagged link kept');
    assert.match(links, /sybaaaaaaaaaa/, 'another instance’s link kept');
    assert.doesNotMatch(links, /syb9876543210/, 'own leftover removed');

    const again = cli(state, 'repair', '-o', 'json');
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { dryRun: false, actions: [] });
    ip('link', 'del', 'syb0123456789');
    ip('link', 'del', 'sybaaaaaaaaaa');
  });

  it('as a non-root user, a read touches no link (not even an own leftover) and succeeds', function () {
    if (spawnSync('setpriv', ['--version']).status !== 0) this.skip();
    const sub = fs.mkdtempSync(path.join(dir, 'nobody-'));
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(sub, 0o755);
    const state = path.join(sub, 'linux.json'); // absent: an empty node
    ip('link', 'add', 'syb3333333333', 'type', 'bridge');
    ip('link', 'set', 'syb3333333333', 'alias', ownerTagFor(state));
    // Inside the test's namespace (a non-root process cannot setns into it itself), then privileges dropped.
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        MAIN,
        '--dataplane',
        'linux',
        'network',
        'list',
      ],
      { env: { ...process.env, SWITCHYARD_LINUX_STATE: state, SWITCHYARD_LINUX_NETNS: '' }, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ID\s+NAME/);
    assert.match(ip('-o', 'link', 'show'), /syb3333333333/, 'the read left the link');
    assert.equal(fs.existsSync(state), false, 'and wrote no state');
    ip('link', 'del', 'syb3333333333');
  });

  it('an alias-less veth named after a recorded endpoint (killed before tagging) is repaired; another stays', async () => {
    const state = path.join(dir, 'untagged.json');
    const dp = await openDataplane({ kind: 'linux', statePath: state, env: env() });
    try {
      const net = await dp.createNetwork({
        Name: 'untagged',
        Type: 'L2Bridge',
        Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.251.9.0/24' }] }],
      });
      const ep = await dp.createEndpoint(net.ID!, { Name: 'half-attached' });
      const veth = `syv${ep.ID!.replace(/-/g, '').slice(0, 10).toLowerCase()}`;
      ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'syfpeer1');
      ip('link', 'add', 'syv0000000001', 'type', 'veth', 'peer', 'name', 'syfpeer2');
      const report = await dp.repair!();
      assert.deepEqual(report.actions, [`delete link ${veth} (ours, recorded by no object)`]);
      const links = ip('-o', 'link', 'show');
      assert.doesNotMatch(links, new RegExp(veth));
      assert.match(links, /syv0000000001/, 'an untagged veth no endpoint of this state names is not ours');
      await dp.deleteEndpoint(ep.ID!);
      await dp.deleteNetwork(net.ID!);
    } finally {
      await dp.close();
      spawnSync('ip', ['-n', ns, 'link', 'del', 'syv0000000001']);
    }
  });

  it('the first write repairs before it changes anything; without a state file only tagged links go', async () => {
    const state = path.join(dir, 'fresh.json');
    ip('link', 'add', 'syb1111111111', 'type', 'bridge');
    ip('link', 'set', 'syb1111111111', 'alias', ownerTagFor(state));
    ip('link', 'add', 'syb2222222222', 'type', 'bridge');
    const dp = await openDataplane({ kind: 'linux', statePath: state, env: env() });
    await dp.listNetworks();
    assert.match(ip('-o', 'link', 'show'), /syb1111111111/, 'a read leaves it');
    assert.equal(fs.existsSync(state), false, 'a read writes no state file');
    await dp.createNamespace({ ID: `/run/netns/${ns}`, SchemaVersion: { Major: 2, Minor: 0 } });
    await dp.close();
    const links = ip('-o', 'link', 'show');
    assert.doesNotMatch(links, /syb1111111111/, 'the write repaired first');
    assert.match(links, /syb2222222222/, 'an untagged link is never ours');
    ip('link', 'del', 'syb2222222222');
  });
});
