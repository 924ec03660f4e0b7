/**
 * switchyard diagnose and status on the linux data plane, as root, in a node network namespace this test
 * creates: the bundle holds the kernel's view of that namespace (iproute2 JSON with the bridge's gateway
 * address, the nft tables of Switchyard) and status reads the same network. Removed afterwards, pass or fail.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canRunNetns, uniquePrefix } from './helpers/lab';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

describe('linux: diagnose and status in a node namespace (root)', function () {
  this.timeout(120_000);
  let ns = '';
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  const cli = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { env, cwd: dir, encoding: 'utf8' });

  before(function () {
    if (!canRunNetns()) this.skip();
    ns = uniquePrefix('syops');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-ops-'));
    execFileSync('ip', ['netns', 'add', ns]);
    env = {
      ...process.env,
      SWITCHYARD_DATAPLANE: 'linux',
      SWITCHYARD_LINUX_NETNS: `/var/run/netns/${ns}`,
      SWITCHYARD_LINUX_STATE: path.join(dir, 'linux.json'),
      SWITCHYARD_AGENT_SOCKET: path.join(dir, 'none.sock'),
    };
  });
  after(() => {
    if (ns) spawnSync('ip', ['netns', 'del', ns]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('status reads the network from the kernel; diagnose bundles links, addresses, routes and exits 0', () => {
    const c = cli(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.61.0/24']);
    assert.equal(c.status, 0, c.stderr);
    const s = cli(['status', '-o', 'json']);
    assert.equal(s.status, 0, s.stderr + s.stdout);
    const st = JSON.parse(s.stdout);
    assert.equal(st.dataplane, 'linux');
    assert.deepEqual(
      st.networks.map((n: { name: string; subnets: string[] }) => [n.name, n.subnets]),
      [['cbr0', ['10.244.61.0/24']]],
    );
    const d = cli(['diagnose', '-o', 'b.tar.gz', '--cni-conf-dir', dir]);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stderr, /linux links, addresses, routes, neighbours, fdb: 7 files/);
    const out = path.join(dir, 'x');
    fs.mkdirSync(out);
    execFileSync('tar', ['xzf', path.join(dir, 'b.tar.gz'), '-C', out]);
    const top = path.join(out, fs.readdirSync(out)[0]);
    const addrs = JSON.parse(fs.readFileSync(path.join(top, 'linux/addresses.json'), 'utf8')) as {
      ifname: string;
      addr_info: { local: string }[];
    }[];
    assert.ok(
      addrs.some((a) => a.addr_info.some((i) => i.local === '10.244.61.1')),
      'the bridge carries the gateway, seen inside the node namespace',
    );
    const links = JSON.parse(fs.readFileSync(path.join(top, 'linux/links.json'), 'utf8')) as { ifname: string }[];
    assert.ok(links.length < 10, 'the namespace, not the host');
    assert.match(fs.readFileSync(path.join(top, 'hns/networks.json'), 'utf8'), /"Name": "cbr0"/);
  });
});
