/** Feature gating for the Windows data planes: what each document needs, and the messages naming the HNS version and Windows build. */
import * as assert from 'node:assert/strict';
import {
  describeRanges,
  endpointNeeds,
  endpointRequestNeeds,
  loadBalancerNeeds,
  networkNeeds,
  networkRequestNeeds,
  requireFeatures,
  windowsFor,
} from '../../../src/hns/features';
import { HnsError, endpointPolicyRequest, networkPolicyRequest } from '../../../src/hns';

const features = (needs: { feature: string }[]) => needs.map((n) => n.feature).sort();

describe('windows data planes: feature gating', function () {
  it('describes version ranges as hcsshim defines them', function () {
    assert.equal(describeRanges('DSR'), '9.3–9.x or ≥ 10.2');
    assert.equal(describeRanges('SessionAffinity'), '≥ 12.0');
    assert.equal(describeRanges('L4Proxy'), '9.5–9.x or 10.5–10.x or 11.11–11.x or 12.1–12.x or ≥ 13.1');
  });

  it('names a Windows build only from the known anchors', function () {
    assert.equal(windowsFor('IPv6DualStack'), 'Windows Server 2004 (build 19041)');
    assert.match(
      windowsFor('VxlanPort'),
      /^a build whose HNS is at least 10\.3 \(.*Windows Server 2019.*has HNS 9\.2; Windows Server 2004 .*has HNS 11\.10\)$/,
    );
    assert.match(windowsFor('ModifyLoadbalancer'), /no published map of newer HNS versions/);
  });

  it('finds what a network, endpoint or load balancer needs', function () {
    assert.deepEqual(
      features(
        networkNeeds({
          Flags: 1024,
          Policies: [
            { Type: 'remotesubnetroute', Settings: {} },
            { Type: 'VxlanPort', Settings: { Port: 4789 } },
            { Type: 'SetPolicy', Settings: { Id: 'a', PolicyType: 'NESTEDIPSET', Values: '' } },
          ],
          Ipams: [{ Subnets: [{ IpAddressPrefix: '10.0.0.0/24' }, { IpAddressPrefix: 'fd00::/64' }] }],
        }),
      ),
      ['DisableHostPort', 'IPv6DualStack', 'NestedIpSet', 'RemoteSubnet', 'SetPolicy', 'VxlanPort'],
    );
    assert.deepEqual(
      features(
        endpointNeeds({
          IpConfigurations: [{ IpAddress: '10.0.0.5' }, { IpAddress: 'fd00::5' }],
          Policies: [
            { Type: 'OutBoundNAT', Settings: { Destinations: ['10.96.0.10'] } },
            { Type: 'TierAcl', Settings: {} },
          ],
        }),
      ),
      ['IPv6DualStack', 'TierAcl'],
    );
    assert.deepEqual(
      features(endpointNeeds({ Policies: [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'] } }] })),
      [],
      'plain OutBoundNAT needs nothing',
    );
    assert.deepEqual(
      features(loadBalancerNeeds({ Flags: 3, PortMappings: [{ Protocol: 6, InternalPort: 1, ExternalPort: 1, DistributionType: 2 }] })),
      ['DSR', 'IPv6DualStack', 'SessionAffinity'],
    );
    assert.deepEqual(
      features(networkRequestNeeds(networkPolicyRequest('Remove', [{ Type: 'RemoteSubnetRoute', Settings: {} }]))),
      [],
      'removing needs nothing',
    );
    assert.deepEqual(features(endpointRequestNeeds(endpointPolicyRequest('Add', [{ Type: 'L4WFPPROXY', Settings: {} }]))), ['L4WfpProxy']);
  });

  it('refuses with HCN_E_REQUEST_UNSUPPORTED naming what, the HNS range, the Windows build and the host version', function () {
    assert.throws(
      () =>
        requireFeatures(
          { Major: 10, Minor: 1 },
          [{ feature: 'DSR', what: 'a DSR load balancer' }],
          'HcnCreateLoadBalancer',
          'load balancer 10.96.0.1',
        ),
      (e: unknown) => {
        assert.ok(e instanceof HnsError);
        assert.equal(e.kind, 'unsupported');
        assert.equal(e.hresult, 0x803b0015);
        assert.match(
          e.message,
          /^HcnCreateLoadBalancer load balancer 10\.96\.0\.1: a DSR load balancer needs HNS 9\.3–9\.x or ≥ 10\.2 \(DSR; Windows: .*\); this host runs HNS 10\.1/,
        );
        return true;
      },
    );
    assert.doesNotThrow(() => requireFeatures({ Major: 10, Minor: 2 }, [{ feature: 'DSR', what: 'x' }]));
  });
});
