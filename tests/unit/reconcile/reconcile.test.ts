/** src/reconcile on the memory data plane: plans with reasons, adoption, owned-policy pruning, rollback. */
import { strict as assert } from 'node:assert';
import type { HostComputeNetwork, NetworkPolicy } from '../../../src/hns';
import { applyPlan, describeStep, plan, readLive, type DesiredState } from '../../../src/reconcile';
import { tempState, type TempState } from '../memory/helpers';
import type { MemoryHns } from '../../../src/dataplane/memory';

const rsr = (prefix: string, pa: string, mac: string): NetworkPolicy => ({
  Type: 'RemoteSubnetRoute',
  Settings: { DestinationPrefix: prefix, IsolationId: 4096, ProviderAddress: pa, DistributedRouterMacAddress: mac },
});

function overlay(policies: NetworkPolicy[] = []): HostComputeNetwork {
  return {
    Name: 'flannel.4096',
    Type: 'Overlay',
    Flags: 8,
    Ipams: [
      {
        Type: 'Static',
        Subnets: [
          {
            IpAddressPrefix: '10.244.1.0/24',
            Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
            Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }],
          },
        ],
      },
    ],
    Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.0.10' } }, ...policies],
  };
}

describe('reconcile: plan and apply', () => {
  let t: TempState;
  let svc: MemoryHns;
  beforeEach(() => {
    t = tempState();
    svc = t.open();
  });
  afterEach(async () => {
    await svc.close();
    t.cleanup();
  });

  const desired = (policies: NetworkPolicy[] = []): DesiredState => ({
    networks: [{ doc: overlay(policies), ownedPolicyTypes: ['RemoteSubnetRoute'] }],
    endpoints: [
      {
        doc: { Name: 'cbr0_ep', HostComputeNetwork: 'flannel.4096', IpConfigurations: [{ IpAddress: '10.244.1.2' }] },
        attachTo: { hostDefault: true },
        replaceOnDrift: true,
      },
    ],
  });

  it('creates what is missing, each step with a reason, then plans nothing', async () => {
    const p = plan(desired([rsr('10.244.2.0/24', '192.168.0.11', '00-15-5d-00-00-02')]), await readLive(svc));
    assert.deepEqual(p.steps.map(describeStep), [
      'create Network/flannel.4096: network flannel.4096 missing',
      'create Endpoint/cbr0_ep: endpoint cbr0_ep missing',
      `modify ${p.steps[2].key}: endpoint cbr0_ep not attached to its namespace`,
    ]);
    const applied = await applyPlan(svc, p);
    assert.deepEqual(
      applied.map((a) => a.result),
      ['created', 'created'],
    );
    const again = plan(desired([rsr('10.244.2.0/24', '192.168.0.11', '00-15-5d-00-00-02')]), await readLive(svc));
    assert.deepEqual(again.steps, [], again.steps.map(describeStep).join('\n'));
    assert.deepEqual(again.conflicts, []);
  });

  it('a missing, a changed and an unwanted owned policy: add, replace, remove', async () => {
    await applyPlan(
      svc,
      plan(
        desired([rsr('10.244.2.0/24', '192.168.0.11', '00-15-5d-00-00-02'), rsr('10.244.3.0/24', '192.168.0.12', '00-15-5d-00-00-03')]),
        await readLive(svc),
      ),
    );
    const p = plan(
      desired([rsr('10.244.2.0/24', '192.168.0.21', '00-15-5d-00-00-02'), rsr('10.244.4.0/24', '192.168.0.14', '00-15-5d-00-00-04')]),
      await readLive(svc),
    );
    const lines = p.steps.map(describeStep);
    assert.ok(lines.includes('modify Network/flannel.4096: RemoteSubnetRoute 10.244.2.0/24 differs: ProviderAddress'), lines.join('\n'));
    assert.ok(lines.includes('modify Network/flannel.4096: RemoteSubnetRoute 10.244.3.0/24 not desired'), lines.join('\n'));
    assert.ok(
      lines.includes('modify Network/flannel.4096: RemoteSubnetRoute 10.244.2.0/24 differs; RemoteSubnetRoute 10.244.4.0/24 missing'),
      lines.join('\n'),
    );
    await applyPlan(svc, p);
    const net = (await svc.listNetworks()).find((n) => n.Name === 'flannel.4096')!;
    const routes = (net.Policies ?? [])
      .filter((x) => x.Type === 'RemoteSubnetRoute')
      .map(
        (x) =>
          `${(x.Settings as { DestinationPrefix: string }).DestinationPrefix} ${(x.Settings as { ProviderAddress: string }).ProviderAddress}`,
      )
      .sort();
    assert.deepEqual(routes, ['10.244.2.0/24 192.168.0.21', '10.244.4.0/24 192.168.0.14']);
  });

  it('a network that differs in a field HNS cannot change is a conflict naming it, never recreated', async () => {
    await applyPlan(svc, plan(desired(), await readLive(svc)));
    const other = overlay();
    other.Ipams![0].Subnets![0].IpAddressPrefix = '10.244.9.0/24';
    const p = plan({ networks: [{ doc: other }] }, await readLive(svc));
    assert.deepEqual(p.steps, []);
    assert.deepEqual(
      p.conflicts.map((c) => `${c.key} ${c.fields.join(',')}`),
      ['Network/flannel.4096 Ipams'],
    );
  });

  it('an owned endpoint with the wrong address is replaced and attached again', async () => {
    await applyPlan(svc, plan(desired(), await readLive(svc)));
    const d = desired();
    d.endpoints![0].doc.IpConfigurations = [{ IpAddress: '10.244.1.3' }];
    const p = plan(d, await readLive(svc));
    assert.deepEqual(
      p.steps.map((s) => `${s.op} ${s.kind}`),
      ['delete Endpoint', 'create Endpoint', 'modify Namespace'],
    );
    assert.match(p.steps[0].reason, /cbr0_ep differs: IpConfigurations/);
    await applyPlan(svc, p);
    const ep = (await svc.listEndpoints()).find((e) => e.Name === 'cbr0_ep')!;
    assert.equal(ep.IpConfigurations?.[0].IpAddress, '10.244.1.3');
    const hd = (await svc.listNamespaces()).find((n) => n.Type === 'HostDefault')!;
    assert.equal(ep.HostComputeNamespace?.toLowerCase(), hd.ID!.toLowerCase());
  });

  it('a failing step undoes what the run created and rethrows the HNS error', async () => {
    const d = desired();
    d.endpoints!.push({ doc: { Name: 'bad', HostComputeNetwork: 'flannel.4096', IpConfigurations: [{ IpAddress: '10.9.9.9' }] } });
    await assert.rejects(
      applyPlan(svc, plan(d, await readLive(svc))),
      (e: Error) => e.name === 'HnsError' && /deleted the 2 object\(s\) this run had created/.test(e.message),
    );
    assert.deepEqual(
      (await svc.listNetworks()).filter((n) => n.Name === 'flannel.4096'),
      [],
    );
    assert.deepEqual(
      (await svc.listEndpoints()).filter((e) => e.Name === 'cbr0_ep'),
      [],
    );
  });
});
