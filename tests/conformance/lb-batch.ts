/**
 * The load-balancer batch (HostNetworkService.applyLoadBalancers) on every data plane: deletes, creates and
 * modifies in one call, each with its own outcome in the batch's order; a refused item changes nothing and
 * does not stop the others; deletes go first, so a frontend freed in a batch can be claimed in the same batch.
 * Called from runConformance, so each plane's conformance file runs it.
 */
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { HostNetworkService, LoadBalancerOutcome } from '../../src/dataplane/types';
import { isHnsError, sameId, type HostComputeEndpoint, type HostComputeLoadBalancer, type HostComputeNetwork } from '../../src/hns';
import type { ConformanceOptions } from './suite';

export function runLoadBalancerBatchConformance(
  label: string,
  open: () => Promise<HostNetworkService>,
  opts: ConformanceOptions = {},
): void {
  describe(`host network service load-balancer batch: ${label}`, function () {
    let hns: HostNetworkService;
    const unique = opts.unique ?? (() => randomUUID().slice(0, 8));
    let net: HostComputeNetwork;
    let ep1: HostComputeEndpoint;
    let ep2: HostComputeEndpoint;

    const lb = (vip: string, port: number, endpoints: string[]): HostComputeLoadBalancer => ({
      HostComputeEndpoints: endpoints,
      SourceVIP: '10.244.7.254',
      FrontendVIPs: [vip],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: port, DistributionType: 0, Flags: 0 }],
      Flags: 0,
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    const ok = (o: LoadBalancerOutcome | undefined): HostComputeLoadBalancer | undefined => {
      if (!o) assert.fail('an outcome per item');
      if (!o.ok) assert.fail(`expected success, got ${o.error.message}`);
      return o.loadBalancer;
    };
    const ours = async () => (await hns.listLoadBalancers()).filter((l) => (l.FrontendVIPs ?? []).some((v) => v.startsWith('10.97.7.')));

    beforeEach(async function () {
      await opts.reset?.();
      hns = await open();
      net = await hns.createNetwork({
        Name: `conf-lbb-${unique()}`,
        Type: 'L2Bridge',
        Ipams: [
          {
            Type: 'Static',
            Subnets: [{ IpAddressPrefix: '10.244.7.0/24', Routes: [{ NextHop: '10.244.7.1', DestinationPrefix: '0.0.0.0/0' }] }],
          },
        ],
        SchemaVersion: { Major: 2, Minor: 0 },
      });
      const ep = (name: string, ip: string) =>
        hns.createEndpoint(net.ID!, {
          Name: name,
          HostComputeNetwork: net.ID!,
          IpConfigurations: [{ IpAddress: ip, PrefixLength: 24 }],
          SchemaVersion: { Major: 2, Minor: 0 },
        });
      ep1 = await ep(`conf-lbb1-${unique()}`, '10.244.7.11');
      ep2 = await ep(`conf-lbb2-${unique()}`, '10.244.7.12');
    });
    afterEach(async function () {
      if (hns) {
        for (const l of await ours().catch(() => [])) await hns.deleteLoadBalancer(l.ID!).catch(() => undefined);
        for (const e of [ep1, ep2]) if (e?.ID) await hns.deleteEndpoint(e.ID).catch(() => undefined);
        if (net?.ID) await hns.deleteNetwork(net.ID).catch(() => undefined);
        await hns.close();
      }
      await opts.verify?.();
    });

    it('an empty batch does nothing and answers empty outcome lists', async function () {
      assert.deepEqual(await hns.applyLoadBalancers({}), { deleted: [], created: [], modified: [] });
    });

    it('creates, modifies and deletes in one call, each outcome in order, as the per-LB calls would', async function () {
      const first = await hns.applyLoadBalancers({
        create: [lb('10.97.7.1', 80, [ep1.ID!]), lb('10.97.7.2', 80, [ep1.ID!, ep2.ID!]), lb('10.97.7.3', 443, [ep2.ID!])],
      });
      assert.equal(first.created.length, 3);
      const [a, b, c] = first.created.map(ok);
      for (const x of [a, b, c]) assert.ok(x?.ID, 'a created LB answers its ID');
      assert.deepEqual(a!.FrontendVIPs, ['10.97.7.1']);
      assert.equal((await ours()).length, 3);

      const second = await hns.applyLoadBalancers({
        delete: [c!.ID!],
        modify: [{ id: a!.ID!, doc: lb('10.97.7.1', 80, [ep1.ID!, ep2.ID!]) }],
      });
      assert.equal(second.deleted.length, 1);
      assert.equal(second.modified.length, 1);
      ok(second.deleted[0]);
      ok(second.modified[0]);
      const now = await ours();
      assert.deepEqual(now.map((l) => l.FrontendVIPs?.[0]).sort(), ['10.97.7.1', '10.97.7.2']);
      const modified = now.find((l) => l.FrontendVIPs?.[0] === '10.97.7.1')!;
      assert.deepEqual(
        modified.HostComputeEndpoints?.map((e) => e.toLowerCase()).sort(),
        [ep1.ID!, ep2.ID!].map((e) => e.toLowerCase()).sort(),
      );
      assert.ok(!now.some((l) => sameId(l.ID, c!.ID)), 'the deleted LB is gone');
    });

    it('a refused item has its own error and changes nothing; the rest of the batch is applied', async function () {
      const kept = ok((await hns.applyLoadBalancers({ create: [lb('10.97.7.10', 80, [ep1.ID!])] })).created[0])!;
      const unknown = randomUUID();
      const r = await hns.applyLoadBalancers({
        delete: [unknown, kept.ID!],
        create: [lb('10.97.7.11', 80, [ep1.ID!])],
        modify: [{ id: randomUUID(), doc: lb('10.97.7.13', 80, [ep1.ID!]) }],
      });
      assert.equal(r.deleted[0].ok, false, 'deleting an unknown ID fails');
      assert.ok(!r.deleted[0].ok && isHnsError(r.deleted[0].error, 'not-found'), 'as not-found');
      ok(r.deleted[1]);
      ok(r.created[0]);
      assert.equal(r.modified[0].ok, false, 'modifying an unknown ID fails');
      assert.ok(!r.modified[0].ok && isHnsError(r.modified[0].error, 'not-found'), 'as not-found');
      assert.deepEqual(
        (await ours()).map((l) => l.FrontendVIPs?.[0]),
        ['10.97.7.11'],
        'only the accepted create remains; the refused ones left nothing',
      );
    });

    it('deletes go first: a frontend freed by a delete can be claimed by a create of the same batch', async function () {
      const old = ok((await hns.applyLoadBalancers({ create: [lb('10.97.7.20', 80, [ep1.ID!])] })).created[0])!;
      const r = await hns.applyLoadBalancers({ delete: [old.ID!], create: [lb('10.97.7.20', 80, [ep2.ID!])] });
      ok(r.deleted[0]);
      const made = ok(r.created[0])!;
      const now = await ours();
      assert.equal(now.length, 1);
      assert.ok(sameId(now[0].ID, made.ID));
      assert.deepEqual(
        now[0].HostComputeEndpoints?.map((e) => e.toLowerCase()),
        [ep2.ID!.toLowerCase()],
      );
    });
  });
}
