/**
 * The nf_tables netlink encoder (src/dataplane/linux/nftnl) against the bytes nft 1.0.6 sends for the same
 * commands, captured with `nft --debug=mnl -f` (message bodies after the netlink header). Hand-checked edits
 * to the captures: libnftnl adds NFTA_*_SET_ID to every reference to a named set (from nft's cache; the kernel
 * finds a named set by its name), which the encoder leaves out, and nft's anonymous-set counter (6 in the
 * capture) is 1 in a fresh batch.
 */
import * as assert from 'node:assert/strict';
import { NftBatch } from '../../../src/dataplane/linux/nftnl/batch';
import { elementKey, encodeRule, UnsupportedRuleError } from '../../../src/dataplane/linux/nftnl/lb-rules';
import { NFPROTO_IPV4, NFT_MSG } from '../../../src/dataplane/linux/nftnl/wire';

const T = '0200000012000100737769746368796172642d6c6200000'; // nfgenmsg(AF_INET) + NFTA_*_TABLE "switchyard-lb"
const NFT = {
  newChainEpA: `${T}00900030065702d6100000000`,
  affinitySet:
    `${T}0150002006166662d782d302d30616634303130350000000008000300000000300800040000000007080005000000000408000a0000000001` +
    '0c000b000000000000a4cb800a000d000004020000000000',
  ctMark:
    `${T}00900020065702d6100000000500004802c0001800e000100696d6d6564696174650000001800028008000100000000010c0002800800010059530000` +
    '2000018007000100637400001400028008000200000000030800040000000001',
  dnat:
    `${T}00900020065702d6100000000e400048024000180090001006d6574610000000014000280080002000000001008000100000000012c00018008000100` +
    '636d700020000280080001000000000108000200000000000c00038005000100060000002c0001800e000100696d6d6564696174650000001800028008000100' +
    '000000010c000280080001000af401052c0001800e000100696d6d6564696174650000001800028008000100000000020c000280060001001f900000380001800800' +
    '01006e6174002c00028008000100000000010800020000000002080003000000000108000500000000020800070000000002',
  rejectTcp:
    `${T}00900020065702d62000000007800048024000180090001006d6574610000000014000280080002000000001008000100000000012c00018008000100636d7000` +
    '20000280080001000000000108000200000000000c0003800500010006000000240001800b00010072656a6563740000140002800800010000000001050002000000' +
    '0000',
  rejectIcmp: `${T}00900020065702d620000000028000480240001800b00010072656a65637400001400028008000100000000000500020003000000`,
  gotoEpA:
    `${T}00a0002007376632d78000000400004803c0001800e000100696d6d6564696174650000002800028008000100000000001c0002801800028008000100fffffffc` +
    '0900020065702d6100000000',
  affinityLookup:
    `${T}00a0002007376632d78000000a8000480340001800c0001007061796c6f6164002400028008000100000000010800020000000001080003000000000c0800040` +
    '000000004340001800b0001006c6f6f6b75700000240002800800020000000001150001006166662d782d302d3061663430313035000000003c0001800e00010' +
    '0696d6d6564696174650000002800028008000100000000001c0002801800028008000100fffffffc0900020065702d6100000000',
  affinityUpdate:
    `${T}00900020065702d610000000074000480340001800c0001007061796c6f6164002400028008000100000000010800020000000001080003000000000c0800040000` +
    '0000043c0001800b00010064796e73657400002c00028008000400000000010800030000000001150001006166662d782d302d306166343031303500000000',
  vmapSet:
    `${T}00c0002005f5f6d6170256400080003000000000b0800040000000004080005000000000408000600ffffff00080007000000000008000a00000000010c0009800800` +
    '01000000000320000d0000040100000001040000000004080004010000000100060400000000',
  vmapElements:
    `${T}00c0002005f5f6d61702564000800040000000001880003802c0001800c00018008000100000000001c0002801800028008000100fffffffc0900020065702d6100` +
    '0000002c0002800c00018008000100010000001c0002801800028008000100fffffffc0900020065702d62000000002c0003800c00018008000100020000001c0002' +
    '801800028008000100fffffffc0900020065702d6100000000',
  vmapRule:
    `${T}00a0002007376632d7800000070000480340001800b0001006e756d67656e00002400028008000100000000010800020000000003080003000000000108000400` +
    '00000000380001800b0001006c6f6f6b7570000028000280080002000000000108000300000000000c0001005f5f6d61702564000800040000000001',
  addElement:
    `${T}010000200736572766963652d69707300380003803400018014000180100001000a60000b11000000003500001c0002801800028008000100fffffffc0a000200` +
    '7376632d78000000',
  delElement: `${T}010000200736572766963652d697073001c0003801800018014000180100001000a60000b1100000000350000`,
  // map be-x-0 { typeof numgen random mod 65536 : ip daddr . th dport; flags interval; }
  backendMap:
    `${T}00b00020062652d782d300000080003000000000c0800040000000004080005000000000408000600000001cd080007000000000808000a00000000016800` +
    '0d00000401000000010400000000031a0004170000000112000401000000010400000100020400000000043400040d000000012c0014000407000000010c0004' +
    '0c00000001040c0000000114000407000000010c00040b000000010402000000060400000000',
  // add element … be-x-0 { 0-32767 : 10.0.0.1 . 8080, 32768-65535 : 10.0.0.2 . 8080 }
  backendAdd:
    `${T}00b00020062652d782d30000074000380200001800c0001800800010000000000100002800c0001000a0000011f9000001800028008000300000000010c00` +
    '01800800010000008000200003800c0001800800010000008000100002800c0001000a0000021f9000001800048008000300000000010c0001800800010000010000',
  // delete element … be-x-0 { 0-32767, 32768-65535 }
  backendDelete:
    `${T}00b00020062652d782d30000054000380100001800c00018008000100000000001800028008000300000000010c0001800800010000008000100003800c0001` +
    '8008000100000080001800048008000300000000010c0001800800010000010000',
  backendRule:
    `${T}00a0002007376632d780000002801048024000180090001006d6574610000000014000280080002000000001008000100000000012c00018008000100636d70` +
    '0020000280080001000000000108000200000000000c0003800500010006000000340001800b0001006e756d67656e000024000280080001000000000108000200' +
    '0001000008000300000000010800040000000000400001800e000100627974656f726465720000002c000280080001000000000108000200000000010800030000' +
    '00000108000400000000040800050000000004300001800b0001006c6f6f6b7570000020000280080002000000000108000300000000010b00010062652d782d30' +
    '000030000180080001006e617400240002800800010000000001080002000000000208000300000000010800050000000009',
};

