/** applyPolicyRequest: the one Add / Remove / Update of a policy list every data plane uses. */
import { strict as assert } from 'node:assert';
import { applyPolicyRequest, type AnyPolicy } from '../../../src/hns/modify';
import { HRESULT, isHnsError } from '../../../src/hns/errors';

const nat: AnyPolicy = { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } };
const acl = (port: string): AnyPolicy => ({ Type: 'ACL', Settings: { Action: 'Block', Direction: 'In', LocalPorts: port } });
const ctx = { call: 'HcnModifyEndpoint', subject: 'endpoint e1' };

function refusedWith(fn: () => unknown, code: number): void {
  assert.throws(fn, (e: unknown) => isHnsError(e) && e.hresult === code && e.call === 'HcnModifyEndpoint');
}

describe('applyPolicyRequest (HNS policy-list semantics)', () => {
  it('Update replaces the types it carries and keeps the others; the input list is not changed', () => {
    const current = [nat, acl('80')];
    const next = applyPolicyRequest(current, [acl('443')], 'Update', ctx);
    assert.deepEqual(next, [nat, acl('443')]);
    assert.deepEqual(current, [nat, acl('80')]);
    assert.deepEqual(applyPolicyRequest([nat], [acl('80')], 'update', ctx), [nat, acl('80')], 'request type in any case');
  });

  it('Add refuses a policy already there (keys, strings and MAC spellings folded) or one the caller says conflicts', () => {
    assert.deepEqual(applyPolicyRequest([nat], [acl('80')], 'Add', ctx), [nat, acl('80')]);
    refusedWith(
      () =>
        applyPolicyRequest([acl('80')], [{ Type: 'acl', Settings: { action: 'block', direction: 'in', localports: '80' } }], 'Add', ctx),
      HRESULT.HCN_E_POLICY_ALREADY_EXISTS,
    );
    const route = (mac: string): AnyPolicy => ({
      Type: 'RemoteSubnetRoute',
      Settings: { DestinationPrefix: '10.244.2.0/24', DistributedRouterMacAddress: mac },
    });
    refusedWith(
      () => applyPolicyRequest([route('00-15-5D-BB-6E-C2')], [route('00:15:5d:bb:6e:c2')], 'Add', ctx),
      HRESULT.HCN_E_POLICY_ALREADY_EXISTS,
    );
    refusedWith(
      () =>
        applyPolicyRequest([acl('80')], [acl('81')], 'Add', ctx, { conflicts: (p, existing) => existing.some((e) => e.Type === p.Type) }),
      HRESULT.HCN_E_POLICY_ALREADY_EXISTS,
    );
  });

  it('Remove matches by content and refuses one that is not there', () => {
    assert.deepEqual(applyPolicyRequest([nat, acl('80')], [acl('80')], 'Remove', ctx), [nat]);
    refusedWith(() => applyPolicyRequest([nat], [acl('80')], 'Remove', ctx), HRESULT.HCN_E_POLICY_NOT_FOUND);
  });

  it('refuses other request types with E_INVALIDARG naming them', () => {
    assert.throws(
      () => applyPolicyRequest([nat], [], 'Refresh', ctx),
      (e: unknown) => isHnsError(e) && e.hresult === HRESULT.E_INVALIDARG && /RequestType "Refresh"/.test(e.message),
    );
  });

  it('keeps uint64 settings when it names a policy in an error', () => {
    const qos: AnyPolicy = { Type: 'QOS', Settings: { MaximumOutgoingBandwidthInBytes: 18446744073709551615n } };
    assert.throws(() => applyPolicyRequest([], [qos], 'Remove', ctx), /18446744073709551615/);
  });
});
