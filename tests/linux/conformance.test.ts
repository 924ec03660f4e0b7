/**
 * The shared host network service contract against the linux data plane, as root. Each test gets its own
 * node network namespace (SWITCHYARD_LINUX_NETNS) and state file, so bridges, veths and nft tables live only
 * there; the node namespace and any pod namespaces the data plane created are deleted after each test, pass
 * or fail.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { open } from '../../src/dataplane/linux';
import { resolveOptions } from '../../src/dataplane/factory';
import { runConformance } from '../conformance/suite';
import { canRunNetns, uniquePrefix } from './helpers/lab';

const root = canRunNetns();
let node: string | undefined;
let dir: string | undefined;

function cleanup(): void {
  if (dir) {
    // Pod namespaces the data plane created for createNamespace() (recorded in its state file).
    try {
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'linux.json'), 'utf8')) as {
        namespaces?: Record<string, { path?: string; created?: boolean }>;
      };
      for (const ns of Object.values(state.namespaces ?? {})) {
        if (ns.created && ns.path) execFileSync('ip', ['netns', 'del', path.basename(ns.path)], { stdio: 'ignore' });
      }
    } catch {
      /* no state file yet, or the namespace is already gone */
    }
    fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  }
  if (node) {
    try {
      execFileSync('ip', ['netns', 'del', node], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    node = undefined;
  }
}

describe('linux data plane conformance (root, one node netns per test)', function () {
  before(function () {
    if (!root) this.skip();
  });
  after(cleanup);

  if (!root) return;
  runConformance(
    'linux (netlink + nftables in a private node namespace)',
    async () => {
      const env = { SWITCHYARD_LINUX_NETNS: `/var/run/netns/${node}`, SWITCHYARD_LINUX_STATE: path.join(dir!, 'linux.json') };
      return open(resolveOptions({ kind: 'linux', statePath: path.join(dir!, 'linux.json'), env }));
    },
    {
      reset: () => {
        cleanup();
        node = `${uniquePrefix('sycf')}`;
        execFileSync('ip', ['netns', 'add', node]);
        execFileSync('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
        // The node's "uplink" (a veth; CI kernels may lack the dummy driver): the suite's Overlay network names 192.168.0.10 as its provider (VTEP) address.
        execFileSync('ip', ['-n', node, 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink0p']);
        execFileSync('ip', ['-n', node, 'addr', 'add', '192.168.0.10/24', 'dev', 'uplink0']);
        execFileSync('ip', ['-n', node, 'link', 'set', 'uplink0', 'up']);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-conf-linux-'));
      },
      verify: cleanup,
    },
  );
});
