/**
 * The agent's spare inodes for per-pod files (src/cni/ipam/spare-files.ts): a released reservation's or
 * in-flight marker's inode is the next one's (renamed and linked, never freed and allocated), a reused
 * file holds exactly its new owner's bytes, a taken address is refused as an exclusive create refuses it,
 * and spares of processes that are gone are swept. Standalone plugins keep no spares.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostLocalAdd, hostLocalDel } from '../../src/cni/ipam/hostlocal';
import { enableSpareFiles, sparesKept } from '../../src/cni/ipam/spare-files';
import { DiskStore } from '../../src/cni/ipam/store';
import { parseIpGo } from '../../src/net/ip';

describe('IPAM: spare inodes for per-pod files (agent)', function () {
  let dataDir: string;
  const config = () => ({ cniVersion: '1.0.0', name: 'sp', ipam: { type: 'switchyard-ipam', subnet: '10.78.0.0/24', dataDir } });
  const req = (id: string) => ({ config: config(), containerID: id, ifName: 'eth0', args: '' });
  const store = () => new DiskStore(dataDir, 'sp');
  const storeDir = () => store().dir;
  const spares = () => fs.readdirSync(store().markerDir).filter((n) => n.startsWith('.spare.'));
  /** The reservation files: name → [inode, content]. */
  const reservations = () =>
    new Map(
      fs
        .readdirSync(storeDir())
        .filter((n) => /^\d/.test(n))
        .map((n) => [n, [fs.statSync(path.join(storeDir(), n)).ino, fs.readFileSync(path.join(storeDir(), n), 'utf8')] as const]),
    );

  before(function () {
    if (process.platform !== 'linux') this.skip();
  });
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-spare-'));
    fs.mkdirSync(store().markerDir, { recursive: true });
    enableSpareFiles();
  });
  afterEach(() => {
    enableSpareFiles(false);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("a released reservation's inode becomes the next reservation, holding exactly the new owner's bytes", async () => {
    const longId = 'a'.repeat(64);
    await hostLocalAdd(req(longId), { dropStale: true });
    const [[, [ino]]] = [...reservations()];
    await hostLocalDel(req(longId));
    assert.equal(reservations().size, 0, 'DEL took the reservation out of the store directory');
    assert.equal(spares().length, 1);
    assert.equal(fs.statSync(path.join(store().markerDir, spares()[0])).ino, ino, 'kept as a spare, not freed');

    await hostLocalAdd(req('b'), { dropStale: true });
    const [[name, [ino2, content]]] = [...reservations()];
    assert.equal(ino2, ino, 'the new reservation is the spare inode');
    assert.equal(content, 'b\r\neth0', "host-local's format, nothing of the last owner's longer bytes");
    assert.equal((fs.statSync(path.join(storeDir(), name)).mode & 0o777).toString(8), '600');
    assert.deepEqual(spares(), [], 'the spare name is gone once linked');
    assert.equal(sparesKept(store().markerDir), 0);
  });

  it('a taken address is refused as an exclusive create refuses it, and the spare stays', async () => {
    await hostLocalAdd(req('y'), { dropStale: true });
    await hostLocalAdd(req('z'), { dropStale: true });
    await hostLocalAdd(req('x'), { dropStale: true });
    await hostLocalDel(req('x'));
    const before = reservations();
    const [takenName] = [...before.keys()];
    const s = store();
    const ok = await s.locked(() => s.reserveExact('intruder', 'eth0', parseIpGo(takenName)!));
    assert.equal(ok, false);
    assert.deepEqual(reservations(), before, 'the holder keeps its file and bytes');
    assert.equal(spares().length, 1, 'the spare is still there');
    assert.equal(sparesKept(s.markerDir), 1, 'and back in the pool');
  });

  it('the in-flight marker is a spare inode: held, seen as in flight by another descriptor, kept again when released', async () => {
    const s = store();
    const m1 = await s.holdInflight('c1', 'eth0');
    const ino1 = fs.statSync(m1.file).ino;
    m1.release();
    assert.ok(!fs.existsSync(m1.file), 'released: the marker name is gone');
    assert.equal(spares().length, 1);
    const m2 = await s.holdInflight('c2', 'eth0');
    assert.equal(fs.statSync(m2.file).ino, ino1, 'the next marker is the same inode');
    assert.equal(s.inflight('c2', 'eth0'), true, 'its lock is held');
    assert.equal(s.inflight('c1', 'eth0'), false);
    m2.release();
    assert.equal(s.inflight('c2', 'eth0'), false);
    assert.deepEqual(
      fs.readdirSync(s.markerDir).filter((n) => n.startsWith('.inflight.')),
      [],
    );
  });

  it("the sweep removes spares of processes that are gone and keeps this process's and a running one's", async () => {
    await hostLocalAdd(req('k'), { dropStale: true });
    await hostLocalDel(req('k'));
    const [mine] = spares();
    let deadPid = 4_000_000;
    while (fs.existsSync(`/proc/${deadPid}`)) deadPid++;
    const planted = [`.spare.${deadPid}-0badc0de.3`, `.spare.${process.pid}-00000000.0`, `.spare.1-abcdef12.7`];
    for (const n of planted) fs.writeFileSync(path.join(store().markerDir, n), '');
    const removed = store().removeStaleMarkers().sort();
    assert.deepEqual(removed, [planted[0], planted[1]].sort(), 'a dead pid, and an earlier run with this pid');
    assert.deepEqual(spares().sort(), [mine, planted[2]].sort());
  });

  it('a release whose pool directory is missing removes the reservation (nothing is left behind)', async () => {
    await hostLocalAdd(req('m'), { dropStale: true });
    fs.rmSync(store().markerDir, { recursive: true });
    await hostLocalDel(req('m'));
    assert.equal(reservations().size, 0);
  });

  it('a process that ends, or switches the pool off, removes its spares', async () => {
    await hostLocalAdd(req('e'), { dropStale: true });
    await hostLocalDel(req('e'));
    assert.equal(spares().length, 1);
    enableSpareFiles(false);
    assert.deepEqual(spares(), [], 'switched off');
    // A child agent-like process: spares made, then a normal exit.
    const script = `
      const { enableSpareFiles } = require(${JSON.stringify(path.resolve(__dirname, '../../src/cni/ipam/spare-files.js'))});
      const { hostLocalAdd, hostLocalDel } = require(${JSON.stringify(path.resolve(__dirname, '../../src/cni/ipam/hostlocal.js'))});
      enableSpareFiles();
      const req = { config: ${JSON.stringify(config())}, containerID: 'child', ifName: 'eth0', args: '' };
      hostLocalAdd(req, { dropStale: true }).then(() => hostLocalDel(req)).then(() => {
        process.stdout.write(String(require('fs').readdirSync(${JSON.stringify(store().markerDir)}).filter((n) => n.startsWith('.spare.')).length));
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '1', 'the child kept a spare while it ran');
    assert.deepEqual(spares(), [], 'and removed it when it exited');
  });

  it('standalone plugins (not enabled) remove files and keep no spares', async () => {
    enableSpareFiles(false);
    await hostLocalAdd(req('n'), { dropStale: true });
    await hostLocalDel(req('n'));
    const m = await store().holdInflight('n', 'eth0');
    m.release();
    assert.equal(reservations().size, 0);
    assert.deepEqual(spares(), []);
    assert.deepEqual(
      fs.readdirSync(store().markerDir).filter((n) => !n.startsWith('.mgtime')),
      [],
    );
  });
});
