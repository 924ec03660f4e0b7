/**
 * State survives a restart: a new process rebuilds its view from the state file and the kernel; a repair
 * (or the process's first write) recreates links lost underneath it and removes what a process killed in the
 * middle of an attach left behind. Reads repair nothing.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { NetnsLab, nsPath } from '../../src/lab/netns-driver';
import { canRunNetns, uniquePrefix } from './helpers/lab';

describe('linux data plane: restart and crash recovery', function () {
  let lab: NetnsLab;
  before(async function () {
    if (!canRunNetns()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syr'), nodes: 1, podsPerNode: 1, type: 'Overlay' });
    await lab.up();
  });
  after(async () => lab?.down());

  const node = () => lab.plan.nodes[0];
  const links = () => lab.exec(node().name, ['ip', '-o', 'link', 'show']);

  it('a reopened data plane lists the same objects and rebuilds a deleted bridge and nft table', async () => {
    const r = lab.runtimes[0];
    const before = await r.dp.listEndpoints();
    const net = await r.dp.getNetwork(r.networkId);
    await r.dp.close();
    const bridge = /(syb[0-9a-f]{10})/.exec(links())![1];
    lab.exec(node().name, ['ip', 'link', 'del', bridge]);
    lab.exec(node().name, ['nft', 'delete', 'table', 'inet', 'switchyard']);
    r.dp = await lab.openNode(node());
    assert.deepEqual(
      await r.dp.listEndpoints().then((l) => l.map((e) => e.ID)),
      before.map((e) => e.ID).filter((id) => id),
    );
    assert.deepEqual((await r.dp.getNetwork(r.networkId)).Policies, net.Policies);
    assert.doesNotMatch(links(), new RegExp(`${bridge}:`), 'reads repair nothing');
    const report = await r.dp.repair!();
    assert.ok(
      report.actions.some((a) => a.startsWith(`rebuild network`) && a.includes(bridge)),
      report.actions.join('\n'),
    );
    assert.match(links(), new RegExp(`${bridge}:`));
    assert.match(lab.exec(node().name, ['ip', '-4', 'addr', 'show', 'dev', bridge]), /inet 10\.244\.1\.1\/24/);
    assert.match(lab.exec(node().name, ['nft', 'list', 'tables']), /table inet switchyard/);
  });

  it("a host endpoint's address comes back with a rebuilt bridge, and leaves with the endpoint", async () => {
    const r = lab.runtimes[0];
    const host = (await r.dp.listNamespaces()).find((n) => n.Type === 'HostDefault')!;
    const ep = await r.dp.createEndpoint(r.networkId, { Name: 'host-ep', IpConfigurations: [{ IpAddress: '10.244.1.200' }] });
    await r.dp.attachEndpoint(host.ID!, ep.ID!);
    const bridge = /(syb[0-9a-f]{10})/.exec(links())![1];
    assert.match(lab.exec(node().name, ['ip', '-4', 'addr', 'show', 'dev', bridge]), /inet 10\.244\.1\.200\/24/);
    await r.dp.close();
    lab.exec(node().name, ['ip', 'link', 'del', bridge]);
    r.dp = await lab.openNode(node());
    await r.dp.repair!();
    assert.match(lab.exec(node().name, ['ip', '-4', 'addr', 'show', 'dev', bridge]), /inet 10\.244\.1\.200\/24/);
    assert.ok((await r.dp.getNamespace(host.ID!)).Resources?.some((x) => x.Data.ID === ep.ID));
    // Taken off the bridge underneath the data plane: the endpoint no longer reports the host namespace.
    lab.exec(node().name, ['ip', 'addr', 'del', '10.244.1.200/24', 'dev', bridge]);
    assert.equal((await r.dp.getEndpoint(ep.ID!)).HostComputeNamespace, undefined);
    await r.dp.deleteEndpoint(ep.ID!);
    assert.doesNotMatch(lab.exec(node().name, ['ip', '-4', 'addr', 'show', 'dev', bridge]), /10\.244\.1\.200/);
    assert.match(lab.exec(node().name, ['ip', '-4', 'addr', 'show', 'dev', bridge]), /inet 10\.244\.1\.1\/24/, 'the gateway stays');
  });

  it('a second attach of an attached endpoint is refused as already attached', async () => {
    const r = lab.runtimes[0];
    const ep = (await r.dp.listEndpoints())[0];
    await assert.rejects(
      r.dp.attachEndpoint(nsPath(node().pods[0].name), ep.ID!),
      (e: Error & { kind?: string }) => e.kind === 'already-attached',
    );
  });

  it('a process killed mid-attach leaves nothing that a restart plus GC does not remove', async () => {
    const r = lab.runtimes[0];
    const podNs = `${lab.plan.spec.prefix}-victim`;
    lab.addNetns(podNs);
    const child = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'crash-attach.js'), nsPath(podNs), r.networkId], {
      env: { ...lab.nodeEnv(node()), SWITCHYARD_FAILPOINT: 'linux.attach.after-links' },
      encoding: 'utf8',
    });
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    const leftover = (await r.dp.listEndpoints()).find((e) => e.Name === 'crash-victim')!;
    const veth = `syv${leftover.ID!.replace(/-/g, '').slice(0, 10).toLowerCase()}`;
    assert.match(links(), new RegExp(`${veth}@`), 'the kill left a half-done attach behind');
    assert.match(lab.exec(podNs, ['ip', '-o', 'link', 'show']), /eth0@/);

    await r.dp.close();
    r.dp = await lab.openNode(node()); // restart: a read repairs nothing, a write or repair does
    assert.equal((await r.dp.getEndpoint(leftover.ID!)).Name, 'crash-victim');
    assert.match(links(), new RegExp(`${veth}@`), 'a read leaves the half-done attach alone');
    const dry = await r.dp.repair!({ dryRun: true });
    assert.ok(
      dry.actions.some((a) => a.includes(`delete link ${veth}`)),
      dry.actions.join('\n'),
    );
    assert.match(links(), new RegExp(`${veth}@`), 'a dry run changes nothing');
    const done = await r.dp.repair!();
    assert.deepEqual(done.actions, dry.actions, 'the repair does what the dry run said');
    assert.doesNotMatch(links(), new RegExp(veth));
    assert.doesNotMatch(lab.exec(podNs, ['ip', '-o', 'link', 'show']), /eth0/);
    const ep = await r.dp.getEndpoint(leftover.ID!);
    assert.equal(ep.HostComputeNamespace, undefined);
    // What CNI GC then does (the whole path through the executables: cni-crash.test.ts).
    await r.dp.deleteEndpoint(leftover.ID!);
    assert.equal(
      (await r.dp.listEndpoints()).some((e) => e.ID === leftover.ID),
      false,
    );
    // The surviving pod is still attached and working.
    assert.ok(lab.ok(node().pods[0].name, ['ping', '-c', '1', '-W', '2', node().gateway]));
  });

  it('bad input is refused naming the field and creates nothing', async () => {
    const r = lab.runtimes[0];
    const before = links();
    await assert.rejects(
      r.dp.createNetwork({
        Type: 'Overlay',
        Ipams: [{ Subnets: [{ IpAddressPrefix: '10.250.0.0/33' }] }],
        Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'eth0' } }],
      }),
      (e: Error & { kind?: string }) => e.kind === 'bad-input' && /IpAddressPrefix/.test(e.message),
    );
    await assert.rejects(
      r.dp.createNetwork({
        Type: 'Overlay',
        Ipams: [{ Subnets: [{ IpAddressPrefix: '10.250.0.0/24' }] }],
        Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'nope0' } }],
      }),
      /NetAdapterName: no interface named "nope0"/,
    );
    await assert.rejects(
      r.dp.createEndpoint(r.networkId, { IpConfigurations: [{ IpAddress: '10.9.9.9' }] }),
      /outside the network's subnet/,
    );
    assert.equal(links(), before);
  });
});
