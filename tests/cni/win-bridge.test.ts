import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, CHECK, DEL, createNamespace, createV1Network, files, makeLab, runSync, type Lab } from './helpers';
import type { MemoryHns } from '../../src/dataplane/memory';
import { winBridgeV1Endpoint } from '../fixtures/reference-documents';

/** The §3.3 input of the reference note, with the IPAM store in the lab. */
function bridgeConf(lab: Lab, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'cbr0',
    type: 'win-bridge',
    ipMasqNetwork: '10.244.0.0/16',
    ipam: { type: 'switchyard-ipam', subnet: '10.244.1.0/24', rangeStart: '10.244.1.5', dataDir: lab.ipamDir },
    dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
    policies: [
      { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12'] } },
      { name: 'EndpointPolicy', value: { Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
    ],
    loopbackDSR: true,
    runtimeConfig: {
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] },
    },
    ...over,
  };
}

function v2Conf(lab: Lab, over: Record<string, unknown> = {}): Record<string, unknown> {
  return bridgeConf(lab, {
    apiVersion: 2,
    policies: [
      { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } } },
      { name: 'EndpointPolicy', value: { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } } },
    ],
    ...over,
  });
}

const L2BRIDGE = { Name: 'cbr0', Type: 'L2Bridge', Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }] };

describe('win-bridge (HNS v1, apiVersion 1)', () => {
  let lab: Lab;
  let netId: string;
  beforeEach(async () => {
    lab = makeLab();
    netId = (await createV1Network(lab, L2BRIDGE)).ID;
    lab.clearCalls();
  });
  afterEach(() => lab.cleanup());

  /** What the container runtime does before CNI ADD: the pause container's compute system exists (HCS). */
  const runContainer = async (id: string) => ((await lab.service()) as MemoryHns).hcs.createComputeSystem(id);

  it('sends the §3.3 endpoint document and hot-adds it to the container (HCS)', async () => {
    await runContainer('abc123');
    const r = runSync('win-bridge', lab, ADD('abc123'), bridgeConf(lab));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const calls = lab.calls();
    const create = calls.find((c) => c.op === 'POST /endpoints/')!;
    assert.equal(JSON.stringify(create.body), JSON.stringify(winBridgeV1Endpoint(netId)));
    const attach = calls.find((c) => c.op === 'HcsModifyComputeSystem Add')!;
    assert.deepEqual(attach.body, { ContainerId: 'abc123' });
    assert.equal(calls.filter((c) => /\/attach$/.test(c.op)).length, 0, 'not HNS POST /endpoints/<id>/attach');
    const ep = (await (await lab.service()).v1!.call<{ SharedContainers?: string[] }[]>('GET', '/endpoints/'))[0];
    assert.deepEqual(ep.SharedContainers, ['abc123']);
    const mac = r.json().interfaces[0].mac as string;
    assert.match(mac, /^[0-9A-F]{2}(-[0-9A-F]{2}){5}$/);
    assert.equal(
      r.stdout,
      JSON.stringify(
        {
          cniVersion: '1.0.0',
          dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] },
          interfaces: [{ mac, name: 'abc123_cbr0' }],
          ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.2' }],
        },
        null,
        4,
      ),
    );
  });

  it('does not add the ipMasqNetwork exception when a config policy already lists it', () => {
    const conf = bridgeConf(lab, {
      policies: [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12', '10.244.0.0/16'] } }],
      runtimeConfig: {},
      loopbackDSR: false,
    });
    assert.equal(runSync('win-bridge', lab, ADD('p1'), conf).code, 0);
    const body = lab.calls().find((c) => c.op === 'POST /endpoints/')!.body as { Policies: unknown[] };
    assert.deepEqual(body.Policies, [{ Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12', '10.244.0.0/16'] }]);
  });

  it('prints the result in the shape of every CNI version', () => {
    const expected: Record<string, (mac: string) => unknown> = {
      '': () => ({
        cniVersion: '0.1.0',
        ip4: { ip: '10.244.1.5/24', gateway: '10.244.1.2' },
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      }),
      '0.1.0': () => ({
        cniVersion: '0.1.0',
        ip4: { ip: '10.244.1.5/24', gateway: '10.244.1.2' },
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      }),
      '0.2.0': () => ({
        cniVersion: '0.2.0',
        ip4: { ip: '10.244.1.5/24', gateway: '10.244.1.2' },
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      }),
      '0.3.0': (mac) => ({
        cniVersion: '0.3.0',
        interfaces: [{ name: 'v_cbr0', mac }],
        ips: [{ version: '4', address: '10.244.1.5/24', gateway: '10.244.1.2' }],
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      }),
      '0.3.1': (mac) => ({
        cniVersion: '0.3.1',
        interfaces: [{ name: 'v_cbr0', mac }],
        ips: [{ version: '4', address: '10.244.1.5/24', gateway: '10.244.1.2' }],
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      }),
      '0.4.0': (mac) => ({
        cniVersion: '0.4.0',
        interfaces: [{ name: 'v_cbr0', mac }],
        ips: [{ version: '4', address: '10.244.1.5/24', gateway: '10.244.1.2' }],
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      }),
      '1.0.0': (mac) => ({
        cniVersion: '1.0.0',
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
        interfaces: [{ mac, name: 'v_cbr0' }],
        ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.2' }],
      }),
      '1.1.0': (mac) => ({
        cniVersion: '1.1.0',
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
        interfaces: [{ mac, name: 'v_cbr0' }],
        ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.2' }],
      }),
    };
    for (const [version, shape] of Object.entries(expected)) {
      // A fresh store per version, so every run gets the first address of the range.
      const ipam = {
        type: 'switchyard-ipam',
        subnet: '10.244.1.0/24',
        rangeStart: '10.244.1.5',
        dataDir: path.join(lab.dir, `ipam-${version || 'empty'}`),
      };
      const conf = bridgeConf(lab, { cniVersion: version, runtimeConfig: {}, loopbackDSR: false, ipam });
      const r = runSync('win-bridge', lab, ADD('v'), conf);
      assert.equal(r.code, 0, `${version}: ${r.stdout}`);
      assert.ok(!r.stdout.endsWith('\n'), 'no trailing newline');
      const mac = r.json().interfaces?.[0]?.mac ?? '';
      assert.equal(r.stdout, JSON.stringify(shape(mac), null, 4), `result for cniVersion "${version}"`);
      assert.equal(runSync('win-bridge', lab, DEL('v'), conf).code, 0);
    }
  });

  it('reuses an existing endpoint without calling IPAM and leaves no residue after DEL', () => {
    const conf = bridgeConf(lab);
    const first = runSync('win-bridge', lab, ADD('c1'), conf);
    assert.equal(first.code, 0, first.stdout);
    const again = runSync('win-bridge', lab, ADD('c1'), conf);
    assert.equal(again.code, 0, again.stdout);
    assert.equal(again.stdout, first.stdout);
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'cbr0')).filter((f) => f.startsWith('10.')),
      ['10.244.1.5'],
    );
    assert.equal(runSync('win-bridge', lab, DEL('c1'), conf).code, 0);
    assert.equal(runSync('win-bridge', lab, DEL('c1'), conf).code, 0, 'DEL is idempotent');
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'cbr0')).filter((f) => f.startsWith('10.')),
      [],
    );
    assert.ok(lab.calls().some((c) => c.op.startsWith('DELETE /endpoints/')));
  });

  it('needs an existing endpoint for a non-infra netns (dockershim shared endpoint)', () => {
    const r = runSync('win-bridge', lab, ADD('app1', 'container:infra1'), bridgeConf(lab));
    assert.equal(r.code, 1);
    assert.deepEqual(r.json(), {
      code: 999,
      msg: 'error while adding HNSEndpoint: failed to find HNSEndpoint infra1_cbr0: Endpoint infra1_cbr0 not found',
    });
    assert.equal(runSync('win-bridge', lab, ADD('infra1'), bridgeConf(lab)).code, 0);
    const shared = runSync('win-bridge', lab, ADD('app1', 'container:infra1'), bridgeConf(lab));
    assert.equal(shared.code, 0, shared.stdout);
    assert.equal(shared.json().interfaces[0].name, 'infra1_cbr0');
  });

  it('reports a missing network and a wrong network type with the reference messages', async () => {
    const missing = runSync('win-bridge', lab, ADD('x'), bridgeConf(lab, { name: 'nope' }));
    assert.deepEqual(missing.json(), { code: 999, msg: 'error while getting network nope: Network nope not found' });
    await createV1Network(lab, { Name: 'nat1', Type: 'NAT', Subnets: [{ AddressPrefix: '172.20.0.0/24', GatewayAddress: '172.20.0.1' }] });
    const wrong = runSync('win-bridge', lab, ADD('x'), bridgeConf(lab, { name: 'nat1' }));
    assert.deepEqual(wrong.json(), { code: 999, msg: 'network nat1 is of unexpected type: NAT' });
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'nope')).filter((f) => f.startsWith('1')),
      [],
    );
  });

  it('adds loopback DSR only when the HNS version supports it', () => {
    const conf = bridgeConf(lab, { runtimeConfig: {}, ipMasqNetwork: '' });
    for (const [version, dsr] of [
      ['9.2', false],
      ['9.3', true],
      ['10.1', false],
      ['10.2', true],
    ] as const) {
      lab.clearCalls();
      const r = runSync('win-bridge', { ...lab, env: { ...lab.env, SWITCHYARD_HNS_VERSION: version } }, ADD('d'), conf);
      assert.equal(r.code, 0, r.stdout);
      const body = lab.calls().find((c) => c.op === 'POST /endpoints/')!.body as {
        IPAddress: string;
        Policies: { Destinations?: string[] }[];
      };
      assert.equal(
        body.Policies.some((p) => p.Destinations?.[0] === body.IPAddress),
        dsr,
        `HNS ${version}`,
      );
      assert.equal(runSync('win-bridge', lab, DEL('d'), conf).code, 0);
    }
  });

  it('rolls back the address when HNS refuses the endpoint', () => {
    // An IPAM address outside the HNS subnet: HNS rejects the endpoint; the reservation must go.
    const conf = bridgeConf(lab, { ipam: { type: 'switchyard-ipam', subnet: '10.99.0.0/24', dataDir: lab.ipamDir } });
    const r = runSync('win-bridge', lab, ADD('bad'), conf);
    assert.equal(r.code, 1);
    assert.match(r.json().msg, /^error while adding HNSEndpoint: failed to create the new HNSEndpoint: /);
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'cbr0')).filter((f) => f.startsWith('10.')),
      [],
    );
  });

  it('GC (v1) deletes endpoints of sandboxes that are no longer valid, with their addresses', async () => {
    const conf = bridgeConf(lab, { cniVersion: '1.1.0', runtimeConfig: {}, loopbackDSR: false });
    for (const id of ['a1', 'a2']) assert.equal(runSync('win-bridge', lab, ADD(id), conf).code, 0);
    const gc = runSync(
      'win-bridge',
      lab,
      { CNI_COMMAND: 'GC', CNI_PATH: lab.dir },
      { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'a1', ifname: 'eth0' }] },
    );
    assert.equal(gc.code, 0, gc.stdout);
    const s = await lab.service();
    assert.deepEqual(
      (await s.listEndpoints()).map((e) => e.Name),
      ['a1_cbr0'],
    );
    await s.close();
    assert.equal(files(path.join(lab.ipamDir, 'cbr0')).filter((f) => f.startsWith('10.')).length, 1);
  });

  it('CHECK verifies the endpoint, its attachment and prevResult', async () => {
    await runContainer('k1');
    const conf = bridgeConf(lab);
    const add = runSync('win-bridge', lab, ADD('k1'), conf);
    const ok = runSync('win-bridge', lab, CHECK('k1'), { ...conf, prevResult: add.json() });
    assert.equal(ok.code, 0, ok.stdout);
    const wrong = runSync('win-bridge', lab, CHECK('k1'), { ...conf, prevResult: { ...add.json(), ips: [{ address: '10.244.1.77/24' }] } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.json().msg, /has address 10\.244\.1\.5, prevResult has 10\.244\.1\.77/);
    runSync('win-bridge', lab, DEL('k1'), conf);
    const gone = runSync('win-bridge', lab, CHECK('k1'), { ...conf, prevResult: add.json() });
    assert.deepEqual(gone.json(), { code: 999, msg: 'CHECK: HNSEndpoint k1_cbr0 not found' });
  });
});

