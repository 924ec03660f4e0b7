/**
 * Issue 11, defects 5 and 6: every input has a size and depth limit with a clear error, every call has an
 * overall deadline and answers before the runtime's timeout, and IPAM fields are validated like
 * host-local's (code 7, the field named, its value not echoed).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, runSync } from './helpers';
import { CNI_PATH, makeRelLab, namespaces, netconf, storeOf, type RelLab } from './reliability-lab';

describe('CNI input limits, deadline and IPAM validation', function () {
  this.timeout(60000);
  let lab: RelLab;
  let ns: string[];
  beforeEach(async () => {
    lab = await makeRelLab();
    ns = await namespaces(lab, 1);
  });
  afterEach(() => lab.cleanup());
  const add = (conf: unknown, extra: Record<string, string> = {}) =>
    runSync('win-bridge', lab, { ...ADD('lim', ns[0]), CNI_PATH, ...extra }, typeof conf === 'string' ? conf : JSON.stringify(conf));
  const ipam = (over: Record<string, unknown>) => {
    const c = netconf(lab, 'win-bridge', 'switchyard-ipam');
    return { ...c, ipam: { ...(c.ipam as object), ...over } };
  };

  it('a config larger than 1 MiB is refused with code 5', () => {
    const r = add({ ...netconf(lab, 'win-bridge', 'switchyard-ipam'), pad: 'x'.repeat(1100 * 1024) });
    assert.equal(r.code, 1);
    assert.equal(r.json().code, 5);
  });

  it('10,000-deep JSON is refused with code 6 naming the nesting, not a stack overflow', () => {
    const r = add('{"name":"cbr0","x":' + '['.repeat(10000) + ']'.repeat(10000) + '}');
    assert.equal(r.code, 1);
    assert.equal(r.json().code, 6);
    assert.match(r.json().msg, /nesting deeper than/);
  });

  it('an IPAM dataDir under /proc answers with an error at once instead of spinning', () => {
    const r = add(ipam({ dataDir: '/proc/self/net' }), { SWITCHYARD_CNI_DEADLINE_MS: '5000' });
    assert.equal(r.code, 1, r.stdout);
    assert.equal(typeof r.json().code, 'number');
  });

  it('a call blocked on a lock answers code 11 at its deadline, and changes nothing', async () => {
    const conf = netconf(lab, 'win-bridge', 'switchyard-ipam');
    const store = storeOf(conf);
    fs.mkdirSync(store.dir, { recursive: true });
    const { acquireLock } = await import('../../src/util/file-lock');
    const held = await acquireLock(path.join(store.dir, 'lock'));
    try {
      const r = add(conf, { SWITCHYARD_CNI_DEADLINE_MS: '1500' });
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.json().code, 11);
      assert.match(r.json().msg, /deadline of 1500 ms/);
    } finally {
      held.release();
    }
    assert.deepEqual(storeOf(conf).list(), []);
  });

  for (const [what, over, field] of [
    ['a number as dataDir', { dataDir: 5 }, /ipam\.dataDir must be a string/],
    ['a subnet with a leading space', { subnet: ' 10.244.1.0/24' }, /subnet/],
    ['a string as routes', { routes: 'x' }, /ipam\.routes must be a list/],
    ['a number as resolvConf', { resolvConf: 1 }, /ipam\.resolvConf must be a string/],
  ] as [string, Record<string, unknown>, RegExp][]) {
    it(`IPAM refuses ${what} with code 7 naming the field`, () => {
      const r = runSync('switchyard-ipam', lab, { ...ADD('lim', ns[0]), CNI_PATH }, ipam(over));
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.json().code, 7, r.stdout);
      assert.match(r.json().msg, field);
      const viaPlugin = add(ipam(over));
      assert.equal(viaPlugin.code, 1, viaPlugin.stdout);
      assert.match(viaPlugin.json().msg, field);
    });
  }
});
