import { strict as assert } from 'node:assert';
import { BIN, makeLab, runSync, type Lab } from './helpers';

const base = { cniVersion: '1.0.0', name: 'cbr0', type: 'win-bridge' };
const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: 'none', CNI_IFNAME: 'eth0', CNI_PATH: BIN };
const ALL = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

describe('CNI protocol as the reference skel enforces it', () => {
  let lab: Lab;
  before(() => {
    lab = makeLab();
  });
  after(() => lab.cleanup());

  const err = (cni: Record<string, string | undefined>, stdin: unknown, plugin = 'win-bridge') => {
    const r = runSync(plugin, lab, cni, typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
    assert.equal(r.code, 1, `expected failure, got ${r.stdout}`);
    assert.ok(!r.stdout.endsWith('\n'));
    return r.json();
  };

  it('VERSION prints 1.1.0 and every supported version, compact with a newline, for every binary', () => {
    for (const b of ['win-bridge', 'win-overlay', 'switchyard', 'switchyard-ipam']) {
      const r = runSync(b, lab, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.3.1"}');
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `{"cniVersion":"1.1.0","supportedVersions":${JSON.stringify(ALL)}}\n`);
    }
  });

  it('without CNI_COMMAND prints the about text on stderr and succeeds', () => {
    const r = runSync('win-bridge', lab, {}, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^CNI win-bridge plugin .+\nCNI protocol versions supported: 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0\n$/,
    );
  });

  it('lists missing variables in the reference order with code 4', () => {
    assert.deepEqual(err({ CNI_COMMAND: 'ADD' }, base), {
      code: 4,
      msg: 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing',
    });
    assert.deepEqual(err({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'x' }, base), {
      code: 4,
      msg: 'required env variables [CNI_IFNAME,CNI_PATH] missing',
    });
    assert.deepEqual(err({ CNI_COMMAND: 'GC' }, base), { code: 4, msg: 'required env variables [CNI_PATH] missing' });
  });

  it('validates container ID and interface name with code 4', () => {
    assert.deepEqual(err({ ...env, CNI_CONTAINERID: '-bad' }, base), {
      code: 4,
      msg: 'invalid characters in containerID',
      details: '-bad',
    });
    assert.deepEqual(err({ ...env, CNI_IFNAME: 'averyveryverylongname' }, base), {
      code: 4,
      msg: 'interface name is too long',
      details: 'interface name should be less than 16 characters',
    });
    assert.deepEqual(err({ ...env, CNI_IFNAME: '..' }, base), { code: 4, msg: 'interface name is . or ..' });
    assert.deepEqual(err({ ...env, CNI_IFNAME: 'eth:0' }, base), {
      code: 4,
      msg: 'interface name contains / or : or whitespace characters',
    });
    assert.deepEqual(err({ ...env, CNI_COMMAND: 'FROB' }, base), { code: 4, msg: 'unknown CNI_COMMAND: FROB' });
  });

  it('rejects undecodable configs (6) and bad network names (7)', () => {
    assert.deepEqual(err(env, '{"name": '), { code: 6, msg: 'error unmarshall network config: unexpected end of JSON input' });
    assert.deepEqual(err(env, 'x'), {
      code: 6,
      msg: "error unmarshall network config: invalid character 'x' looking for beginning of value",
    });
    assert.deepEqual(err(env, { cniVersion: '1.0.0' }), { code: 7, msg: 'missing network name' });
    assert.deepEqual(err(env, { ...base, name: 'bad name' }), {
      code: 7,
      msg: 'invalid characters found in network name',
      details: 'bad name',
    });
  });

  it('gates versions with code 1', () => {
    assert.deepEqual(err(env, { ...base, cniVersion: '0.5.0' }), {
      code: 1,
      msg: 'incompatible CNI versions',
      details: `config is "0.5.0", plugin supports ${JSON.stringify(ALL).replace(/,/g, ' ')}`,
    });
    assert.deepEqual(err({ ...env, CNI_COMMAND: 'CHECK' }, { ...base, cniVersion: '0.3.1' }), {
      code: 1,
      msg: 'config version does not allow CHECK',
    });
    assert.deepEqual(err({ CNI_COMMAND: 'STATUS', CNI_PATH: BIN }, base), { code: 1, msg: 'config version does not allow STATUS' });
    assert.deepEqual(err({ CNI_COMMAND: 'GC', CNI_PATH: BIN }, base), { code: 1, msg: 'config version does not allow GC' });
  });

  it('rejects wrong types like Go does and ignores unknown keys and key case', () => {
    assert.deepEqual(err(env, { ...base, apiVersion: '2' }), {
      code: 999,
      msg: 'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.apiVersion of type int',
    });
    assert.deepEqual(err(env, { ...base, loopbackDSR: 'yes' }), {
      code: 999,
      msg: 'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.loopbackDSR of type bool',
    });
    assert.deepEqual(err(env, { ...base, ipam: { type: 5 } }), {
      code: 999,
      msg: 'failed to load netconf: json: cannot unmarshal number into Go struct field IPAM.ipam.type of type string',
    });
    assert.deepEqual(err(env, { ...base, APIVERSION: 1.5 }), {
      code: 999,
      msg: 'failed to load netconf: json: cannot unmarshal number 1.5 into Go struct field NetConf.apiVersion of type int',
    });
    assert.deepEqual(err(env, { ...base, Policies: [{ name: 1 }] }), {
      code: 999,
      msg: 'failed to load netconf: json: cannot unmarshal number into Go struct field Policy.policies.name of type string',
    });
    // Unknown keys (HcnPolicyArgs, AdditionalArgs) are ignored; Name (any case) is the network name: the failure is about HNS.
    assert.deepEqual(err(env, { ...base, HcnPolicyArgs: [{ Type: 'x' }], AdditionalArgs: 7 }), {
      code: 999,
      msg: 'error while getting network cbr0: Network cbr0 not found',
    });
  });

  it('win-overlay STATUS without IPAM succeeds once the network exists; missing network is code 50', () => {
    const r = runSync(
      'win-overlay',
      lab,
      { CNI_COMMAND: 'STATUS', CNI_PATH: BIN },
      { cniVersion: '1.1.0', name: 'vx', type: 'win-overlay' },
    );
    assert.deepEqual(r.json(), { code: 50, msg: 'network vx is not available', details: 'Network vx not found' });
  });
});
