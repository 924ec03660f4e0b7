import * as assert from 'node:assert/strict';
import { canonicalIp, contains, formatIp, hasHostBits, isMac, isReserved, macKey, nextFree, parseCidr, parseIp } from '../../../src/dataplane/memory/addr';

describe('emulator address arithmetic', () => {
  it('parses strict dotted quads and IPv6, refusing shorthand, leading zeros, zones and junk', () => {
    assert.deepEqual(parseIp('10.244.1.5'), { family: 4, value: 0x0af40105n });
    assert.deepEqual(parseIp('255.255.255.255'), { family: 4, value: 0xffffffffn });
    assert.equal(parseIp('0.0.0.0')?.value, 0n);
    for (const bad of ['10.1', '10.244.1.256', '010.1.1.1', '1.2.3.4.5', ' 1.2.3.4', 'fe80::1%eth0', 'banana', '', undefined, 42]) {
      assert.equal(parseIp(bad), undefined, String(bad));
    }
    assert.equal(parseIp('fd00:244:1::2')?.family, 6);
    assert.equal(canonicalIp('FD00:0244:0001:0:0:0:0:2'), 'fd00:244:1::2');
    assert.equal(formatIp(4, 0x0af40105n), '10.244.1.5');
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
});
