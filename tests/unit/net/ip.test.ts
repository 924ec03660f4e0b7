import * as assert from 'node:assert/strict';
import {
  canonicalIp,
  contains,
  formatIp,
  hasHostBits,
  isMac,
  macFromIpv4,
  macKey,
  parseCidr,
  parseCidrGo,
  parseIp,
  parseIpGo,
  sameMac,
  toHnsMac,
  toKernelMac,
} from '../../../src/net';
import { compactGuid, isGuid, normalizeGuid, sameGuid, sameId } from '../../../src/net/id';
import { cloneJson, parseHnsJson, stringifyHnsJson } from '../../../src/net/json';
import { isReserved, nextFree } from '../../../src/dataplane/memory/addressing';

describe('src/net: addresses, MACs, GUIDs, uint64 JSON', () => {
  it('parses strict dotted quads and IPv6, refusing shorthand, leading zeros, zones and junk', () => {
    assert.deepEqual(parseIp('10.244.1.5'), { v: 4, n: 0x0af40105n });
    assert.deepEqual(parseIp('255.255.255.255'), { v: 4, n: 0xffffffffn });
    assert.equal(parseIp('0.0.0.0')?.n, 0n);
    for (const bad of ['10.1', '10.244.1.256', '010.1.1.1', '1.2.3.4.5', ' 1.2.3.4', 'fe80::1%eth0', 'banana', '', undefined, 42]) {
      assert.equal(parseIp(bad), undefined, String(bad));
    }
    assert.equal(parseIp('fd00:244:1::2')?.v, 6);
    assert.equal(canonicalIp('FD00:0244:0001:0:0:0:0:2'), 'fd00:244:1::2');
    assert.equal(formatIp({ v: 4, n: 0x0af40105n }), '10.244.1.5');
  });

  it('parses CIDRs keeping host bits so they can be refused', () => {
    const c = parseCidr('10.244.1.5/24')!;
    assert.equal(c.prefix, 24);
    assert.equal(hasHostBits(c), true);
    assert.equal(hasHostBits(parseCidr('10.244.1.0/24')!), false);
    assert.equal(parseCidr('10.244.1.0'), undefined);
    assert.equal(parseCidr('10.244.1.0/x'), undefined);
    assert.ok(contains(parseCidr('fd00::/64')!, parseIp('fd00::ffff')!));
    assert.ok(!contains(parseCidr('10.244.1.0/24')!, parseIp('10.244.2.1')!));
    assert.ok(!contains(parseCidr('10.244.1.0/24')!, parseIp('fd00::1')!));
  });

  it('reserves network, broadcast and gateway; /31 and /32 have no reserved addresses', () => {
    const c = parseCidr('10.0.0.0/24')!;
    const gw = parseIp('10.0.0.1')!;
    assert.ok(isReserved(c, parseIp('10.0.0.0')!, gw));
    assert.ok(isReserved(c, parseIp('10.0.0.255')!, gw));
    assert.ok(isReserved(c, gw, gw));
    assert.ok(!isReserved(c, parseIp('10.0.0.1')!, undefined));
    assert.ok(!isReserved(parseCidr('10.0.0.0/31')!, parseIp('10.0.0.0')!));
    assert.ok(!isReserved(parseCidr('10.0.0.7/32')!, parseIp('10.0.0.7')!));
    assert.equal(nextFree(c, new Set([0x0a000002n]), gw), 0x0a000003n);
    assert.equal(nextFree(parseCidr('10.0.0.0/30')!, new Set([0x0a000002n]), gw), undefined);
  });

  it('compares MACs by value', () => {
    assert.ok(isMac('00-15-5D-01-02-03') && isMac('00:15:5d:01:02:03'));
    assert.ok(!isMac('00-15:5D-01-02-03') && !isMac('00155D010203'));
    assert.equal(macKey('00-15-5D-01-02-03'), macKey('00:15:5d:01:02:03'));
  });

  it('parses the way Go does for the CNI side: space trimmed, IPv4-mapped addresses are IPv4', () => {
    assert.deepEqual(parseIpGo(' 10.0.0.1 '), { v: 4, n: 0x0a000001n });
    assert.deepEqual(parseIpGo('::ffff:10.0.0.1'), { v: 4, n: 0x0a000001n });
    assert.equal(parseIp('::ffff:10.0.0.1')?.v, 6);
    assert.equal(parseCidrGo('10.0.0.0/33'), undefined);
    assert.equal(parseCidr('10.0.0.0/33'), undefined);
  });

  it('converts MACs between the HNS and kernel spellings', () => {
    assert.equal(toHnsMac('0e:2a:0a:f4:01:05'), '0E-2A-0A-F4-01-05');
    assert.equal(toKernelMac('0E-2A-0A-F4-01-05'), '0e:2a:0a:f4:01:05');
    assert.ok(sameMac('0E-2A-0A-F4-01-05', '0e:2a:0a:f4:01:05'));
    assert.ok(!sameMac('0E-2A-0A-F4-01-05', '0e:2a:0a:f4:01:06'));
  });

  it('derives MACs from IPv4 addresses as HNS, flannel and kube-proxy do', () => {
    assert.equal(macFromIpv4('0E-2A', '10.244.1.7'), '0E-2A-0a-f4-01-07');
    assert.equal(macFromIpv4('0e:5a', '192.168.77.10', ':'), '0e:5a:c0:a8:4d:0a');
    assert.equal(macFromIpv4('02-11', parseIp('10.0.0.255')!), '02-11-0a-00-00-ff');
    assert.equal(macFromIpv4('0E-2A', 'fd00::1'), undefined);
    assert.equal(macFromIpv4('0E-2A', '10.1'), undefined);
  });

  it('matches GUIDs and IDs case-insensitively, braces ignored', () => {
    assert.ok(isGuid('{9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10}') && !isGuid('9d1a6f6e'));
    assert.equal(normalizeGuid('{9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10}'), '9D1A6F6E-2C2B-4F3E-8A55-0C4E2F1A7B10');
    assert.ok(sameGuid('{9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10}', '9D1A6F6E-2C2B-4F3E-8A55-0C4E2F1A7B10'));
    assert.ok(sameId('cbr0', 'CBR0') && !sameId(undefined, undefined) && !sameId('', ''));
    assert.equal(compactGuid('9D1A6F6E-2C2B-4F3E-8A55-0C4E2F1A7B10'), '9d1a6f6e2c2b4f3e8a550c4e2f1a7b10');
  });

  it('keeps uint64 values exact through parse, stringify and clone', () => {
    const text = '{"Version":18446744073709551615,"Small":1}';
    const doc = parseHnsJson<{ Version: bigint; Small: number }>(text);
    assert.equal(doc.Version, 18446744073709551615n);
    assert.equal(stringifyHnsJson(doc), text);
    const copy = cloneJson(doc);
    assert.equal(copy.Version, 18446744073709551615n);
    assert.notEqual(copy, doc);
  });

  it('cloneJson gives exactly what the text round trip gives, without the text where the data is plain', () => {
    const viaText = (v: unknown) => parseHnsJson(stringifyHnsJson(v));
    class Port {
      constructor(readonly n = 1) {}
    }
    const docs: unknown[] = [
      { a: 1, b: 'x', c: [1, undefined, () => 1, null, { d: undefined, e: Symbol('s') }], f: undefined, g: NaN, h: -0, i: Infinity },
      [undefined, [[]], {}, true, false, 0.5, -7],
      { Version: 18446744073709551615n, Luid: 2 ** 60, When: new Date(0), Port: new Port(3), deep: { deeper: [{ x: null }] } },
      'text',
      null,
      42,
    ];
    for (const d of docs) assert.deepEqual(cloneJson(d), viaText(d));
    const src = { nested: { list: [{ k: 1 }] } };
    const copy = cloneJson(src);
    copy.nested.list[0].k = 2;
    assert.equal(src.nested.list[0].k, 1, 'a deep copy');
    assert.equal(typeof cloneJson({ big: 2 ** 60 }).big, 'bigint', 'an integer past 2^53 comes back a bigint, as from the text');
  });
});
