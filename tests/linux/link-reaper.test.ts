/**
 * Overlapping link deletions (concurrent CNI DELs) reach the kernel as one group deletion
 * (src/dataplane/linux/netlink/link-reaper.ts): every named link and its peer go, a missing one is
 * reported as missing, links nobody named stay whatever their group. Root; own namespaces, removed after.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkDeleteRequests, reapLink } from '../../src/dataplane/linux/netlink/link-reaper';
import { canRunNetns, uniquePrefix } from './helpers/lab';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const names = (ns: string) =>
  ip('-n', ns, '-o', 'link', 'show')
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);

describe('linux: overlapping link deletions go to the kernel together (root)', function () {
  this.timeout(60000);
  const node = uniquePrefix('sylr');
  const pod = `${node}p`;
  const made: string[] = [];

  before(function () {
    if (!canRunNetns()) this.skip();
    for (const ns of [node, pod]) {
      ip('netns', 'add', ns);
      made.push(ns);
    }
    ip('-n', node, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', node, 'link', 'set', 'br0', 'up');
    for (let i = 0; i < 9; i++) {
      ip('-n', node, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', `e${i}`, 'netns', pod);
      ip('-n', node, 'link', 'set', `v${i}`, 'master', 'br0', 'up');
      ip('-n', pod, 'link', 'set', `e${i}`, 'up');
    }
    // Links nobody names: one in the default group, one in an administrator's group.
    ip('-n', node, 'link', 'add', 'keep0', 'type', 'bridge');
    ip('-n', node, 'link', 'add', 'keep1', 'type', 'bridge');
    ip('-n', node, 'link', 'set', 'keep1', 'group', '5');
  });

  after(() => {
    for (const ns of made.reverse()) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('8 deletions at once and one of a missing link: the first alone, the rest as one request; only the named links go', async () => {
    const nsPath = `/var/run/netns/${node}`;
    const before = linkDeleteRequests(nsPath);
    const results = await Promise.all([...Array.from({ length: 8 }, (_, i) => reapLink(nsPath, `v${i}`)), reapLink(nsPath, 'nosuch0')]);
    assert.deepEqual(results, [...Array<boolean>(8).fill(true), false]);
    assert.equal(linkDeleteRequests(nsPath) - before, 2, 'one deletion, then the seven that queued meanwhile as one group');
    assert.deepEqual(
      names(node)
        .filter((n) => n !== 'lo')
        .sort(),
      ['br0', 'keep0', 'keep1', 'v8'],
    );
    assert.deepEqual(
      names(pod).filter((n) => n !== 'lo'),
      ['e8'],
      'each deleted veth took its peer',
    );
    assert.match(ip('-n', node, 'link', 'show', 'keep1'), /group 5/);
  });

  it('a deletion on its own, and again once its link is gone', async () => {
    const nsPath = `/var/run/netns/${node}`;
    assert.equal(await reapLink(nsPath, 'v8'), true);
    assert.equal(await reapLink(nsPath, 'v8'), false);
    assert.deepEqual(
      names(pod).filter((n) => n !== 'lo'),
      [],
    );
  });
});
