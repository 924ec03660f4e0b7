import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, DEL, createNamespace, createV1Network, files, makeLab, runSync, type Lab } from './helpers';
import { winOverlayV1Endpoint } from '../fixtures/reference-documents';

const VXLAN0 = {
  Name: 'vxlan0',
  Type: 'Overlay',
  Subnets: [{ AddressPrefix: '10.244.2.0/24', GatewayAddress: '10.244.2.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
};

/** sample.conf of the reference plus host-local-style IPAM, ipMasq and loopbackDSR (§3.3). */
function sampleConf(lab: Lab, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '0.2.0',
    name: 'vxlan0',
    type: 'win-overlay',
    dns: { nameservers: ['11.0.0.10'], search: ['svc.cluster.local'] },
    policies: [
      { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['192.168.0.0/16', '11.0.0.0/8'] } },
      { name: 'EndpointPolicy', value: { Type: 'ROUTE', DestinationPrefix: '11.0.0.0/8', NeedEncap: true } },
    ],
    ipam: { type: 'switchyard-ipam', subnet: '10.244.2.0/24', rangeStart: '10.244.2.7', dataDir: lab.ipamDir },
    ipMasq: true,
    loopbackDSR: true,
    ...over,
  };
}

describe('win-overlay (HNS v1)', () => {
  let lab: Lab;
  let netId: string;
  beforeEach(async () => {
    lab = makeLab({ SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.0.4' });
    netId = (await createV1Network(lab, VXLAN0, { SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.0.4' })).ID;
    lab.clearCalls();
  });
  afterEach(() => lab.cleanup());

  it('sends the §3.3 overlay endpoint (PA, ipMasq, DSR, MAC from the address) and prints the 0.2.0 result', () => {
    const r = runSync('win-overlay', lab, ADD('abc123'), sampleConf(lab));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const create = lab.calls().find((c) => c.op === 'POST /endpoints/')!;
    assert.equal(JSON.stringify(create.body), JSON.stringify(winOverlayV1Endpoint(netId)));
    assert.equal(
      r.stdout,
      JSON.stringify(
        {
          cniVersion: '0.2.0',
          ip4: { ip: '10.244.2.7/24', gateway: '10.244.2.1' },
          dns: { nameservers: ['11.0.0.10'], search: ['svc.cluster.local'] },
        },
        null,
        4,
      ),
    );
    assert.equal(runSync('win-overlay', lab, DEL('abc123'), sampleConf(lab)).code, 0);
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'vxlan0')).filter((f) => f.startsWith('10.')),
      [],
    );
  });

  it('requires IPAM in v1, with the reference message', () => {
    const r = runSync('win-overlay', lab, ADD('n1'), sampleConf(lab, { ipam: undefined }));
    assert.deepEqual(r.json(), {
      code: 999,
      msg: `error while AddHnsEndpoint(n1_vxlan0,${netId},n1): failed to make a new HNSEndpoint: error while ipam.ExecAdd: no plugin name provided`,
    });
  });

  it('rejects a malformed endpointMacPrefix and honours a custom one', () => {
    const bad = runSync('win-overlay', lab, ADD('m1'), sampleConf(lab, { endpointMacPrefix: '0E2A' }));
    assert.deepEqual(bad.json(), {
      code: 7,
      msg: 'invalid network config field "endpointMacPrefix" in network vxlan0',
      details: 'endpointMacPrefix must be two hex bytes "xx-xx" (e.g. "0E-2A")',
    });
    assert.deepEqual(
      files(path.join(lab.ipamDir, 'vxlan0')).filter((f) => f.startsWith('10.')),
      [],
    );
    const ok = runSync('win-overlay', lab, ADD('m2'), sampleConf(lab, { endpointMacPrefix: '02-11', ipMasq: false, loopbackDSR: false }));
    assert.equal(ok.code, 0, ok.stdout);
    assert.equal((lab.calls().find((c) => c.op === 'POST /endpoints/')!.body as { MacAddress: string }).MacAddress, '02-11-0a-f4-02-07');
  });

  it('reports IPAM results it cannot use with the reference messages', () => {
    const binDir = path.join(lab.dir, 'bin');
    fs.mkdirSync(binDir);
    const fake = (name: string, result: unknown) =>
      fs.writeFileSync(path.join(binDir, name), `#!/bin/sh\ncat >/dev/null\nprintf '%s' '${JSON.stringify(result)}'\n`, { mode: 0o755 });
    fake('empty-ipam', { cniVersion: '0.4.0', ips: [] });
    fake('v6-ipam', { cniVersion: '0.4.0', ips: [{ version: '6', address: 'fd00::7/64' }] });
    const cni = { ...ADD('f1'), CNI_PATH: binDir };
    const empty = runSync('win-overlay', lab, cni, sampleConf(lab, { ipam: { type: 'empty-ipam' } }));
    assert.deepEqual(empty.json(), {
      code: 999,
      msg: `error while AddHnsEndpoint(f1_vxlan0,${netId},f1): failed to make a new HNSEndpoint: IPAM plugin return is missing IP config`,
    });
    const v6 = runSync('win-overlay', lab, cni, sampleConf(lab, { ipam: { type: 'v6-ipam' } }));
    assert.deepEqual(v6.json(), {
      code: 999,
      msg: `error while AddHnsEndpoint(f1_vxlan0,${netId},f1): failed to make a new HNSEndpoint: win-overlay doesn't support IPv6 now`,
    });
  });

  it('refuses a network that is not Overlay', async () => {
    await createV1Network(lab, { Name: 'br', Type: 'L2Bridge', Subnets: [{ AddressPrefix: '10.9.0.0/24', GatewayAddress: '10.9.0.1' }] });
    const r = runSync('win-overlay', lab, ADD('t1'), sampleConf(lab, { name: 'br' }));
    assert.deepEqual(r.json(), { code: 999, msg: 'network br is of an unexpected type: L2Bridge' });
  });
});

describe('win-overlay (HCN v2)', () => {
  let lab: Lab;
  let netId: string;
  let ns: string;
  beforeEach(async () => {
    lab = makeLab({ SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.133.170' });
    netId = (
      await createV1Network(
        lab,
        {
          Name: 'OVNKubernetesHybridOverlayNetwork',
          Type: 'Overlay',
          Subnets: [{ AddressPrefix: '10.132.0.0/24', GatewayAddress: '10.132.0.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
        },
        { SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.133.170' },
      )
    ).ID;
    ns = await createNamespace(lab);
    lab.clearCalls();
  });
  afterEach(() => lab.cleanup());

  /** sample-v2.conf of the reference (§1.8 d). */
  const sampleV2 = (lab: Lab, over: Record<string, unknown> = {}) => ({
    cniVersion: '0.2.0',
    name: 'OVNKubernetesHybridOverlayNetwork',
    type: 'win-overlay',
    ipam: { type: 'switchyard-ipam', subnet: '10.132.0.0/24', dataDir: lab.ipamDir },
    apiVersion: 2,
    capabilities: { portMappings: true, dns: true },
    policies: [
      { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['172.30.0.0/16'] } } },
      { name: 'EndpointPolicy', value: { Type: 'SDNRoute', Settings: { DestinationPrefix: '172.30.0.0/16', NeedEncap: true } } },
      { name: 'EndpointPolicy', value: { Type: 'ProviderAddress', Settings: { ProviderAddress: '10.0.133.170' } } },
    ],
    ...over,
  });

  it('sends the §3.4 overlay HostComputeEndpoint and prints the 0.2.0 result', () => {
    const r = runSync('win-overlay', lab, ADD('abc123', ns), sampleV2(lab));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const create = lab.calls().find((c) => c.op === 'createEndpoint')!;
    assert.equal(
      JSON.stringify(create.body),
      JSON.stringify({
        Name: 'abc123_OVNKubernetesHybridOverlayNetwork',
        HostComputeNetwork: netId,
        Policies: [
          { Type: 'OutBoundNAT', Settings: { Exceptions: ['172.30.0.0/16'] } },
          { Type: 'SDNRoute', Settings: { DestinationPrefix: '172.30.0.0/16', NeedEncap: true } },
          { Type: 'ProviderAddress', Settings: { ProviderAddress: '10.0.133.170' } },
        ],
        IpConfigurations: [{ IpAddress: '10.132.0.2' }],
        Dns: {},
        Routes: [{ NextHop: '10.132.0.1', DestinationPrefix: '0.0.0.0/0' }],
        MacAddress: '0E-2A-0a-84-00-02',
        Health: { Extra: {} },
        SchemaVersion: { Major: 2, Minor: 0 },
      }),
    );
    assert.equal(r.stdout, JSON.stringify({ cniVersion: '0.2.0', ip4: { ip: '10.132.0.2/24', gateway: '10.132.0.1' }, dns: {} }, null, 4));
  });

  it('appends loopback DSR, then the management PA, then the ipMasq subnet (v2 order)', () => {
    const r = runSync('win-overlay', lab, ADD('o2', ns), sampleV2(lab, { policies: [], ipMasq: true, loopbackDSR: true }));
    assert.equal(r.code, 0, r.stdout);
    const body = lab.calls().find((c) => c.op === 'createEndpoint')!.body as { Policies: unknown[] };
    assert.deepEqual(body.Policies, [
      { Type: 'OutBoundNAT', Settings: { Destinations: ['10.132.0.2'] } },
      { Type: 'ProviderAddress', Settings: { ProviderAddress: '10.0.133.170' } },
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.132.0.0/24'] } },
    ]);
  });
});
