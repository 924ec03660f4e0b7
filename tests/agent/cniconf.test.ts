/** The conflist the agent writes, per plugin type: the conf name is the network name and the IPAM store. */
import { strict as assert } from 'node:assert';
import { buildConflist } from '../../src/agent/cniconf';
import { buildAgentConfig } from '../../src/agent/config';

function conf(type: string, backend: string): Record<string, unknown> {
  const c = buildAgentConfig({
    file: {
      podCIDR: '10.244.3.0/24',
      netConf: { Network: '10.244.0.0/16', Backend: { Type: backend } },
      cni: { type, serviceCIDR: '10.96.0.0/12', ipamDataDir: '/d' },
    },
    flags: {},
    hostname: 'n',
    platform: 'linux',
    env: {},
  });
  return buildConflist({
    cni: c.cni,
    net: c.netConf,
    lease: { node: 'n', subnet: '10.244.3.0/24', publicIp: '192.168.1.23', backendType: c.netConf.backend.type },
    networkName: backend === 'vxlan' ? 'flannel.4096' : 'cbr0',
    nodeIp: '192.168.1.23',
  });
}

describe('agent: CNI conflist', () => {
  it('win-bridge (host-gw): cbr0, ipMasqNetwork, OutBoundNAT exceptions, SDNRoutes to services and the node', () => {
    assert.deepEqual(conf('win-bridge', 'host-gw'), {
      cniVersion: '1.1.0',
      name: 'cbr0',
      plugins: [
        {
          type: 'win-bridge',
          apiVersion: 2,
          capabilities: { portMappings: true, dns: true },
          ipMasqNetwork: '10.244.0.0/16',
          ipam: { type: 'switchyard-ipam', subnet: '10.244.3.0/24', routes: [{ dst: '0.0.0.0/0' }], dataDir: '/d' },
          policies: [
            { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16', '10.96.0.0/12'] } } },
            { name: 'EndpointPolicy', value: { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } } },
            { name: 'EndpointPolicy', value: { Type: 'SDNRoute', Settings: { DestinationPrefix: '192.168.1.23/32', NeedEncap: true } } },
          ],
        },
      ],
    });
  });

  it('win-overlay (vxlan) and switchyard (either)', () => {
    const o = conf('win-overlay', 'vxlan') as { name: string; plugins: Record<string, unknown>[] };
    assert.equal(o.name, 'flannel.4096');
    assert.equal(o.plugins[0].type, 'win-overlay');
    assert.equal(o.plugins[0].endpointMacPrefix, '0E-2A');
    const s = conf('switchyard', 'host-gw') as { plugins: Record<string, unknown>[] };
    assert.deepEqual(s.plugins[0], {
      type: 'switchyard',
      mode: 'l2bridge',
      network: 'cbr0',
      capabilities: { portMappings: true, dns: true },
      ipMasq: true,
      outboundNatExceptions: ['10.244.0.0/16', '10.96.0.0/12'],
      ipam: { type: 'switchyard-ipam', subnet: '10.244.3.0/24', routes: [{ dst: '0.0.0.0/0' }], dataDir: '/d' },
    });
  });

  it('a plugin type that does not fit the backend is refused naming cni.type', () => {
    assert.throws(() => conf('win-bridge', 'vxlan'), /cni\.type: win-bridge does not match Backend\.Type vxlan/);
  });
});
