/**
 * Issue 11, defect 9: opening the linux data plane never deletes a kernel object this instance did not
 * create. A `syb*` link without this instance's owner tag (another state file's bridge, a link made by
 * hand) survives; a link carrying the tag and unknown to the state (a crashed first run) is removed.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../../src/dataplane/factory';
import { ownerTagFor } from '../../src/dataplane/linux/context';
import { canRunNetns, uniquePrefix } from './helpers/lab';

describe('linux data plane: reconcile deletes only links it owns', function () {
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

  it('a foreign syb link survives opening with an unrelated state; a link tagged for this state is removed', async () => {
    const state = path.join(dir, 'linux.json');
    ip('link', 'add', 'syb0123456789', 'type', 'bridge');
    ip('link', 'add', 'syb9876543210', 'type', 'bridge');
    ip('link', 'set', 'syb9876543210', 'alias', ownerTagFor(state));
    ip('link', 'add', 'sybaaaaaaaaaa', 'type', 'bridge');
    ip('link', 'set', 'sybaaaaaaaaaa', 'alias', ownerTagFor(path.join(dir, 'other.json')));
    const dp = await openDataplane({
      kind: 'linux',
      statePath: state,
      env: { ...process.env, SWITCHYARD_LINUX_NETNS: `/run/netns/${ns}` },
    });
    await dp.close();
    const links = ip('-o', 'link', 'show');
    assert.match(links, /syb0123456789/, 'untagged link kept');
    assert.match(links, /sybaaaaaaaaaa/, 'another instance’s link kept');
    assert.doesNotMatch(links, /syb9876543210/, 'own leftover removed');
  });
});
