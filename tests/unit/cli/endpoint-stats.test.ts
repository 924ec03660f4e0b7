/**
 * `switchyard endpoint stats` as an operator runs it, on three data planes: the emulator (zeros: no packet crosses
 * it), hcn over the stub library (HNSCall GET /endpointstats/<id>, state shared through HCNSTUB_STATE_FILE), and
 * linux as root in a private node namespace, where the counters are the kernel's: pings from the pod namespace
 * show up as packets the endpoint sent and received.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveOptions } from '../../../src/dataplane/factory';
import { open as openLinux } from '../../../src/dataplane/linux';
import { CliSandbox, ROOT } from './helpers';
import { canRunNetns, uniquePrefix } from '../../linux/helpers/lab';

const STUB = path.join(ROOT, 'native/build/libhcnstub.so');
const COUNTERS = ['BytesReceived', 'BytesSent', 'PacketsReceived', 'PacketsSent', 'DroppedPacketsIncoming', 'DroppedPacketsOutgoing'];

function statsOf(cli: CliSandbox, ref: string, env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  return JSON.parse(cli.ok(['endpoint', 'stats', ref, '-o', 'json'], env)) as Record<string, unknown>;
}

describe('cli: switchyard endpoint stats', function () {
  this.timeout(60000);
  let cli: CliSandbox;
  afterEach(() => cli?.cleanup());

  it('memory: the counters of a named endpoint (all zero: the emulator carries no packets); an unknown one fails', function () {
    cli = new CliSandbox();
    cli.ok(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.1.0/24']);
    const ep = JSON.parse(cli.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'web', '-o', 'json'])) as { ID: string };
    const stats = statsOf(cli, 'web');
    assert.equal(String(stats.EndpointID).toLowerCase(), ep.ID.toLowerCase());
    for (const k of COUNTERS) assert.equal(stats[k], 0, k);
    const table = cli.ok(['endpoint', 'stats', 'web']);
    assert.match(table, /ENDPOINT\s+BytesReceived\s+BytesSent/);
    assert.match(table, /^web\s+0\s+0/m);
    const missing = cli.run(['endpoint', 'stats', 'nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope/);
  });

  it('hcn over the stub library: HNSCall GET /endpointstats/<id> of an endpoint another process created', function () {
    if (!fs.existsSync(STUB)) this.skip();
    cli = new CliSandbox();
    const env = {
      SWITCHYARD_DATAPLANE: 'hcn',
      SWITCHYARD_HCN_LIBRARY: STUB,
      HCNSTUB_STATE_FILE: path.join(cli.dir, 'stub-state.json'),
    };
    cli.ok(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.2.0/24'], env);
    const ep = JSON.parse(cli.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'web', '-o', 'json'], env)) as { ID: string };
    const stats = statsOf(cli, ep.ID, env);
    assert.equal(String(stats.EndpointID).toLowerCase(), ep.ID.toLowerCase());
    for (const k of COUNTERS) assert.equal(stats[k], 0, k);
  });

  describe('linux (root, private node and pod namespaces)', function () {
    let node: string | undefined;
    let pod: string | undefined;
    before(function () {
      if (!canRunNetns()) this.skip();
    });
    afterEach(function () {
      for (const ns of [pod, node]) {
        if (!ns) continue;
        try {
          execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
        } catch {
          /* already gone */
        }
      }
      pod = node = undefined;
    });

    it("the endpoint's veth counters in HNS's names: pings from the pod are packets it sent and received", async function () {
      cli = new CliSandbox();
      node = uniquePrefix('systn');
      pod = uniquePrefix('systp');
      execFileSync('ip', ['netns', 'add', node]);
      execFileSync('ip', ['netns', 'add', pod]);
      execFileSync('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
      const state = path.join(cli.dir, 'linux.json');
      const env = { SWITCHYARD_DATAPLANE: 'linux', SWITCHYARD_LINUX_NETNS: `/var/run/netns/${node}`, SWITCHYARD_LINUX_STATE: state };
      const hns = await openLinux(resolveOptions({ kind: 'linux', statePath: state, env }));
      try {
        const net = await hns.createNetwork({
          Name: 'cbr0',
          Type: 'L2Bridge',
          Ipams: [
            {
              Type: 'Static',
              Subnets: [{ IpAddressPrefix: '10.246.0.0/24', Routes: [{ NextHop: '10.246.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
            },
          ],
          SchemaVersion: { Major: 2, Minor: 0 },
        });
        const gw = await hns.createEndpoint(net.ID!, { Name: 'gw', IpConfigurations: [{ IpAddress: '10.246.0.2', PrefixLength: 24 }] });
        const hostNs = (await hns.listNamespaces()).find((n) => String(n.Type).toLowerCase() === 'hostdefault');
        await hns.attachEndpoint(hostNs!.ID!, gw.ID!);
        const ep = await hns.createEndpoint(net.ID!, { Name: 'web', IpConfigurations: [{ IpAddress: '10.246.0.5', PrefixLength: 24 }] });
        await hns.attachEndpoint(`/var/run/netns/${pod}`, ep.ID!, { interfaceName: 'eth0' });
        const before = statsOf(cli, 'web', env);
        execFileSync('ip', ['netns', 'exec', pod, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.246.0.1'], { stdio: 'ignore' });
        const after = statsOf(cli, 'web', env);
        assert.ok(
          Number(after.PacketsSent) - Number(before.PacketsSent) >= 3,
          `PacketsSent ${String(before.PacketsSent)} → ${String(after.PacketsSent)}`,
        );
        assert.ok(
          Number(after.PacketsReceived) - Number(before.PacketsReceived) >= 3,
          `PacketsReceived ${String(before.PacketsReceived)} → ${String(after.PacketsReceived)}`,
        );
        assert.ok(Number(after.BytesSent) - Number(before.BytesSent) >= 3 * 84, 'three ICMP echo requests of 84 bytes at least');
        assert.ok(Number(after.BytesReceived) > Number(before.BytesReceived));
        const gwStats = statsOf(cli, 'gw', env);
        for (const k of COUNTERS) assert.equal(gwStats[k], 0, `host endpoint ${k}: no veth of its own`);
        await hns.detachEndpoint(`/var/run/netns/${pod}`, ep.ID!);
        await hns.deleteEndpoint(ep.ID!);
        await hns.detachEndpoint(hostNs!.ID!, gw.ID!);
        await hns.deleteEndpoint(gw.ID!);
        await hns.deleteNetwork(net.ID!);
      } finally {
        await hns.close();
      }
    });
  });
});
