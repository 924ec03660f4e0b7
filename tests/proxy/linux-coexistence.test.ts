/**
 * The Linux side of the kube-proxy check: `nft list tables` / `nft list chains` output parsed (fixed samples),
 * then, as root, a real nftables table named kube-proxy inside a namespace of the test's own.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { assertNoKubeProxyRules, findKubeProxyRules, type Exec } from '../../src/proxy/platform/linux-coexistence';
import { KubeProxyPresentError } from '../../src/proxy/sync';
import { canRunNetns, uniquePrefix } from '../linux/helpers/lab';

const fake =
  (tables: string, chains: string): Exec =>
  async (_file, args) =>
    args[1] === 'tables' ? tables : chains;

describe('proxy coexistence on Linux: kube-proxy nftables / iptables rules', function () {
  it('finds kube-proxy nftables tables and iptables-nft KUBE- chains, ignores everything else', async function () {
    const tables = 'table inet filter\ntable ip kube-proxy\ntable ip6 kube-proxy\ntable ip switchyard\n';
    const chains = [
      'table ip nat {',
      '\tchain KUBE-SERVICES {',
      '\t}',
      '\tchain POSTROUTING {',
      '\t}',
      '}',
      'table ip kube-proxy {',
      '\tchain KUBE-SERVICES {',
      '\t}',
      '}',
      'table ip switchyard {',
      '\tchain lb {',
      '\t}',
      '}',
    ].join('\n');
    assert.deepEqual(await findKubeProxyRules({ exec: fake(tables, chains) }), [
      'nftables table ip kube-proxy',
      'nftables table ip6 kube-proxy',
      'iptables chain KUBE-SERVICES in table ip nat',
    ]);
    assert.deepEqual(await findKubeProxyRules({ exec: fake('table inet filter\n', 'table inet filter {\n\tchain input {\n\t}\n}\n') }), []);
    await assert.rejects(assertNoKubeProxyRules({ exec: fake(tables, '') }), (e: Error) => {
      assert.ok(e instanceof KubeProxyPresentError);
      assert.match(e.message, /nftables table ip kube-proxy.*Stop kube-proxy on this node.*nft delete table ip kube-proxy/s);
      return true;
    });
  });

  describe('as root, in a network namespace', function () {
    let ns: string | undefined;
    before(function () {
      if (!canRunNetns()) this.skip();
    });
    after(function () {
      if (ns) execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    });

    it('passes on a clean namespace, refuses once a kube-proxy table exists', async function () {
      ns = uniquePrefix('sypx');
      execFileSync('ip', ['netns', 'add', ns]);
      const inNs: Exec = async (file, args) => execFileSync('ip', ['netns', 'exec', ns!, file, ...args], { encoding: 'utf8' });
      await assertNoKubeProxyRules({ exec: inNs });
      execFileSync('ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'ip', 'kube-proxy']);
      assert.deepEqual(await findKubeProxyRules({ exec: inNs }), ['nftables table ip kube-proxy']);
      await assert.rejects(assertNoKubeProxyRules({ exec: inNs }), KubeProxyPresentError);
    });
  });
});
