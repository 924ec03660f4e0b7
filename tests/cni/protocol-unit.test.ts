import { strict as assert } from 'node:assert';
import { formatResult, parseResult, type CniResult } from '../../src/cni/protocol/result';
import { parseGoJson } from '../../src/cni/protocol/gojson';
import {
  applyLoopbackDsr,
  applyOutboundNat,
  applyDefaultPA,
  hcnEndpointPolicies,
  protocolEnum,
} from '../../src/cni/plugins/common/policies';
import { endpointName } from '../../src/cni/plugins/common/hns';
import { findInPath } from '../../src/cni/ipam/invoke';
import type { Policy } from '../../src/cni/config/netconf';

describe('CNI protocol pieces (pure)', () => {
  const full: CniResult = {
    cniVersion: '1.1.0',
    interfaces: [
      { name: 'eth0', mac: '0E-2A-0A-F4-01-05', mtu: 1450, sandbox: '/var/run/netns/x', socketPath: '/s', pciID: '0000:00:01.0' },
    ],
    ips: [
      { interface: 0, address: '10.244.1.5/24', gateway: '10.244.1.1' },
      { interface: 0, address: 'fd00::5/64', gateway: 'fd00::1' },
    ],
    routes: [
      { dst: '0.0.0.0/0', gw: '10.244.1.1', mtu: 1400, table: 10 },
      { dst: '::/0', gw: 'fd00::1' },
    ],
    dns: { nameservers: ['10.96.0.10'] },
  };

  it('1.1.0 keeps mtu/socketPath/pciID and route attributes; 1.0.0 drops them; keys sorted', () => {
    assert.equal(
      formatResult(full, '1.1.0'),
      JSON.stringify(
        {
          cniVersion: '1.1.0',
          dns: { nameservers: ['10.96.0.10'] },
          interfaces: [
            { mac: '0E-2A-0A-F4-01-05', mtu: 1450, name: 'eth0', pciID: '0000:00:01.0', sandbox: '/var/run/netns/x', socketPath: '/s' },
          ],
          ips: [
            { address: '10.244.1.5/24', gateway: '10.244.1.1', interface: 0 },
            { address: 'fd00::5/64', gateway: 'fd00::1', interface: 0 },
          ],
          routes: [
            { dst: '0.0.0.0/0', gw: '10.244.1.1', mtu: 1400, table: 10 },
            { dst: '::/0', gw: 'fd00::1' },
          ],
        },
        null,
        4,
      ),
    );
    const v100 = JSON.parse(formatResult(full, '1.0.0'));
    assert.deepEqual(v100.interfaces, [{ mac: '0E-2A-0A-F4-01-05', name: 'eth0', sandbox: '/var/run/netns/x' }]);
    assert.deepEqual(v100.routes[0], { dst: '0.0.0.0/0', gw: '10.244.1.1' });
  });

  it('0.4.0 adds ips[].version; 0.2.0 keeps the first address per family with its routes', () => {
    const v040 = JSON.parse(formatResult(full, '0.4.0'));
    assert.deepEqual(
      v040.ips.map((i: { version: string }) => i.version),
      ['4', '6'],
    );
    assert.deepEqual(Object.keys(v040), ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
    assert.deepEqual(JSON.parse(formatResult(full, '0.2.0')), {
      cniVersion: '0.2.0',
      ip4: { ip: '10.244.1.5/24', gateway: '10.244.1.1', routes: [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }] },
      ip6: { ip: 'fd00::5/64', gateway: 'fd00::1', routes: [{ dst: '::/0', gw: 'fd00::1' }] },
      dns: { nameservers: ['10.96.0.10'] },
    });
    assert.throws(() => formatResult({ cniVersion: '1.1.0' }, '0.2.0'), /cannot convert: no valid IP addresses/);
    assert.equal(JSON.parse(formatResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }, '0.3.1')).dns !== undefined, true);
    assert.equal(JSON.parse(formatResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }, '1.0.0')).dns, undefined);
  });

  it('escapes <, > and & as Go does', () => {
    assert.match(
      formatResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }], dns: { domain: 'a<b>&c' } }, '1.0.0'),
      /a\\u003cb\\u003e\\u0026c/,
    );
  });

  it('reads IPAM results of any version', () => {
    assert.deepEqual(
      parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] } }, '0.2.0').ips,
      [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }],
    );
    assert.deepEqual(parseResult({ ips: [{ version: '4', address: '10.1.0.5/16' }] }, '0.4.0'), {
      cniVersion: '0.4.0',
      ips: [{ address: '10.1.0.5/16' }],
    });
  });

  it("reports JSON syntax errors in Go's words", () => {
    const e = (t: string) => {
      try {
        parseGoJson(t);
        return '';
      } catch (x) {
        return (x as Error).message;
      }
    };
    assert.equal(e(''), 'unexpected end of JSON input');
    assert.equal(e('{"a" 1}'), "invalid character '1' after object key");
    assert.equal(e('{"a":1,}'), "invalid character '}' looking for beginning of object key string");
    assert.equal(e('[1 2]'), "invalid character '2' after array element");
    assert.equal(e('{} x'), "invalid character 'x' after top-level value");
    assert.equal(e('tru'), 'unexpected end of JSON input');
    assert.equal(e('nul!'), "invalid character '!' in literal null (expecting 'l')");
  });

  it('policy helpers: exact-case lookups, no duplicates, v2 decoding keeps only Type and Settings', () => {
    const p: Policy[] = [{ name: 'EndpointPolicy', value: { type: 'OutBoundNAT', ExceptionList: ['10.0.0.0/8'] } }];
    applyOutboundNat(p, 1, '10.0.0.0/8');
    assert.equal(p.length, 2, 'lower-case "type" does not count as an existing OutBoundNAT');
    applyOutboundNat(p, 1, '10.0.0.0/8');
    assert.equal(p.length, 2, 'the appended one does');
    applyLoopbackDsr(p, 1, '10.0.0.5');
    applyLoopbackDsr(p, 1, '10.0.0.5');
    applyDefaultPA(p, 1, '192.0.2.1');
    applyDefaultPA(p, 1, '192.0.2.1');
    assert.equal(p.length, 4);
    const v2: Policy[] = [
      { name: 'endpointpolicy', value: { type: 'ACL', settings: { Action: 'Allow' }, Extra: 1 } },
      { name: 'EndpointPolicy', value: 'not an object' },
      { name: 'EndpointPolicy', value: { Type: 7 } },
      { name: 'someOtherType', value: { Type: 'QOS' } },
    ];
    assert.deepEqual(hcnEndpointPolicies(v2), [{ Type: 'ACL', Settings: { Action: 'Allow' } }]);
  });

  it('port-mapping protocols: Go base-0 numbers up to 10 bits, or a known name', () => {
    assert.deepEqual(['tcp', 'UDP', '6', '0x11', '0o7', '1023', '1024', 'sctp', ''].map(protocolEnum), [
      6,
      17,
      6,
      17,
      7,
      1023,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('endpoint names take the sandbox from container:<id>', () => {
    assert.equal(endpointName('abc', 'none', 'cbr0'), 'abc_cbr0');
    assert.equal(endpointName('app', 'container:infra', 'cbr0'), 'infra_cbr0');
    assert.equal(endpointName('abc', '5C5E6B1E-0000-4000-8000-000000000000', 'cbr0'), 'abc_cbr0');
    assert.equal(endpointName('abc', '', 'cbr0'), 'abc_cbr0');
  });

  it('delegate lookup: CNI_PATH split per OS, .exe first on Windows, reference messages', () => {
    assert.throws(() => findInPath('', '/x'), /^Error: no plugin name provided$/);
    assert.throws(() => findInPath('host-local', ''), /^Error: no paths provided$/);
    assert.throws(() => findInPath('nope', '/a:/b'), /^Error: failed to find plugin "nope" in path \[\/a \/b\]$/);
    assert.equal(findInPath('host-local', '/nonexistent:/usr/lib/cni'), '/usr/lib/cni/host-local');
  });
});
