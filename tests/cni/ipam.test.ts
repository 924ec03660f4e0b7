import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, BIN, DEL, HOST_LOCAL, createNamespace, createV1Network, files, makeLab, run, runSync, type Lab } from './helpers';

const L2BRIDGE = { Name: 'cbr0', Type: 'L2Bridge', Subnets: [{ AddressPrefix: '10.244.0.0/16', GatewayAddress: '10.244.0.1' }] };

describe('IPAM: host-local compatible store and delegation', () => {
  let lab: Lab;
  beforeEach(() => {
    lab = makeLab();
  });
  afterEach(() => lab.cleanup());

  const ipamConf = (type: string, over: Record<string, unknown> = {}) => ({
    cniVersion: '1.0.0',
    name: 'shared',
    type,
    ipam: { type, subnet: '10.50.0.0/24', dataDir: lab.ipamDir, ...over },
  });

  it('switchyard-ipam and the reference host-local sharing one store never hand out the same address', async () => {
    const jobs: Promise<{ who: string; id: string; out: string; code: number }>[] = [];
    for (let i = 0; i < 20; i++) {
      for (const [who, bin] of [
        ['sy', 'switchyard-ipam'],
        ['hl', HOST_LOCAL],
      ] as const) {
        const id = `${who}${i}`;
        jobs.push(
          run(bin, lab, ADD(id, '/var/run/netns/x'), ipamConf('host-local')).then((r) => ({ who, id, out: r.stdout, code: r.code })),
        );
      }
    }
    const results = await Promise.all(jobs);
    for (const r of results) assert.equal(r.code, 0, `${r.id}: ${r.out}`);
    const addrs = results.map((r) => JSON.parse(r.out).ips[0].address as string);
    assert.equal(new Set(addrs).size, 40, 'all distinct');
    const dir = path.join(lab.ipamDir, 'shared');
    const held = files(dir).filter((f) => f.startsWith('10.'));
    assert.equal(held.length, 40);
    for (const r of results) {
      const ip = JSON.parse(r.out).ips[0].address.split('/')[0];
      assert.equal(fs.readFileSync(path.join(dir, ip), 'utf8'), `${r.id}\r\neth0`);
    }
    // Each can release what the other allocated.
    assert.equal(runSync('switchyard-ipam', lab, DEL('hl3', '/x'), ipamConf('host-local')).code, 0);
    assert.equal(runSync(HOST_LOCAL, lab, DEL('sy4', '/x'), ipamConf('host-local')).code, 0);
    assert.equal(files(dir).filter((f) => f.startsWith('10.')).length, 38);
  });

  it('allocates round-robin from last_reserved_ip, skips the gateway and reports exhaustion like host-local', () => {
    const conf = ipamConf('switchyard-ipam', {
      subnet: undefined,
      ranges: [[{ subnet: '10.60.0.0/29', rangeStart: '10.60.0.1', rangeEnd: '10.60.0.3' }]],
    });
    const got = ['a', 'b', 'c'].map((id) => runSync('switchyard-ipam', lab, ADD(id, '/x'), conf));
    assert.deepEqual(
      got.slice(0, 2).map((r) => r.json().ips[0].address),
      ['10.60.0.2/29', '10.60.0.3/29'],
    );
    assert.equal(got[2].code, 1);
    assert.deepEqual(got[2].json(), {
      code: 999,
      msg: 'failed to allocate for range 0: no IP addresses available in range set: 10.60.0.1-10.60.0.3',
    });
    assert.equal(fs.readFileSync(path.join(lab.ipamDir, 'shared', 'last_reserved_ip.0'), 'utf8'), '10.60.0.3');
    assert.equal(runSync('switchyard-ipam', lab, DEL('a', '/x'), conf).code, 0);
    assert.equal(runSync('switchyard-ipam', lab, ADD('d', '/x'), conf).json().ips[0].address, '10.60.0.2/29');
    const dup = runSync('switchyard-ipam', lab, ADD('d', '/x'), conf).json();
    assert.deepEqual(dup, {
      code: 999,
      msg: 'failed to allocate for range 0: 10.60.0.2 has been allocated to d, duplicate allocation is not allowed',
    });
  });

  it('rewrites last_reserved_ip whole when the new address is shorter, and host-local continues from it', () => {
    const conf = ipamConf('switchyard-ipam', { subnet: '10.61.0.0/24' });
    const dir = path.join(lab.ipamDir, 'shared');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), '10.61.0.254');
    const a = runSync('switchyard-ipam', lab, ADD('wrap1', '/x'), conf);
    assert.equal(a.code, 0, a.stdout);
    assert.equal(a.json().ips[0].address, '10.61.0.2/24', 'wrapped to the first address after the gateway');
    assert.equal(fs.readFileSync(path.join(dir, 'last_reserved_ip.0'), 'utf8'), '10.61.0.2');
    const b = runSync(HOST_LOCAL, lab, ADD('wrap2', '/x'), conf);
    assert.equal(b.code, 0, b.stdout);
    assert.equal(JSON.parse(b.stdout).ips[0].address, '10.61.0.3/24');
  });

  it("rejects bad ranges with host-local's messages", () => {
    const e = (over: Record<string, unknown>) => runSync('switchyard-ipam', lab, ADD('z', '/x'), ipamConf('switchyard-ipam', over)).json();
    assert.deepEqual(e({ subnet: '10.0.0.0/31' }), {
      code: 999,
      msg: 'invalid range set 0: Network 10.0.0.0/31 too small to allocate from',
    });
    assert.deepEqual(e({ subnet: '10.0.0.5/24' }), {
      code: 999,
      msg: 'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0',
    });
    assert.deepEqual(e({ subnet: '10.0.0.0/24', rangeStart: '10.0.1.1' }), {
      code: 999,
      msg: 'invalid range set 0: RangeStart 10.0.1.1 not in network 10.0.0.0/24',
    });
  });

  it('delegates to an IPAM binary on CNI_PATH with the same stdin and environment, keeping its error code on DEL', async () => {
    const binDir = path.join(lab.dir, 'bin');
    fs.mkdirSync(binDir);
    const spy = path.join(binDir, 'spy-ipam');
    fs.writeFileSync(
      spy,
      `#!/bin/sh\ncat > "${lab.dir}/stdin.$CNI_COMMAND"\nenv > "${lab.dir}/env.$CNI_COMMAND"\necho '{"code":11,"msg":"try again","details":"store busy"}'\nexit 1\n`,
      { mode: 0o755 },
    );
    await createV1Network(lab, L2BRIDGE);
    const conf = JSON.stringify(
      {
        cniVersion: '0.4.0',
        name: 'cbr0',
        type: 'win-bridge',
        ipam: { type: 'spy-ipam', anything: [1, 2] },
        args: { cni: { labels: [] } },
      },
      null,
      1,
    );
    const cni = { ...ADD('dg'), CNI_PATH: `${binDir}:${BIN}`, CNI_ARGS: 'K8S_POD_NAME=web' };
    const add = runSync('win-bridge', lab, cni, conf);
    assert.deepEqual(add.json(), {
      code: 999,
      msg: 'error while adding HNSEndpoint: failed to make a new HNSEndpoint: error while processing endpoint args: error while executing IPAM addition: try again; store busy',
    });
    assert.equal(fs.readFileSync(path.join(lab.dir, 'stdin.ADD'), 'utf8'), conf, 'IPAM gets the exact bytes');
    const env = fs.readFileSync(path.join(lab.dir, 'env.ADD'), 'utf8');
    assert.match(env, /^CNI_ARGS=K8S_POD_NAME=web$/m);
    assert.match(env, /^CNI_CONTAINERID=dg$/m);
    assert.ok(fs.existsSync(path.join(lab.dir, 'stdin.DEL')), 'a failed ADD calls IPAM DEL');
    const del = runSync('win-bridge', lab, { ...cni, CNI_COMMAND: 'DEL' }, conf);
    assert.deepEqual(del.json(), { code: 11, msg: 'try again', details: 'store busy' });
    const missing = runSync('win-bridge', lab, { ...cni, CNI_COMMAND: 'DEL', CNI_PATH: binDir }, conf.replace('spy-ipam', 'nope-ipam'));
    assert.deepEqual(missing.json(), { code: 999, msg: `failed to find plugin "nope-ipam" in path [${binDir}]` });
  });

  it('win-bridge with the reference host-local as its delegate', async () => {
    await createV1Network(lab, L2BRIDGE);
    const conf = {
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      ipam: { type: 'host-local', subnet: '10.244.3.0/24', rangeStart: '10.244.3.10', dataDir: lab.ipamDir },
    };
    const cni = { ...ADD('hl1'), CNI_PATH: `${BIN}:/usr/lib/cni` };
    const r = runSync('win-bridge', lab, cni, conf);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.json().ips, [{ address: '10.244.3.10/16', gateway: '10.244.3.2' }]);
    assert.deepEqual(files(path.join(lab.ipamDir, 'cbr0')), ['10.244.3.10', 'last_reserved_ip.0', 'lock']);
    assert.equal(runSync('win-bridge', lab, { ...cni, CNI_COMMAND: 'DEL' }, conf).code, 0);
    assert.deepEqual(files(path.join(lab.ipamDir, 'cbr0')), ['last_reserved_ip.0', 'lock']);
  });

  it('50 parallel ADDs get 50 distinct addresses and 50 endpoints; DELs leave nothing', async () => {
    await createV1Network(lab, L2BRIDGE);
    const ns = await createNamespace(lab);
    const conf = {
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      apiVersion: 2,
      ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/16', rangeStart: '10.244.5.10', dataDir: lab.ipamDir },
    };
    const ids = Array.from({ length: 50 }, (_, i) => `pod${i}`);
    const adds = await Promise.all(ids.map((id) => run('win-bridge', lab, ADD(id, ns), conf)));
    for (const [i, r] of adds.entries()) assert.equal(r.code, 0, `${ids[i]}: ${r.stdout}`);
    const addrs = adds.map((r) => r.json().ips[0].address);
    assert.equal(new Set(addrs).size, 50);
    const s = await lab.service();
    const eps = await s.listEndpoints();
    assert.equal(eps.length, 50);
    assert.deepEqual(new Set(eps.map((e) => `${e.IpConfigurations![0].IpAddress}/16`)), new Set(addrs));
    await s.close();
    const dels = await Promise.all(ids.map((id) => run('win-bridge', lab, { ...ADD(id, ns), CNI_COMMAND: 'DEL' }, conf)));
    for (const r of dels) assert.equal(r.code, 0, r.stdout);
    const s2 = await lab.service();
    assert.deepEqual(await s2.listEndpoints(), []);
    await s2.close();
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'cbr0')).filter((f) => f.startsWith('10.')),
      [],
    );
  });

  it('switchyard-ipam GC keeps only valid attachments; STATUS reports exhaustion', () => {
    const conf = { ...ipamConf('switchyard-ipam', { subnet: '10.70.0.0/30' }), cniVersion: '1.1.0' };
    assert.equal(runSync('switchyard-ipam', lab, ADD('keep', '/x'), conf).code, 0);
    assert.equal(runSync('switchyard-ipam', lab, { CNI_COMMAND: 'STATUS', CNI_PATH: BIN }, conf).json().code, 50);
    const gc = runSync('switchyard-ipam', lab, { CNI_COMMAND: 'GC', CNI_PATH: BIN }, { ...conf, 'cni.dev/valid-attachments': [] });
    assert.equal(gc.code, 0, gc.stdout);
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'shared')).filter((f) => f.startsWith('10.')),
      [],
    );
    assert.equal(runSync('switchyard-ipam', lab, { CNI_COMMAND: 'STATUS', CNI_PATH: BIN }, conf).code, 0);
  });
});