describe('win-bridge (HCN v2, apiVersion 2)', () => {
  let lab: Lab;
  let netId: string;
  let ns: string;
  beforeEach(async () => {
    lab = makeLab();
    netId = (await createV1Network(lab, L2BRIDGE)).ID;
    ns = await createNamespace(lab);
    lab.clearCalls();
  });
  afterEach(() => lab.cleanup());

  it('sends the §3.4 HostComputeEndpoint and the namespace add', () => {
    const r = runSync('win-bridge', lab, ADD('abc123', ns), v2Conf(lab));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const calls = lab.calls();
    const create = calls.find((c) => c.op === 'createEndpoint')!;
    assert.equal(create.id, netId);
    assert.equal(
      JSON.stringify(create.body),
      JSON.stringify({
        Name: 'abc123_cbr0',
        HostComputeNetwork: netId,
        Policies: [
          { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } },
          { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
          { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } },
          { Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '' } },
          { Type: 'OutBoundNAT', Settings: { Destinations: ['10.244.1.5'] } },
        ],
        IpConfigurations: [{ IpAddress: '10.244.1.5' }],
        Dns: { Search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ServerList: ['10.96.0.10'] },
        Routes: [{ NextHop: '10.244.1.2', DestinationPrefix: '0.0.0.0/0' }],
        Health: { Extra: {} },
        SchemaVersion: { Major: 2, Minor: 0 },
      }),
    );
    const attach = calls.find((c) => c.op === 'attachEndpoint')!;
    assert.equal(attach.id, ns);
    const res = r.json();
    assert.deepEqual(res.ips, [{ address: '10.244.1.5/24', gateway: '10.244.1.2' }]);
    assert.equal(res.interfaces[0].name, 'abc123_cbr0');
  });

  it('replaces an endpoint of the same name on another network', async () => {
    const other = await createV1Network(lab, {
      Name: 'cbr1',
      Type: 'L2Bridge',
      Subnets: [{ AddressPrefix: '10.250.0.0/24', GatewayAddress: '10.250.0.1' }],
    });
    const s = await lab.service();
    const stale = await s.createEndpoint(other.ID, {
      Name: 'abc123_cbr0',
      HostComputeNetwork: other.ID,
      IpConfigurations: [{ IpAddress: '10.250.0.9' }],
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    await s.close();
    const r = runSync('win-bridge', lab, ADD('abc123', ns), v2Conf(lab));
    assert.equal(r.code, 0, r.stdout);
    assert.ok(lab.calls().some((c) => c.op === 'deleteEndpoint' && c.id === stale.ID));
    const s2 = await lab.service();
    const eps = await s2.listEndpoints();
    await s2.close();
    assert.deepEqual(
      eps.map((e) => [e.Name, e.HostComputeNetwork]),
      [['abc123_cbr0', netId]],
    );
  });

  it('DEL leaves the namespace and deletes the endpoint; ADD/DEL/ADD cycles leave nothing behind', async () => {
    const conf = v2Conf(lab);
    for (let i = 0; i < 3; i++) {
      assert.equal(runSync('win-bridge', lab, ADD('cyc', ns), conf).code, 0);
      assert.equal(runSync('win-bridge', lab, DEL('cyc', ns), conf).code, 0);
    }
    const s = await lab.service();
    assert.deepEqual(await s.listEndpoints(), []);
    assert.deepEqual((await s.getNamespace(ns)).Resources ?? [], []);
    await s.close();
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'cbr0')).filter((f) => f.startsWith('10.')),
      [],
    );
  });

  it('a failed namespace add removes the new endpoint and its address', async () => {
    const r = runSync('win-bridge', lab, ADD('nsbad', '5C5E6B1E-0000-4000-8000-000000000000'), v2Conf(lab));
    assert.equal(r.code, 1);
    assert.match(
      r.json().msg,
      /^error while adding HostComputeEndpoint: failed to add HostComputeEndpoint nsbad_cbr0 to HostComputeNamespace 5C5E6B1E-0000-4000-8000-000000000000: /,
    );
    const s = await lab.service();
    assert.deepEqual(await s.listEndpoints(), []);
    await s.close();
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'cbr0')).filter((f) => f.startsWith('10.')),
      [],
    );
  });

  it('CHECK (v2) fails once the endpoint has left its namespace', async () => {
    const conf = v2Conf(lab, { runtimeConfig: {} });
    const add = runSync('win-bridge', lab, ADD('k2', ns), conf);
    assert.equal(runSync('win-bridge', lab, { ...ADD('k2', ns), CNI_COMMAND: 'CHECK' }, { ...conf, prevResult: add.json() }).code, 0);
    const s = await lab.service();
    const ep = (await s.listEndpoints())[0];
    await s.detachEndpoint(ns, ep.ID!);
    await s.close();
    const r = runSync('win-bridge', lab, { ...ADD('k2', ns), CNI_COMMAND: 'CHECK' }, { ...conf, prevResult: add.json() });
    assert.deepEqual(r.json(), {
      code: 999,
      msg: `CHECK: HostComputeEndpoint k2_cbr0 is not attached to namespace ${ns} (attached to none)`,
    });
  });

  it("names the network with HCN's wording when it is missing", () => {
    const r = runSync('win-bridge', lab, ADD('x', ns), v2Conf(lab, { name: 'nope' }));
    assert.deepEqual(r.json(), { code: 999, msg: 'error while getting network nope: Network name "nope" not found' });
  });

  it('GC removes endpoints and reservations of attachments that are not valid', async () => {
    const conf = v2Conf(lab, { cniVersion: '1.1.0', runtimeConfig: {} });
    for (const id of ['g1', 'g2', 'g3']) {
      const a = runSync('win-bridge', lab, ADD(id, ns), conf);
      assert.equal(a.code, 0, a.stdout);
    }
    const gc = runSync(
      'win-bridge',
      lab,
      { CNI_COMMAND: 'GC', CNI_PATH: lab.dir },
      { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'g2', ifname: 'eth0' }] },
    );
    assert.equal(gc.code, 0, gc.stdout);
    assert.equal(gc.stdout, '');
    const s = await lab.service();
    assert.deepEqual(
      (await s.listEndpoints()).map((e) => e.Name),
      ['g2_cbr0'],
    );
    await s.close();
    const held = files(path.join(lab.ipamDir, 'cbr0')).filter((f) => f.startsWith('10.'));
    assert.equal(held.length, 1);
    assert.equal(fs.readFileSync(path.join(lab.ipamDir, 'cbr0', held[0]), 'utf8'), 'g2\r\neth0');
  });

  it('STATUS reports a missing network and an exhausted range with code 50', async () => {
    const conf = v2Conf(lab, {
      cniVersion: '1.1.0',
      runtimeConfig: {},
      ipam: { type: 'switchyard-ipam', subnet: '10.244.1.0/24', rangeStart: '10.244.1.5', rangeEnd: '10.244.1.6', dataDir: lab.ipamDir },
    });
    const st = (c: Record<string, unknown>) => runSync('win-bridge', lab, { CNI_COMMAND: 'STATUS', CNI_PATH: lab.dir }, c);
    assert.equal(st(conf).code, 0);
    const missing = st({ ...conf, name: 'gone' }).json();
    assert.equal(missing.code, 50);
    assert.equal(missing.msg, 'network gone is not available');
    assert.equal(runSync('win-bridge', lab, ADD('s1', ns), conf).code, 0);
    assert.equal(runSync('win-bridge', lab, ADD('s2', ns), conf).code, 0);
    const full = st(conf).json();
    assert.deepEqual([full.code, full.msg], [50, 'no IP addresses available in range set: 10.244.1.5-10.244.1.6']);
  });
});
