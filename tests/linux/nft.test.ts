/**
 * Applying nftables rulesets inside a node namespace: in-process through libnftables, and through the `nft`
 * binary when the library cannot be loaded. Both must change only the target namespace, report nft's own
 * error text, and leave the JS thread in its original namespace.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { applyRuleset, loadLibnftables, NftError } from '../../src/dataplane/linux/nft';
import { openDataplane } from '../../src/dataplane/factory';
import { canRunNetns, uniquePrefix } from './helpers/lab';

const ownNetns = () => fs.readlinkSync('/proc/thread-self/ns/net');

describe('linux data plane: applying nftables rulesets', function () {
  let name: string;
  let ns: string;
  let table: string;
  const list = (): string => execFileSync('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']).toString();
  const hostHas = (): boolean => {
    try {
      execFileSync('nft', ['list', 'table', 'inet', table], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const ruleset = (addr: string) =>
    `table inet ${table}\ndelete table inet ${table}\ntable inet ${table} {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tip saddr ${addr} masquerade\n\t}\n}\n`;

  before(function () {
    if (!canRunNetns()) this.skip();
    name = uniquePrefix('synft');
    table = `sytest${name.slice(-4)}`;
    execFileSync('ip', ['netns', 'add', name]);
    ns = `/var/run/netns/${name}`;
  });
  after(() => {
    if (name) execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  });

  for (const library of ['libnftables.so.1', 'none'] as const) {
    const via = library === 'none' ? 'the nft binary' : 'libnftables';
    it(`${via}: replaces the table inside the node namespace only, and the JS thread stays in its namespace`, function () {
      if (library !== 'none' && !loadLibnftables(library)) this.skip();
      const before = ownNetns();
      applyRuleset(ns, ruleset('10.1.0.5'), library);
      applyRuleset(ns, ruleset('10.1.0.6'), library);
      const text = list();
      assert.match(text, /ip saddr 10\.1\.0\.6 masquerade/);
      assert.doesNotMatch(text, /10\.1\.0\.5/);
      assert.equal(hostHas(), false);
      assert.equal(ownNetns(), before);
      applyRuleset(ns, `delete table inet ${table}\n`, library);
      assert.doesNotMatch(list(), new RegExp(table));
    });

    it(`${via}: a bad ruleset fails with nft's error text, changes nothing, and the thread returns to its namespace`, function () {
      if (library !== 'none' && !loadLibnftables(library)) this.skip();
      const before = ownNetns();
      applyRuleset(ns, ruleset('10.1.0.7'), library);
      const bad = ruleset('10.1.0.8').replace('masquerade', 'masquerade-now');
      assert.throws(
        () => applyRuleset(ns, bad, library),
        (e: unknown) => {
          assert.ok(e instanceof NftError);
          // nft's own diagnosis (libnftables may point at another line of a buffer than the binary does).
          assert.match((e as NftError).message, /Error: syntax error/);
          assert.equal((e as NftError).ruleset, bad);
          return true;
        },
      );
      assert.match(list(), /ip saddr 10\.1\.0\.7 masquerade/);
      assert.equal(ownNetns(), before);
      applyRuleset(ns, `delete table inet ${table}\n`, library);
    });
  }

  it('a library that cannot be loaded falls back to the nft binary', () => {
    assert.equal(loadLibnftables('/nonexistent/libnftables.so.1'), null);
    applyRuleset(ns, ruleset('10.1.0.8'), '/nonexistent/libnftables.so.1');
    assert.match(list(), /ip saddr 10\.1\.0\.8 masquerade/);
    applyRuleset(ns, `delete table inet ${table}\n`, '/nonexistent/libnftables.so.1');
  });

  it('a missing namespace is an error naming it, with the thread still in its own namespace', () => {
    const before = ownNetns();
    assert.throws(() => applyRuleset(`/var/run/netns/${name}-missing`, ruleset('10.1.0.9')), new RegExp(`${name}-missing`));
    assert.equal(ownNetns(), before);
  });

  it('SWITCHYARD_LIBNFTABLES=none makes the data plane use the binary, with the same tables', async () => {
    const state = `/tmp/${name}-state.json`;
    const nodeNs = `${name}n`;
    execFileSync('ip', ['netns', 'add', nodeNs]);
    try {
      const dp = await openDataplane({
        kind: 'linux',
        env: {
          ...process.env,
          SWITCHYARD_LINUX_STATE: state,
          SWITCHYARD_LINUX_NETNS: `/var/run/netns/${nodeNs}`,
          SWITCHYARD_LIBNFTABLES: 'none',
        },
      });
      try {
        const net = await dp.createNetwork({
          Name: 'nftfallback',
          Type: 'NAT',
          Ipams: [
            {
              Type: 'Static',
              Subnets: [{ IpAddressPrefix: '10.77.0.0/24', Routes: [{ NextHop: '10.77.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
            },
          ],
        });
        const ep = await dp.createEndpoint(net.ID!, {
          Name: 'e',
          Policies: [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'] } }],
        });
        const text = execFileSync('ip', ['netns', 'exec', nodeNs, 'nft', 'list', 'table', 'inet', 'switchyard']).toString();
        assert.match(text, new RegExp(`ip saddr ${ep.IpConfigurations![0].IpAddress!.replace(/\./g, '\\.')} ip daddr != 10\\.0\\.0\\.0/8`));
        await dp.deleteEndpoint(ep.ID!);
        await dp.deleteNetwork(net.ID!);
      } finally {
        await dp.close();
      }
    } finally {
      execFileSync('ip', ['netns', 'del', nodeNs], { stdio: 'ignore' });
      for (const f of [state, `${state}.lock`, state.replace(/\.json$/, '.v1.json')]) fs.rmSync(f, { force: true });
    }
  });

  it('policy-free endpoints leave the tables as they are; a load balancer backend or an OutBoundNAT endpoint still changes them', async () => {
    const state = `/tmp/${name}-skip.json`;
    const nodeNs = `${name}s`;
    const podNs = `${name}p`;
    execFileSync('ip', ['netns', 'add', nodeNs]);
    execFileSync('ip', ['netns', 'add', podNs]);
    const tables = () => execFileSync('ip', ['netns', 'exec', nodeNs, 'nft', 'list', 'ruleset']).toString();
    try {
      const dp = await openDataplane({
        kind: 'linux',
        env: { ...process.env, SWITCHYARD_LINUX_STATE: state, SWITCHYARD_LINUX_NETNS: `/var/run/netns/${nodeNs}` },
      });
      try {
        const net = await dp.createNetwork({
          Name: 'nftskip',
          Type: 'L2Bridge',
          Ipams: [
            {
              Type: 'Static',
              Subnets: [{ IpAddressPrefix: '10.78.0.0/24', Routes: [{ NextHop: '10.78.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
            },
          ],
        });
        const base = tables();
        const plain = await dp.createEndpoint(net.ID!, { Name: 'plain' });
        await dp.attachEndpoint(`/var/run/netns/${podNs}`, plain.ID!, { interfaceName: 'eth0' });
        assert.equal(tables(), base);
        const backend = await dp.createEndpoint(net.ID!, { Name: 'backend' });
        const lb = await dp.createLoadBalancer({
          HostComputeEndpoints: [plain.ID!, backend.ID!],
          FrontendVIPs: ['10.96.7.7'],
          PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }],
        });
        const ipOf = (e: typeof plain) => e.IpConfigurations![0].IpAddress!;
        assert.match(tables(), new RegExp(`${ipOf(backend).replace(/\./g, '\\.')}`));
        // Deleting a backend endpoint changes the load balancer's chain even though the endpoint has no policy.
        await dp.deleteEndpoint(backend.ID!);
        assert.doesNotMatch(tables(), new RegExp(`${ipOf(backend).replace(/\./g, '\\.')}\\b`));
        assert.match(tables(), new RegExp(`${ipOf(plain).replace(/\./g, '\\.')}`));
        await dp.deleteLoadBalancer(lb.ID!);
        const nat = await dp.createEndpoint(net.ID!, { Name: 'nat', Policies: [{ Type: 'OutBoundNAT', Settings: {} }] });
        assert.match(tables(), new RegExp(`ip saddr ${ipOf(nat).replace(/\./g, '\\.')} oifname != "syb`));
        await dp.deleteEndpoint(nat.ID!);
        await dp.detachEndpoint(`/var/run/netns/${podNs}`, plain.ID!);
        await dp.deleteEndpoint(plain.ID!);
        assert.equal(tables(), base);
        await dp.deleteNetwork(net.ID!);
      } finally {
        await dp.close();
      }
    } finally {
      for (const n of [podNs, nodeNs]) execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      for (const f of [state, `${state}.lock`, state.replace(/\.json$/, '.v1.json')]) fs.rmSync(f, { force: true });
    }
  });
});
