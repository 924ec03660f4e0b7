/**
 * The linux load-balancer realization (lb-nft.ts), pure: what one LB puts in `ip switchyard-lb`, and the
 * transaction that changes one LB touches only its own elements and chains.
 */
import * as assert from 'node:assert/strict';
import { diffText, realizeLoadBalancer } from '../../src/dataplane/linux/lb-nft';
import { PolicyError } from '../../src/dataplane/linux/ruleset';

const ID = '53575944-0000-5000-8000-000000000001';
const id = ID.replace(/-/g, '');
const lb = (extra: Record<string, unknown> = {}) => ({
  FrontendVIPs: ['10.96.0.10'],
  PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
  ...extra,
});

describe('linux load balancers in nftables (pure)', () => {
  it('a ClusterIP LB: one service-ips element, a numgen chain over endpoint chains that DNAT', () => {
    const r = realizeLoadBalancer(ID, lb(), [
      { ip: '10.244.1.5', remote: false },
      { ip: '10.244.2.5', remote: true },
    ]);
    assert.deepEqual(r.elements, [`service-ips|10.96.0.10 . tcp . 80|goto svc-${id}-0`]);
    assert.deepEqual(r.chains[`svc-${id}-0`], [`numgen random mod 2 vmap { 0 : goto ep-${id}-0-0af40105, 1 : goto ep-${id}-0-0af40205 }`]);
    // ClusterIP: no masquerade mark, even toward the remote endpoint.
    assert.deepEqual(r.chains[`ep-${id}-0-0af40205`], ['meta l4proto tcp dnat ip to 10.244.2.5:8080']);
    assert.deepEqual(r.sets, []);
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

  it('one endpoint leaving: the transaction rewrites the LB chain and drops that endpoint chain, and nothing else', () => {
    const before = realizeLoadBalancer(ID, lb(), [
      { ip: '10.244.1.5', remote: false },
      { ip: '10.244.1.6', remote: false },
    ]);
    const after = realizeLoadBalancer(ID, lb(), [{ ip: '10.244.1.5', remote: false }]);
    const other = realizeLoadBalancer('53575944-0000-5000-8000-000000000002', lb({ FrontendVIPs: ['10.96.0.11'] }), []);
    const text = diffText({ a: before, b: other }, { a: after }, true);
    assert.deepEqual(text.trim().split('\n'), [
      `flush chain ip switchyard-lb svc-${id}-0`,
      `add rule ip switchyard-lb svc-${id}-0 goto ep-${id}-0-0af40105`,
      `flush chain ip switchyard-lb ep-${id}-0-0af40106`,
      `delete chain ip switchyard-lb ep-${id}-0-0af40106`,
    ]);
    assert.equal(diffText({ a: after }, { a: after }, true), '');
  });

  it('a deleted LB: its elements go before its chains', () => {
    const r = realizeLoadBalancer(ID, lb(), [{ ip: '10.244.1.5', remote: false }]);
    const lines = diffText({ a: r }, { a: undefined }, true).trim().split('\n');
    assert.equal(lines[0], 'delete element ip switchyard-lb service-ips { 10.96.0.10 . tcp . 80 }');
    assert.ok(
      lines.indexOf(`delete chain ip switchyard-lb svc-${id}-0`) > lines.indexOf(`flush chain ip switchyard-lb ep-${id}-0-0af40105`),
    );
  });
});
