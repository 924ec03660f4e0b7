/**
 * The linux load-balancer realization (lb-nft.ts), pure: what one LB puts in `ip switchyard-lb`, and the
 * transaction that changes one LB touches only its own elements and chains.
 */
import * as assert from 'node:assert/strict';
import {
  BACKEND_SLOTS,
  diffLb,
  diffText,
  FrontendInUseError,
  realizeLoadBalancer,
  slotRanges,
  syncLoadBalancerTable,
} from '../../src/dataplane/linux/lb-nft';
import { emptyState, key } from '../../src/dataplane/linux/state';
import { PolicyError } from '../../src/dataplane/linux/ruleset';

const ID = '53575944-0000-5000-8000-000000000001';
const id = ID.replace(/-/g, '');
const lb = (extra: Record<string, unknown> = {}) => ({
  FrontendVIPs: ['10.96.0.10'],
  PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
  ...extra,
});

describe('linux load balancers in nftables (pure)', () => {
  it('a ClusterIP LB: one service-ips element, a chain that DNATs through its backend map (slot ranges → address . port)', () => {
    const r = realizeLoadBalancer(ID, lb(), [
      { ip: '10.244.1.5', remote: false },
      { ip: '10.244.2.5', remote: true },
    ]);
    assert.deepEqual(r.elements, [`service-ips|10.96.0.10 . tcp . 80|goto svc-${id}-0`]);
    assert.deepEqual(r.chains, {
      [`svc-${id}-0`]: [
        `meta l4proto tcp dnat ip to numgen random mod 65536 map @be-${id}-0`,
        'meta l4proto tcp reject with tcp reset',
        'reject',
      ],
    });
    // ClusterIP: no masquerade mark, even toward the remote endpoint, so no endpoint chain either.
    assert.deepEqual(r.maps, [`be-${id}-0`]);
    assert.deepEqual(r.mapElements, [`be-${id}-0|0-32767|10.244.1.5 . 8080`, `be-${id}-0|32768-65535|10.244.2.5 . 8080`]);
    assert.deepEqual(r.sets, []);
  });

  it('no backend: the map is empty and the chain the same (the lookup misses, the rejects answer)', () => {
    const none = realizeLoadBalancer(ID, lb(), []);
    const one = realizeLoadBalancer(ID, lb(), [{ ip: '10.244.1.5', remote: false }]);
    assert.deepEqual(none.mapElements, []);
    assert.deepEqual(none.chains, one.chains);
  });

  it('per-endpoint chains stay for affinity and for an external frontend with a remote backend', () => {
    const nodePort = { PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 30080, Flags: 2 }] };
    const local = realizeLoadBalancer(ID, nodePort, [{ ip: '10.244.1.5', remote: false }]);
    assert.deepEqual(local.maps, [`be-${id}-0`]);
    const remote = realizeLoadBalancer(ID, nodePort, [
      { ip: '10.244.1.5', remote: false },
      { ip: '10.244.2.5', remote: true },
    ]);
    assert.deepEqual(remote.maps, []);
    assert.deepEqual(remote.chains[`ep-${id}-0-0af40205`], ['ct mark set 0x5359', 'meta l4proto tcp dnat ip to 10.244.2.5:8080']);
    const external = lb({ PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 16 }] });
    assert.deepEqual(realizeLoadBalancer(ID, external, [{ ip: '10.244.2.5', remote: true }]).maps, []);
    assert.deepEqual(realizeLoadBalancer(ID, external, [{ ip: '10.244.1.5', remote: false }]).maps, [`be-${id}-0`]);
  });

  it('slot ranges: n contiguous ranges covering 0..65535 exactly once, lengths differing by at most one', () => {
    assert.deepEqual(slotRanges(0), []);
    assert.deepEqual(slotRanges(1), [[0, 65535]]);
    assert.deepEqual(slotRanges(3), [
      [0, 21845],
      [21846, 43690],
      [43691, 65535],
    ]);
    for (const n of [1, 2, 3, 5, 7, 10, 100, 1000, 4097, 65535, 65536]) {
      const r = slotRanges(n);
      assert.equal(r.length, n);
      let next = 0;
      const lengths = new Set<number>();
      for (const [first, last] of r) {
        assert.equal(first, next, `n=${n}: ranges are contiguous from 0`);
        assert.ok(last >= first, `n=${n}: no empty range`);
        lengths.add(last - first + 1);
        next = last + 1;
      }
      assert.equal(next, BACKEND_SLOTS, `n=${n}: the last range ends at 65535`);
      assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1, `n=${n}: lengths ${[...lengths]}`);
    }
    assert.throws(
      () =>
        realizeLoadBalancer(
          ID,
          lb(),
          Array.from({ length: 65537 }, (_, k) => ({ ip: `10.${k >> 16}.${(k >> 8) & 255}.${k & 255}`, remote: false })),
        ),
      /at most 65536/,
    );
  });

  it('a backend change is map elements only: the old ranges deleted, the new ones added, no chain or rule', () => {
    const two = realizeLoadBalancer(ID, lb(), [
      { ip: '10.244.1.5', remote: false },
      { ip: '10.244.1.6', remote: false },
    ]);
    const three = realizeLoadBalancer(ID, lb(), [
      { ip: '10.244.1.5', remote: false },
      { ip: '10.244.1.6', remote: false },
      { ip: '10.244.1.7', remote: false },
    ]);
    const d = diffLb({ a: two }, { a: three })!;
    assert.deepEqual(
      Object.entries(d)
        .filter(([, v]) => (v as unknown[]).length)
        .map(([k]) => k),
      ['delMapElements', 'addMapElements'],
    );
    assert.deepEqual(diffText({ a: two }, { a: three }, true).trim().split('\n'), [
      `delete element ip switchyard-lb be-${id}-0 { 0-32767 }`,
      `delete element ip switchyard-lb be-${id}-0 { 32768-65535 }`,
      `add element ip switchyard-lb be-${id}-0 { 0-21845 : 10.244.1.5 . 8080 }`,
      `add element ip switchyard-lb be-${id}-0 { 21846-43690 : 10.244.1.6 . 8080 }`,
      `add element ip switchyard-lb be-${id}-0 { 43691-65535 : 10.244.1.7 . 8080 }`,
    ]);
  });

  it('a node port with ClientIP affinity: service-nodeports element, affinity sets, masquerade toward remote endpoints only', () => {
    const r = realizeLoadBalancer(
      ID,
      { PortMappings: [{ Protocol: 17, InternalPort: 53, ExternalPort: 30053, DistributionType: 2, Flags: 18 }] },
      [
        { ip: '10.244.1.5', remote: false },
        { ip: '10.244.2.5', remote: true },
      ],
    );
    assert.deepEqual(r.elements, [`service-nodeports|udp . 30053|goto svc-${id}-0`]);
    assert.deepEqual(r.sets, [`aff-${id}-0-0af40105`, `aff-${id}-0-0af40205`]);
    assert.equal(r.chains[`svc-${id}-0`][0], `ip saddr @aff-${id}-0-0af40105 goto ep-${id}-0-0af40105`);
    assert.deepEqual(r.chains[`ep-${id}-0-0af40105`], [
      `update @aff-${id}-0-0af40105 { ip saddr }`,
      'meta l4proto udp dnat ip to 10.244.1.5:53',
    ]);
    assert.deepEqual(r.chains[`ep-${id}-0-0af40205`], [
      `update @aff-${id}-0-0af40205 { ip saddr }`,
      'ct mark set 0x5359',
      'meta l4proto udp dnat ip to 10.244.2.5:53',
    ]);
  });

  it('refuses IPv6 and bad values naming the field; DSR is plain DNAT', () => {
    assert.deepEqual(realizeLoadBalancer(ID, lb({ Flags: 1 }), []).elements, [`service-ips|10.96.0.10 . tcp . 80|goto svc-${id}-0`]);
    assert.throws(
      () => realizeLoadBalancer(ID, lb({ Flags: 2 }), []),
      (e: Error) => e instanceof PolicyError && /IPv6/.test(e.message),
    );
    assert.throws(() => realizeLoadBalancer(ID, lb({ FrontendVIPs: ['10.96.0.300'] }), []), /FrontendVIPs\[0\]/);
    assert.throws(
      () => realizeLoadBalancer(ID, lb({ PortMappings: [{ Protocol: 1, ExternalPort: 80 }] }), []),
      /PortMappings\[0\]\.Protocol/,
    );
  });

  it('one endpoint leaving (affinity): the transaction rewrites the LB chain and drops that endpoint chain, and nothing else', () => {
    const aff = (ips: string[]) =>
      realizeLoadBalancer(
        ID,
        lb({ PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 1 }] }),
        ips.map((ip) => ({ ip, remote: false })),
      );
    const before = aff(['10.244.1.5', '10.244.1.6']);
    const after = aff(['10.244.1.5']);
    const other = realizeLoadBalancer('53575944-0000-5000-8000-000000000002', lb({ FrontendVIPs: ['10.96.0.11'] }), []);
    const text = diffText({ a: before, b: other }, { a: after }, true);
    assert.deepEqual(text.trim().split('\n'), [
      `flush chain ip switchyard-lb svc-${id}-0`,
      `add rule ip switchyard-lb svc-${id}-0 ip saddr @aff-${id}-0-0af40105 goto ep-${id}-0-0af40105`,
      `add rule ip switchyard-lb svc-${id}-0 goto ep-${id}-0-0af40105`,
      `flush chain ip switchyard-lb ep-${id}-0-0af40106`,
      `delete chain ip switchyard-lb ep-${id}-0-0af40106`,
      `delete set ip switchyard-lb aff-${id}-0-0af40106`,
    ]);
    assert.equal(diffText({ a: after }, { a: after }, true), '');
  });

  it('a deleted LB: its elements go before its chains, its chain before its backend map (which takes its elements along)', () => {
    const r = realizeLoadBalancer(ID, lb(), [{ ip: '10.244.1.5', remote: false }]);
    assert.deepEqual(diffText({ a: r }, { a: undefined }, true).trim().split('\n'), [
      'delete element ip switchyard-lb service-ips { 10.96.0.10 . tcp . 80 }',
      `flush chain ip switchyard-lb svc-${id}-0`,
      `delete chain ip switchyard-lb svc-${id}-0`,
      `delete map ip switchyard-lb be-${id}-0`,
    ]);
  });

  it('a resync (reconcile) refuses an unrealized LB whose frontend another LB realizes, before touching the kernel', () => {
    const other = '53575944-0000-5000-8000-000000000002';
    const s = emptyState();
    s.loadBalancers[key(ID)] = { ...lb(), ID };
    s.loadBalancers[key(other)] = { ...lb(), ID: other };
    s.lbNft = { [key(ID)]: { backends: [] } };
    s.lbTable = true;
    // A nonexistent namespace: reaching the kernel would fail with another error.
    for (const only of [[key(other)], undefined])
      assert.throws(
        () => syncLoadBalancerTable(s, '/nonexistent/netns', {}, { only }),
        (e: Error) => e instanceof FrontendInUseError && e.message.includes('10.96.0.10 . tcp . 80') && e.message.includes(ID),
      );
  });
});
