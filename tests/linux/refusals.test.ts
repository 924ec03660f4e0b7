/**
 * The linux data plane realizes a document or refuses it naming the field (defect 8: no silent partial
 * success): IPv6 addresses, a second address, unrealized policy types, an ACL on a Transparent endpoint, a
 * RemoteSubnetRoute to the network's own subnet, overlapping subnets, a VNI clash with a network of ours or
 * with a foreign vxlan device. Every refusal leaves no link, route or record behind.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { open } from '../../src/dataplane/linux';
import { resolveOptions } from '../../src/dataplane/factory';
import type { HostNetworkService } from '../../src/dataplane/types';
import type { HostComputeNetwork } from '../../src/hns';
import { rejectsKind } from '../conformance/suite';
import { canRunNetns, uniquePrefix } from './helpers/lab';

describe('linux data plane: refuses what it cannot realize, naming the field', function () {
  let node = '';
  let dir = '';
  let dp: HostNetworkService;
  const ip = (...argv: string[]) => execFileSync('ip', ['-n', node, ...argv]).toString();
  const links = () => ip('-o', 'link', 'show').split('\n').filter(Boolean).length;
  const bridge = (name: string, prefix: string): HostComputeNetwork => ({
    Name: name,
    Type: 'L2Bridge',
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: prefix }] }],
  });
  const overlay = (name: string, prefix: string, vni: number): HostComputeNetwork => ({
    Name: name,
    Type: 'Overlay',
    Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.0.10' } }],
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: prefix, Policies: [{ Type: 'VSID', Settings: { IsolationId: vni } }] }] }],
  });

  before(async function () {
    if (!canRunNetns()) this.skip();
    node = uniquePrefix('syrf');
    execFileSync('ip', ['netns', 'add', node]);
    ip('link', 'set', 'lo', 'up');
    ip('link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink0p');
    ip('addr', 'add', '192.168.0.10/24', 'dev', 'uplink0');
    ip('link', 'set', 'uplink0', 'up');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-refuse-'));
    const env = { SWITCHYARD_LINUX_NETNS: `/var/run/netns/${node}`, SWITCHYARD_LINUX_STATE: path.join(dir, 'linux.json') };
    dp = await open(resolveOptions({ kind: 'linux', statePath: path.join(dir, 'linux.json'), env }));
  });
  after(async () => {
    await dp?.close();
    if (node) execFileSync('ip', ['netns', 'del', node], { stdio: 'ignore' });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('does not claim IPv6 (features, capabilities) and refuses an IPv6 address or subnet naming it', async () => {
    assert.equal((await dp.features()).IPv6DualStack, false);
    assert.deepEqual([...dp.capabilities.addressFamilies], ['IPv4']);
    const net = await dp.createNetwork(bridge('v6', '10.231.1.0/24'));
    let e = await rejectsKind(dp.createEndpoint(net.ID!, { Name: 'v6', IpConfigurations: [{ IpAddress: 'fd00::5' }] }), 'bad-input');
    assert.match(e.message, /IpConfigurations\[0\]\.IpAddress: "fd00::5" is not an IPv4 address/);
    e = await rejectsKind(
      dp.createNetwork({
        ...bridge('v6b', '10.231.2.0/24'),
        Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.231.2.0/24' }, { IpAddressPrefix: 'fd00:1::/64' }] }],
      }),
      'bad-input',
    );
    assert.match(e.message, /Ipams\[0\]\.Subnets\[1\]: an IPv6 subnet/);
    assert.equal((await dp.listNetworks()).length, 1);
    await dp.deleteNetwork(net.ID!);
  });

  it('refuses policy types it does not realize, on networks and endpoints, creating nothing', async () => {
    const before = links();
    let e = await rejectsKind(
      dp.createNetwork({ ...bridge('pol', '10.231.3.0/24'), Policies: [{ Type: 'SetPolicy', Settings: {} }] }),
      'bad-input',
    );
    assert.match(e.message, /Policies\[0\]\.Type: "SetPolicy" is not realized/);
    assert.equal(links(), before);
    const net = await dp.createNetwork(bridge('pol', '10.231.3.0/24'));
    e = await rejectsKind(dp.createEndpoint(net.ID!, { Name: 'pol', Policies: [{ Type: 'L2Driver', Settings: {} }] }), 'bad-input');
    assert.match(e.message, /Policies\[0\]\.Type: "L2Driver" is not realized/);
    const ep = await dp.createEndpoint(net.ID!, { Name: 'pol' });
    e = await rejectsKind(
      dp.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'Iov', Settings: {} }] } }),
      'bad-input',
    );
    assert.match(e.message, /Settings\.Policies\[0\]\.Type: "Iov"/);
    await dp.deleteEndpoint(ep.ID!);
    await dp.deleteNetwork(net.ID!);
  });

  it('refuses an ACL on a Transparent network endpoint', async () => {
    const net = await dp.createNetwork({
      Name: 'tr',
      Type: 'Transparent',
      Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'uplink0' } }],
    });
    const acl = { Type: 'ACL', Settings: { Action: 'Block', Direction: 'In', Priority: 100 } };
    const e = await rejectsKind(
      dp.createEndpoint(net.ID!, { Name: 'tr', IpConfigurations: [{ IpAddress: '192.168.0.50' }], Policies: [acl] }),
      'bad-input',
    );
    assert.match(e.message, /Policies\[0\]: an ACL on an endpoint of Transparent network tr is not realized/);
    assert.deepEqual(await dp.listEndpoints(), []);
    await dp.deleteNetwork(net.ID!);
  });

  it("refuses a RemoteSubnetRoute to the network's own subnet", async () => {
    const net = await dp.createNetwork(bridge('own', '10.231.4.0/24'));
    const route = {
      Type: 'RemoteSubnetRoute',
      Settings: { DestinationPrefix: '10.231.4.0/24', ProviderAddress: '192.168.0.11', IsolationId: 0, DistributedRouterMacAddress: '' },
    };
    const e = await rejectsKind(
      dp.modifyNetwork(net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [route] } }),
      'bad-input',
    );
    assert.match(e.message, /RemoteSubnetRoute\.DestinationPrefix: 10\.231\.4\.0\/24 is inside this network's own subnet/);
    assert.deepEqual((await dp.getNetwork(net.ID!)).Policies, []);
    await dp.deleteNetwork(net.ID!);
  });

  it("refuses a second network whose subnet overlaps another's, naming that network", async () => {
    const before = links();
    const a = await dp.createNetwork(bridge('first', '10.232.0.0/16'));
    for (const prefix of ['10.232.0.0/16', '10.232.5.0/24', '10.0.0.0/8']) {
      const e = await rejectsKind(dp.createNetwork(bridge('second', prefix)), 'bad-input');
      assert.match(e.message, new RegExp(`overlaps subnet 10\\.232\\.0\\.0/16 of network first \\(${a.ID}\\)`));
    }
    assert.equal(links(), before + 1);
    await dp.deleteNetwork(a.ID!);
  });

  it('a VNI clash is an already-exists error naming the network (ours) or the foreign vxlan device', async () => {
    const before = links();
    const a = await dp.createNetwork(overlay('vx1', '10.233.1.0/24', 4300));
    let e = await rejectsKind(dp.createNetwork(overlay('vx2', '10.233.2.0/24', 4300)), 'already-exists');
    assert.match(e.message, new RegExp(`VSID 4300 \\(VNI on UDP port 4789\\) is already used by network vx1 \\(${a.ID}\\)`));
    await dp.deleteNetwork(a.ID!);
    ip('link', 'add', 'foreignvx', 'type', 'vxlan', 'id', '4301', 'dstport', '4789', 'local', '192.168.0.10', 'dev', 'uplink0');
    try {
      e = await rejectsKind(dp.createNetwork(overlay('vx3', '10.233.3.0/24', 4301)), 'already-exists');
      assert.match(e.message, /VSID 4301: VNI 4301 on UDP port 4789 is already used by another vxlan device on this node/);
      assert.equal(links(), before + 1, 'only the foreign device: the bridge made before the refusal is gone');
      assert.deepEqual(await dp.listNetworks(), []);
    } finally {
      ip('link', 'del', 'foreignvx');
    }
  });
});
