/** HNS version → features at the boundary versions docs/hcn-model.md lists ("Versions and features"). */
import { strict as assert } from 'node:assert';
import { featuresFor, supports, minimumVersion, type HnsFeature } from '../../../src/hns';

const v = (s: string) => ({ Major: Number(s.split('.')[0]), Minor: Number(s.split('.')[1]) });
const on = (ver: string, ...fs: HnsFeature[]) => fs.forEach((f) => assert.equal(supports(v(ver), f), true, `${f} at ${ver}`));
const off = (ver: string, ...fs: HnsFeature[]) => fs.forEach((f) => assert.equal(supports(v(ver), f), false, `${f} at ${ver}`));

describe('hns: version → feature table', () => {
  it('9.1: v1 only', () => {
    on('9.1', 'Api.V1', 'ACL.AclPortRanges');
    off('9.1', 'Api.V2', 'RemoteSubnet', 'HostRoute', 'DSR');
  });
  it('9.2: v2 API, RemoteSubnet, HostRoute; no DSR yet', () => {
    on('9.2', 'Api.V2', 'RemoteSubnet', 'HostRoute');
    off('9.2', 'DSR', 'Slash32EndpointPrefixes', 'VxlanPort', 'IPv6DualStack', 'SessionAffinity');
  });
  it('9.3: DSR and /32 prefixes in the 9.x line', () => {
    on('9.3', 'DSR', 'Slash32EndpointPrefixes');
    off('9.3', 'L4Proxy', 'VxlanPort');
    on('9.5', 'L4Proxy');
  });
  it('10.1: the 9.x DSR range does not carry into 10.x before 10.2', () => {
    off('10.1', 'DSR', 'Slash32EndpointPrefixes', 'VxlanPort');
    on('10.1', 'RemoteSubnet', 'HostRoute');
  });
  it('10.2: DSR again; VxlanPort from 10.3; /32 prefixes from 10.4', () => {
    on('10.2', 'DSR');
    off('10.2', 'VxlanPort', 'Slash32EndpointPrefixes');
    on('10.3', 'VxlanPort');
    on('10.4', 'Slash32EndpointPrefixes');
  });
  it('11.10: dual stack (Windows Server 2004); 11.9 has none', () => {
    off('11.9', 'IPv6DualStack', 'L4Proxy');
    on('11.10', 'IPv6DualStack', 'DSR', 'VxlanPort', 'AclSupportForProtocol252');
    off('11.10', 'SessionAffinity', 'L4Proxy');
    on('11.11', 'L4Proxy');
  });
  it('12.0: session affinity; L4Proxy only from 12.1', () => {
    on('12.0', 'SessionAffinity', 'IPv6DualStack');
    off('12.0', 'L4Proxy', 'SetPolicy');
    on('12.1', 'L4Proxy');
    off('13.0', 'L4Proxy');
    on('13.0', 'SetPolicy');
    on('13.1', 'L4Proxy');
  });
  it('15.4: in-place LB modify and Accelnet; 15.3 lacks them', () => {
    off('15.3', 'ModifyLoadbalancer', 'Accelnet');
    on('15.3', 'NetworkACL', 'NestedIpSet', 'DisableHostPort', 'TierAcl', 'L4WfpProxy');
    const all = featuresFor(v('15.4'));
    assert.deepEqual(
      Object.entries(all).filter(([, ok]) => !ok),
      [],
    );
  });
  it('minimum versions for messages', () => {
    assert.deepEqual(minimumVersion('SessionAffinity'), { Major: 12, Minor: 0 });
    assert.deepEqual(minimumVersion('IPv6DualStack'), { Major: 11, Minor: 10 });
  });
});
