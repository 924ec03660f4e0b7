/** The ownership record on disk and the tagged IDs the proxy requests. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileOwnershipStore } from '../../src/proxy/platform/ownership-file';
import { hasOwnedTag, ownedIdFor } from '../../src/proxy/sync';

describe('proxy ownership', function () {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-proxy-own-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('requests a deterministic GUID per identity, tagged 53575944 and distinct per identity', function () {
    const a = ownedIdFor('default/web:-/TCP:ClusterIP:10.96.5.5');
    assert.match(a, /^53575944-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    assert.equal(ownedIdFor('default/web:-/TCP:ClusterIP:10.96.5.5'), a);
    assert.notEqual(ownedIdFor('default/web:-/TCP:NodePort'), a);
    assert.ok(hasOwnedTag(a.toLowerCase()) && !hasOwnedTag('5F4B1A6C-3B2E-4D8A-9C71-2E0F8B6D4A10'));
  });

  it('keeps the record in a file (mode 0600, replaced whole); none yet = undefined; a bad file is named, not reset', async function () {
    const file = path.join(dir, 'sub', 'proxy-owned.json');
    const store = new FileOwnershipStore(file);
    assert.equal(await store.load(), undefined);
    const rec = { loadBalancers: { 'ID-1': 'default/web:-/TCP:ClusterIP:10.96.5.5' }, remoteEndpoints: { 'ID-2': '10.244.2.7' } };
    await store.save(rec);
    assert.deepEqual(await new FileOwnershipStore(file).load(), rec);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['proxy-owned.json'], 'no temp file left behind');
    fs.writeFileSync(file, '{"loadBalancers":');
    await assert.rejects(store.load(), new RegExp(`${file.replace(/[.]/g, '\\.')} is not JSON`));
    fs.writeFileSync(file, '{"loadBalancers":[]}');
    await assert.rejects(store.load(), /"loadBalancers" and "remoteEndpoints" must be objects/);
    assert.equal(fs.readFileSync(file, 'utf8'), '{"loadBalancers":[]}');
  });
});