const bodies = (b: NftBatch) => b.messages.map((m) => [m.msg, m.body.toString('hex')]);
const batch = () => new NftBatch(NFPROTO_IPV4, 'switchyard-lb');

describe('nf_tables netlink encoder (bytes as nft 1.0.6 sends them)', () => {
  it('chains, the affinity set and the endpoint chain rules', () => {
    const b = batch();
    b.newDynamicSet('aff-x-0-0af40105', 10800 * 1000);
    b.newChain('ep-a');
    b.appendRule('ep-a', 'ct mark set 0x5359');
    b.appendRule('ep-a', 'meta l4proto tcp dnat ip to 10.244.1.5:8080');
    b.appendRule('ep-b', 'meta l4proto tcp reject with tcp reset');
    b.appendRule('ep-b', 'reject');
    b.appendRule('svc-x', 'goto ep-a');
    b.appendRule('svc-x', 'ip saddr @aff-x-0-0af40105 goto ep-a');
    b.appendRule('ep-a', 'update @aff-x-0-0af40105 { ip saddr }');
    assert.deepEqual(bodies(b), [
      [NFT_MSG.NEWSET, NFT.affinitySet],
      [NFT_MSG.NEWCHAIN, NFT.newChainEpA],
      [NFT_MSG.NEWRULE, NFT.ctMark],
      [NFT_MSG.NEWRULE, NFT.dnat],
      [NFT_MSG.NEWRULE, NFT.rejectTcp],
      [NFT_MSG.NEWRULE, NFT.rejectIcmp],
      [NFT_MSG.NEWRULE, NFT.gotoEpA],
      [NFT_MSG.NEWRULE, NFT.affinityLookup],
      [NFT_MSG.NEWRULE, NFT.affinityUpdate],
    ]);
  });

  it('numgen over an anonymous verdict map created in the same batch, and verdict-map elements', () => {
    const b = batch();
    b.appendRule('svc-x', 'numgen random mod 3 vmap { 0 : goto ep-a, 1 : goto ep-b, 2 : goto ep-a }');
    b.addElement('service-ips', '10.96.0.11 . udp . 53', 'goto svc-x');
    b.deleteElement('service-ips', '10.96.0.11 . udp . 53');
    assert.deepEqual(bodies(b), [
      [NFT_MSG.NEWSET, NFT.vmapSet],
      [NFT_MSG.NEWSETELEM, NFT.vmapElements],
      [NFT_MSG.NEWRULE, NFT.vmapRule],
      [NFT_MSG.NEWSETELEM, NFT.addElement],
      [NFT_MSG.DELSETELEM, NFT.delElement],
    ]);
  });

  it('a backend map (interval data map), its slot ranges as start and end elements, and the dnat that reads it', () => {
    const b = batch();
    b.newBackendMap('be-x-0');
    b.appendRule('svc-x', 'meta l4proto tcp dnat ip to numgen random mod 65536 map @be-x-0');
    b.backendElements('add', 'be-x-0', [
      ['0-32767', '10.0.0.1 . 8080'],
      ['32768-65535', '10.0.0.2 . 8080'],
    ]);
    b.backendElements('delete', 'be-x-0', [['0-32767'], ['32768-65535']]);
    b.backendElements('add', 'be-x-0', []);
    assert.deepEqual(bodies(b), [
      [NFT_MSG.NEWSET, NFT.backendMap],
      [NFT_MSG.NEWRULE, NFT.backendRule],
      [NFT_MSG.NEWSETELEM, NFT.backendAdd],
      [NFT_MSG.DELSETELEM, NFT.backendDelete],
    ]);
    assert.throws(() => b.backendElements('add', 'be-x-0', [['5-4', '10.0.0.1 . 80']]), UnsupportedRuleError);
  });

  it('concatenated keys: each component in a 4-byte slot (node port: protocol . port)', () => {
    assert.equal(elementKey('udp . 30053').toString('hex'), '1100000075650000');
    assert.equal(elementKey('10.96.0.10 . tcp . 80').toString('hex'), '0a60000a0600000000500000');
  });

  it('the datagram: batch begin/end for the nftables subsystem around the changes, only the last one acknowledged', () => {
    const b = batch();
    b.newChain('ep-a');
    b.flushChain('ep-a');
    b.deleteChain('ep-a');
    const d = b.encode(100);
    const msgs: Array<{ type: number; flags: number; seq: number; body: string }> = [];
    for (let off = 0; off < d.length;) {
      const len = d.readUInt32LE(off);
      msgs.push({
        type: d.readUInt16LE(off + 4),
        flags: d.readUInt16LE(off + 6),
        seq: d.readUInt32LE(off + 8),
        body: d.subarray(off + 16, off + len).toString('hex'),
      });
      off += len;
    }
    assert.deepEqual(
      msgs.map((m) => [m.type, m.flags, m.seq]),
      [
        [16, 0x1, 100],
        [0xa03, 0x401, 101],
        [0xa08, 0x1, 102],
        [0xa05, 0x5, 103],
        [17, 0x1, 104],
      ],
    );
    assert.equal(msgs[0].body, '0000000a'); // res_id NFNL_SUBSYS_NFTABLES, big-endian
    assert.equal(msgs[2].body, `${T}00900020065702d6100000000`); // DELRULE with the chain only: flush
  });

  it('refuses rule text it has no encoding for', () => {
    assert.throws(() => encodeRule('ip daddr 10.0.0.1 drop', 1), UnsupportedRuleError);
  });
});
