/**
 * The switchyard type on the linux data plane: a real veth in a real network namespace, as a Linux node's
 * runtime would see it. Needs root and the linux data plane in the build; skips itself otherwise. Uses its
 * own uniquely named namespaces (a node namespace for the data plane, one for the pod) and removes them.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, makeLab, runSync, type Lab } from './helpers';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

describe('switchyard type on the linux data plane (root)', function () {
  let lab: Lab;
  const suffix = Math.random().toString(36).slice(2, 8);
  const nodeNs = `sycni-node-${suffix}`;
  const podNs = `sycni-pod-${suffix}`;

  before(async function () {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!root || !fs.existsSync(path.join(ROOT, 'dist/src/dataplane/linux/index.js'))) this.skip();
    ip('netns', 'add', nodeNs);
    ip('netns', 'add', podNs);
    lab = makeLab({ SWITCHYARD_DATAPLANE: 'linux', SWITCHYARD_LINUX_NETNS: `/var/run/netns/${nodeNs}` });
    const { openDataplane } = await import('../../src/dataplane/factory');
    const linux = await openDataplane({ kind: 'linux', statePath: lab.state, env: { ...lab.env, SWITCHYARD_CALL_LOG: '' } });
    await linux.createNetwork({
      Name: 'cbr0',
      Type: 'L2Bridge',
      SchemaVersion: { Major: 2, Minor: 0 },
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
    });
    await linux.close();
  });

  after(() => {
    for (const ns of [podNs, nodeNs]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // never created (skipped) or already gone
      }
    }
    lab?.cleanup();
  });

  it('ADD puts CNI_IFNAME with the address and default route in the pod namespace; CHECK passes; DEL removes it', () => {
    const conf = {
      cniVersion: '1.1.0',
      name: 'pods',
      type: 'switchyard',
      mode: 'l2bridge',
      network: 'cbr0',
      ipam: { type: 'switchyard-ipam', subnet: '10.244.1.0/24', rangeStart: '10.244.1.10', dataDir: lab.ipamDir },
    };
    const cni = { CNI_CONTAINERID: 'c1', CNI_NETNS: `/var/run/netns/${podNs}`, CNI_IFNAME: 'eth0', CNI_PATH: BIN };
    const add = runSync('switchyard', lab, { ...cni, CNI_COMMAND: 'ADD' }, conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const res = add.json();
    assert.deepEqual(res.interfaces, [{ mac: '0e:2a:0a:f4:01:0a', name: 'eth0', sandbox: `/var/run/netns/${podNs}` }]);
    assert.deepEqual(res.ips, [{ address: '10.244.1.10/24', gateway: '10.244.1.1', interface: 0 }]);
    assert.match(ip('-n', podNs, '-o', 'addr', 'show', 'dev', 'eth0'), /inet 10\.244\.1\.10\/24/);
    assert.match(ip('-n', podNs, 'route', 'show', 'default'), /default via 10\.244\.1\.1 dev eth0/);
    assert.equal(runSync('switchyard', lab, { ...cni, CNI_COMMAND: 'CHECK' }, { ...conf, prevResult: res }).code, 0);
    assert.equal(runSync('switchyard', lab, { ...cni, CNI_COMMAND: 'DEL' }, conf).code, 0);
    assert.doesNotMatch(ip('-n', podNs, '-o', 'link'), /eth0/);
    assert.equal(runSync('switchyard', lab, { ...cni, CNI_COMMAND: 'DEL' }, conf).code, 0, 'DEL again');
  });
});
