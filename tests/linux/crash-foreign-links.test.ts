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
