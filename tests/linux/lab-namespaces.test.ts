/**
 * Issue 11, defect 10: a namespace made with `switchyard namespace create` on a lab node (the node's data
 * plane creates a named netns `sy-<id>` on the machine, outside the lab's own namespaces) is removed when
 * the lab goes down — by the lab object that made it and by `lab down` for a lab left running.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NetnsLab } from '../../src/lab/netns-driver';
import { canRunNetns, uniquePrefix } from './helpers/lab';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

describe('lab down removes namespaces created through a node', function () {
  before(function () {
    if (!canRunNetns()) this.skip();
  });

  /** `switchyard namespace create` on the lab's first node; returns the netns name it made. */
  function createOnNode(lab: NetnsLab, guid: string): string {
    const r = spawnSync(process.execPath, [MAIN, '--dataplane', 'linux', 'namespace', 'create', '--id', guid, '-o', 'json'], {
      env: lab.nodeEnv(lab.plan.nodes[0]),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const name = `sy-${guid.replace(/-/g, '').slice(0, 12).toLowerCase()}`;
    assert.ok(fs.existsSync(`/var/run/netns/${name}`), `${name} exists after namespace create`);
    return name;
  }

  it('NetnsLab.down removes it', async () => {
    const lab = new NetnsLab({ prefix: uniquePrefix('syln'), nodes: 1, podsPerNode: 1, type: 'L2Bridge' });
    let name = '';
    try {
      await lab.up();
      name = createOnNode(lab, randomUUID());
    } finally {
      await lab.down();
    }
    assert.equal(fs.existsSync(`/var/run/netns/${name}`), false, `${name} removed with the lab`);
  });

  it('lab down (teardown of a recorded lab) removes it', async () => {
    const prefix = uniquePrefix('syln');
    const lab = new NetnsLab({ prefix, nodes: 1, podsPerNode: 1, type: 'L2Bridge' });
    let name = '';
    try {
      await lab.up();
      name = createOnNode(lab, randomUUID());
      await lab.detach();
      const removed = NetnsLab.teardown(prefix);
      assert.ok(removed.includes(name), removed.join(' '));
    } finally {
      await lab.down(); // no-op once torn down; removes everything if the test failed half-way
      if (name && fs.existsSync(`/var/run/netns/${name}`)) spawnSync('ip', ['netns', 'del', name]);
    }
    assert.equal(fs.existsSync(`/var/run/netns/${name}`), false);
  });
});
