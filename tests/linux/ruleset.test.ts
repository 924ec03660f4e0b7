/** The nftables renderer (pure): what each policy becomes, and bad input named by field. */
import * as assert from 'node:assert/strict';
import { render, PolicyError, type RenderInput } from '../../src/dataplane/linux/ruleset';

const base = (): RenderInput => ({
  bridges: [{ name: 'sybaaaaaaaaaa', subnet: '10.244.1.0/24', nat: false }],
  endpoints: [],
});

describe('linux data plane: nftables ruleset rendering', () => {
  it('replaces both tables atomically even when empty (add, delete, define)', () => {
    const text = render({ bridges: [], endpoints: [] });
    assert.equal(text, 'table inet switchyard\ndelete table inet switchyard\ntable bridge switchyard\ndelete table bridge switchyard\n');
  });

  it('OutBoundNAT policies: the union of all exceptions in one rule; Destinations only toward those', () => {
    const i = base();
    i.endpoints.push({
      id: 'AAAA-2',
      ip: '10.244.1.6',
      bridge: 'sybaaaaaaaaaa',
      policies: [
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } },
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } },
        { Type: 'OutBoundNAT', Settings: { Destinations: ['10.244.1.6'] } },
      ],
    });
    const text = render(i);
    assert.match(
      text,
      /ip saddr 10\.244\.1\.6 ip daddr != \{ 10\.244\.0\.0\/16, 10\.96\.0\.0\/12 \} oifname != "sybaaaaaaaaaa" masquerade/,
    );
    assert.match(text, /ip saddr 10\.244\.1\.6 ip daddr 10\.244\.1\.6 masquerade/);
    assert.equal((text.match(/ip saddr 10\.244\.1\.6 /g) ?? []).length, 2);
    const dsrOnly = base();
    dsrOnly.endpoints.push({
      id: 'AAAA-3',
      ip: '10.244.1.7',
      bridge: 'sybaaaaaaaaaa',
      policies: [{ Type: 'OutBoundNAT', Settings: { Destinations: ['10.244.1.7'] } }],
    });
    assert.doesNotMatch(
      render(dsrOnly),
      /ip saddr 10\.244\.1\.7 (?!ip daddr 10\.244\.1\.7 )/,
      'a Destinations policy is never an unconditional masquerade',
    );
  });

  it('OutBoundNAT masquerades the endpoint except toward the exception prefixes and its own bridge', () => {
    const i = base();
    i.endpoints.push({
      id: 'AAAA-1',
      ip: '10.244.1.5',
      bridge: 'sybaaaaaaaaaa',
      policies: [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16', '10.96.0.0/12'] } }],
    });
    assert.match(
      render(i),
      /ip saddr 10\.244\.1\.5 ip daddr != \{ 10\.244\.0\.0\/16, 10\.96\.0\.0\/12 \} oifname != "sybaaaaaaaaaa" masquerade/,
    );
  });

  it('ACLs render in Priority order on the endpoint port of the bridge table', () => {
    const i = base();
    i.endpoints.push({
      id: 'C1',
      ip: '10.244.1.7',
      veth: 'syvcccccccccc',
      policies: [
        { Type: 'ACL', Settings: { Action: 'Block', Direction: 'In', Priority: 200 } },
        {
          Type: 'ACL',
          Settings: {
            Action: 'Allow',
            Direction: 'In',
            RemoteAddresses: '10.0.0.0/8',
            Protocols: '6',
            LocalPorts: '80,443',
            Priority: 100,
          },
        },
      ],
    });
    const t = render(i);
    const chain = /chain acl-in-c1 \{\n\t\t(.*)\n\t\t(.*)\n/.exec(t)!;
    assert.equal(chain[1], 'ip daddr 10.244.1.7 ip saddr 10.0.0.0/8 meta l4proto tcp th dport { 80, 443 } accept');
    assert.equal(chain[2], 'ip daddr 10.244.1.7 drop');
    assert.match(t, /oifname vmap \{ "syvcccccccccc" : jump acl-in-c1 \}/);
    // Stateful: the inet table marks established/related packets, the bridge chains accept them before any endpoint's rules.
    assert.match(
      t,
      /chain acl-state-in \{\n\t\ttype filter hook prerouting priority mangle; policy accept;\n\t\tct state established,related meta mark set meta mark \| 0x00200000\n/,
    );
    assert.match(t, /chain acl-state-out \{\n\t\ttype filter hook output priority mangle;/);
    assert.match(
      t,
      /chain forward \{\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tmeta mark & 0x00200000 == 0x00200000 accept\n\t\toifname vmap/,
    );
    assert.match(t, /chain output \{\n[^}]*\n\t\tmeta mark & 0x00200000 == 0x00200000 accept\n\t\toifname vmap/);
  });

  it('bad values are refused naming the field', () => {
    const bad = (p: object) => {
      const i = base();
      i.endpoints.push({ id: 'D1', ip: '10.244.1.9', veth: 'syvdddddddddd', policies: [p as never] });
      return () => render(i);
    };
    assert.throws(
      bad({ Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 70000 } }),
      (e: Error) => e instanceof PolicyError && /PortMapping\.ExternalPort/.test(e.message),
    );
    assert.throws(bad({ Type: 'ACL', Settings: { Action: 'Maybe', Direction: 'In' } }), /ACL\.Action/);
    assert.throws(bad({ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8; flush ruleset'] } }), /OutBoundNAT\.Exceptions/);
  });
});
