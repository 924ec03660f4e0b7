import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ADD, CHECK, DEL, createNamespace, createV1Network, files, makeLab, runSync, type Lab } from './helpers';

describe('switchyard CNI type (explicit mode, HCN v2 through the data-plane interface)', () => {
  let lab: Lab;
  let ns: string;
  let netId: string;
  beforeEach(async () => {
    lab = makeLab({ SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.0.4' });
    netId = (
      await createV1Network(
        lab,
        { Name: 'cbr0', Type: 'L2Bridge', Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }] },
        lab.env,
      )
    ).ID;
    await createV1Network(
      lab,
      {
        Name: 'vxlan0',
        Type: 'Overlay',
        Subnets: [{ AddressPrefix: '10.245.1.0/24', GatewayAddress: '10.245.1.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
      },
      lab.env,
    );
    ns = await createNamespace(lab);
    lab.clearCalls();
  });
  afterEach(() => lab.cleanup());

  const conf = (over: Record<string, unknown> = {}) => ({
    cniVersion: '1.1.0',
    name: 'pods',
    type: 'switchyard',
    mode: 'l2bridge',
    network: 'cbr0',
    outboundNatExceptions: ['10.244.0.0/16', '10.96.0.0/12'],
    ipam: { type: 'switchyard-ipam', subnet: '10.244.1.0/24', rangeStart: '10.244.1.10', dataDir: lab.ipamDir },
    dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
    runtimeConfig: { portMappings: [{ hostPort: 8443, containerPort: 443, protocol: 'tcp', hostIP: '192.0.2.10' }] },
    ...over,
  });

  it('l2bridge: one endpoint with the network gateway, a full CNI result with the interface in the sandbox', () => {
    const r = runSync('switchyard', lab, ADD('c1', ns, 'eth0'), conf());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const body = lab.calls().find((c) => c.op === 'createEndpoint')!.body;
    assert.deepEqual(body, {
      Name: 'c1_pods',
      HostComputeNetwork: netId,
      Policies: [
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } },
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } },
        { Type: 'PortMapping', Settings: { InternalPort: 443, ExternalPort: 8443, Protocol: 6, VIP: '192.0.2.10' } },
      ],
      IpConfigurations: [{ IpAddress: '10.244.1.10', PrefixLength: 24 }],
      Dns: { Search: ['svc.cluster.local'], ServerList: ['10.96.0.10'] },
      Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    const res = r.json();
    assert.equal(res.interfaces.length, 1);
    assert.equal(res.interfaces[0].name, 'eth0');
    assert.equal(res.interfaces[0].sandbox, ns);
    assert.deepEqual(res.ips, [{ address: '10.244.1.10/24', gateway: '10.244.1.1', interface: 0 }]);
    assert.deepEqual(res.routes, [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }]);
    assert.equal(runSync('switchyard', lab, CHECK('c1', ns), { ...conf(), prevResult: res }).code, 0);
    assert.equal(runSync('switchyard', lab, DEL('c1', ns), conf()).code, 0);
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'pods')).filter((f) => f.startsWith('10.')),
      [],
    );
  });

  it('overlay: MAC from the address, provider address from the network, win-bridge style gateway on request', () => {
    const c = conf({
      mode: 'overlay',
      network: 'vxlan0',
      ipMasq: true,
      outboundNatExceptions: [],
      runtimeConfig: {},
      ipam: { type: 'switchyard-ipam', subnet: '10.245.1.0/24', dataDir: lab.ipamDir },
    });
    const r = runSync('switchyard', lab, ADD('o1', ns), c);
    assert.equal(r.code, 0, r.stdout);
    const body = lab.calls().find((x) => x.op === 'createEndpoint')!.body as Record<string, unknown>;
    assert.equal(body.MacAddress, '0E-2A-0a-f5-01-02');
    assert.deepEqual(body.Policies, [
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.245.1.0/24'] } },
      { Type: 'ProviderAddress', Settings: { ProviderAddress: '10.0.0.4' } },
    ]);
    const plus2 = runSync('switchyard', lab, ADD('b2', ns), conf({ gateway: 'plus2', runtimeConfig: {} }));
    assert.deepEqual(plus2.json().ips[0].gateway, '10.244.1.2');
  });

  it('explains a mode that does not match the network, and a bad mode', () => {
    const r = runSync('switchyard', lab, ADD('x', ns), conf({ mode: 'overlay' }));
    assert.deepEqual(r.json(), { code: 999, msg: 'network cbr0 has type L2Bridge, but mode "overlay" needs Overlay' });
    const bad = runSync('switchyard', lab, ADD('x', ns), conf({ mode: 'bridge' }));
    assert.deepEqual(bad.json(), { code: 7, msg: 'invalid "mode" in network pods: use one of l2bridge, overlay, transparent' });
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'pods')).filter((f) => f.startsWith('10.')),
      [],
    );
  });

  it('GC removes stale endpoints of its network only', async () => {
    for (const id of ['a', 'b']) assert.equal(runSync('switchyard', lab, ADD(id, ns), conf({ runtimeConfig: {} })).code, 0);
    const gc = runSync(
      'switchyard',
      lab,
      { CNI_COMMAND: 'GC', CNI_PATH: lab.dir },
      { ...conf(), 'cni.dev/valid-attachments': [{ containerID: 'b', ifname: 'eth0' }] },
    );
    assert.equal(gc.code, 0, gc.stdout);
    const s = await lab.service();
    assert.deepEqual(
      (await s.listEndpoints()).map((e) => e.Name),
      ['b_pods'],
    );
    await s.close();
  });
});
