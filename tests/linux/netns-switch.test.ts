/**
 * Switching the JS thread into a network namespace and back (src/dataplane/linux/netns.ts): the thread's
 * own namespace is kept open once, a switch always comes back to where it started (nested switches to the
 * outer one's namespace), and a failing fn comes back too. Root: two namespaces, removed at the end.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { withNetns } from '../../src/dataplane/linux/netns';

const here = () => fs.statSync('/proc/thread-self/ns/net').ino;
const inode = (name: string) => fs.statSync(`/run/netns/${name}`).ino;

describe('linux: switching network namespaces', function () {
  const tag = crypto.randomBytes(3).toString('hex');
  const a = `sysw${tag}a`;
  const b = `sysw${tag}b`;
  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    execFileSync('ip', ['netns', 'add', a]);
    execFileSync('ip', ['netns', 'add', b]);
  });
  after(() => {
    for (const n of [a, b]) {
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      } catch {
        // not created
      }
    }
  });

  it('comes back home after each switch, a nested switch to the outer namespace, and after a throw', () => {
    const home = here();
    for (let i = 0; i < 3; i++) assert.equal(withNetns(`/run/netns/${a}`, here), inode(a));
    assert.equal(here(), home, 'home after the switches');
    const seen = withNetns(`/run/netns/${a}`, () => {
      const inner = withNetns(`/run/netns/${b}`, here);
      return { inner, after: here() };
    });
    assert.deepEqual(seen, { inner: inode(b), after: inode(a) }, 'the nested switch came back to the outer namespace');
    assert.equal(here(), home);
    assert.throws(() =>
      withNetns(`/run/netns/${a}`, () => {
        throw new Error('boom');
      }),
    );
    assert.equal(here(), home, 'home after a throw');
  });
});
