/**
 * The agent's kept listings of host-local store directories (src/cni/ipam/listing-cache.ts): reused while
 * the directory is unchanged (no reservation file is read), refreshed by this process's own changes, and
 * dropped when another writer (host-local, a standalone plugin) adds or removes a reservation; the probe
 * refuses a filesystem whose directory timestamps are coarse.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostLocalAdd, hostLocalDel } from '../../src/cni/ipam/hostlocal';
import { enableListingCache, fineGrainedAfterRead } from '../../src/cni/ipam/listing-cache';
import { DiskStore } from '../../src/cni/ipam/store';
import { formatIp } from '../../src/net/ip';

describe('IPAM: kept store listings (agent)', function () {
  let dataDir: string;
  const config = () => ({ cniVersion: '1.0.0', name: 'lc', ipam: { type: 'switchyard-ipam', subnet: '10.77.0.0/24', dataDir } });
  const req = (id: string) => ({ config: config(), containerID: id, ifName: 'eth0', args: '' });
  const storeDir = () => path.join(dataDir, 'lc');
  /** Opens of reservation files (names that are addresses) while fn runs. */
  function reservationOpens(fn: () => Promise<unknown>): Promise<number> {
    // The module object itself (an `import * as` namespace is read-only): what the store's calls go through.
    const realFs = require('node:fs') as typeof fs;
    const orig = realFs.openSync;
    let n = 0;
    realFs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
      if (/\/\d+\.\d+\.\d+\.\d+$/.test(String(p))) n++;
      return (orig as (...a: unknown[]) => number)(p, ...rest);
    }) as typeof fs.openSync;
    return fn()
      .finally(() => (realFs.openSync = orig))
      .then(() => n);
  }
  before(function () {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-listing-'));
    const store = new DiskStore(dataDir, 'lc');
    fs.mkdirSync(store.markerDir, { recursive: true });
    if (process.platform !== 'linux' || !fineGrainedAfterRead(store.markerDir)) this.skip();
    enableListingCache();
  });
  after(() => {
    enableListingCache(false);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('an ADD after others reads no reservation file (its own address is created, not read)', async () => {
    await hostLocalAdd(req('a'), { dropStale: true });
    await hostLocalAdd(req('b'), { dropStale: true });
    const opens = await reservationOpens(() => hostLocalAdd(req('c'), { dropStale: true }));
    assert.equal(opens, 1, 'only the exclusive create of the new reservation');
    const names = fs.readdirSync(storeDir()).filter((n) => /^\d/.test(n));
    assert.equal(names.length, 3);
  });

  it('a reservation another writer adds or removes is seen by the next call', async () => {
    const store = new DiskStore(dataDir, 'lc');
    const byId = (id: string) => store.locked(() => store.getByID(id, 'eth0').map(formatIp));
    assert.equal((await byId('a')).length, 1);
    // What host-local does, with the store lock held, as another process would: a new reservation...
    await store.locked(() => fs.writeFileSync(path.join(storeDir(), '10.77.0.200'), 'foreign\r\neth0'));
    assert.deepEqual(await byId('foreign'), ['10.77.0.200']);
    await hostLocalDel(req('foreign'));
    assert.ok(!fs.existsSync(path.join(storeDir(), '10.77.0.200')), 'DEL found and released the reservation written behind its back');
    // ...and a released one.
    const [aFile] = fs
      .readdirSync(storeDir())
      .filter((n) => /^\d/.test(n) && fs.readFileSync(path.join(storeDir(), n), 'utf8').startsWith('a\r'));
    await store.locked(() => fs.rmSync(path.join(storeDir(), aFile)));
    assert.deepEqual(await byId('a'), [], 'a reservation removed behind its back is not reported');
    await hostLocalAdd(req('a'), { dropStale: true });
  });

  it('DEL through the kept listing releases exactly the attachment’s reservation', async () => {
    await hostLocalDel(req('b'));
    const left = fs
      .readdirSync(storeDir())
      .filter((n) => /^\d/.test(n))
      .map((n) => fs.readFileSync(path.join(storeDir(), n), 'utf8').split('\r\n')[0])
      .sort();
    assert.deepEqual(left, ['a', 'c']);
  });

  it('the probe refuses directory timestamps that repeat (a coarse clock)', () => {
    assert.equal(
      fineGrainedAfterRead(new DiskStore(dataDir, 'lc').markerDir, () => 5n),
      false,
    );
    const probes = fs.readdirSync(new DiskStore(dataDir, 'lc').markerDir).filter((n) => n.startsWith('.mgtime-probe'));
    assert.deepEqual(probes, [], 'the probe leaves nothing behind');
  });
});
