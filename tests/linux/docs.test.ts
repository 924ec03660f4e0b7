/**
 * Every command example of docs/*.md on the linux data plane, as root: the examples of each document run in
 * order inside a node network namespace this test creates (SWITCHYARD_LINUX_NETNS, with an `eth0` uplink as
 * the examples name it) with a temporary state; the lab and `ip netns` examples run as written (their own
 * namespaces). Everything is removed afterwards, pass or fail.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { NetnsLab } from '../../src/lab/netns-driver';
import { allDocs, run } from '../unit/docs-examples';
import { canRunNetns, uniquePrefix } from './helpers/lab';

describe('docs: every command example runs as written (linux data plane, root)', function () {
  const docs = allDocs().filter((d) => d.examples.length);
  let node = '';
  let dir = '';
  const labs = new Set<string>();

  function cleanup(): void {
    for (const prefix of labs) {
      try {
        NetnsLab.teardown(prefix);
      } catch {
        /* the example's own `lab down` already removed it */
      }
    }
    if (dir) {
      try {
        const state = JSON.parse(fs.readFileSync(path.join(dir, 'linux.json'), 'utf8')) as {
          namespaces?: Record<string, { path?: string; created?: boolean }>;
        };
        for (const ns of Object.values(state.namespaces ?? {}))
          if (ns.created && ns.path) execFileSync('ip', ['netns', 'del', path.basename(ns.path)], { stdio: 'ignore' });
      } catch {
        /* no state, or already gone */
      }
      fs.rmSync(dir, { recursive: true, force: true });
      dir = '';
    }
    if (node) {
      execFileSync('ip', ['netns', 'del', node], { stdio: 'ignore' });
      node = '';
    }
  }

  before(function () {
    if (!canRunNetns()) this.skip();
  });
  afterEach(cleanup);

  for (const d of docs) {
    it(`${d.doc}: ${d.examples.length} examples`, function () {
      this.timeout(300_000);
      node = uniquePrefix('sydoc');
      execFileSync('ip', ['netns', 'add', node]);
      const ip = (...argv: string[]) => execFileSync('ip', ['-n', node, ...argv]);
      ip('link', 'set', 'lo', 'up');
      ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
      ip('addr', 'add', '192.168.0.10/24', 'dev', 'eth0');
      ip('link', 'set', 'eth0', 'up');
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-docs-linux-'));
      for (const [name, text] of Object.entries(d.files)) fs.writeFileSync(path.join(dir, name), text);
      const env = {
        ...process.env,
        SWITCHYARD_DATAPLANE: 'linux',
        SWITCHYARD_LINUX_NETNS: `/var/run/netns/${node}`,
        SWITCHYARD_LINUX_STATE: path.join(dir, 'linux.json'),
        SWITCHYARD_STATE: path.join(dir, 'linux.json'),
      };
      for (const e of d.examples) {
        const prefix = e.argv.indexOf('--prefix');
        if (prefix >= 0) labs.add(e.argv[prefix + 1]);
        const r = run(e, dir, env);
        assert.equal(r.code, e.exit, `${e.doc}:${e.line}: $ ${e.text}\n${r.out}`);
      }
    });
  }
});
