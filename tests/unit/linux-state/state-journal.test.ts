/**
 * The linux data plane's state file as files on disk: the parsed state kept across mutations, all-or-nothing
 * mutations, journal records instead of snapshot rewrites, torn tails, malformed records, compaction, and
 * processes killed at every step of a commit.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadState, StateFileError, type LinuxState } from '../../../src/dataplane/linux/state';
import { StateStore } from '../../../src/dataplane/linux/state-store';
import { journalPath } from '../../../src/dataplane/linux/state-journal';
import { untracked } from '../../../src/dataplane/linux/state-tracker';

const lb = (id: string, backends: string[]) => ({ ID: id, HostComputeEndpoints: backends, FrontendVIPs: ['10.96.0.1'], PortMappings: [] });
const net = (id: string) => ({ doc: { ID: id, Name: id }, type: 'NAT' as const, mtu: 1500 });

/** A state with `n` load balancers and their lbNft records: large enough that commits journal. */
function seed(file: string, n: number): Promise<void> {
  const store = new StateStore(file);
  return store.mutate((s) => {
    s.networks.n1 = net('n1');
    s.lbNft = {};
    for (let i = 0; i < n; i++) {
      s.loadBalancers[`lb${i}`] = lb(`lb${i}`, [`ep${i}a`, `ep${i}b`]) as never;
      s.lbNft[`lb${i}`] = { backends: [] } as never;
    }
    s.ruleset = 'table inet x {}';
  });
}

const clean = (s: LinuxState) => JSON.parse(JSON.stringify(s)) as unknown;

describe('linux state file: kept state and journal', function () {
  this.timeout(60000);
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-state-'));
    file = path.join(dir, 'linux-state.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a small change of a large state appends one journal record and leaves the snapshot as it was', async () => {
    await seed(file, 300);
    const snapshot = fs.readFileSync(file);
    assert.equal(fs.existsSync(journalPath(file)), false, 'a seed written whole has no journal');
    const store = new StateStore(file);
    await store.mutate((s) => {
      s.loadBalancers.lb7.HostComputeEndpoints = ['ep7c'];
      delete s.lbNft!.lb8;
    });
    assert.ok(fs.readFileSync(file).equals(snapshot), 'the snapshot was rewritten');
    const journal = fs.readFileSync(journalPath(file), 'utf8').split('\n');
    assert.match(journal[0], /^switchyard-linux-state-journal 1 [0-9a-f]{32}$/);
    assert.equal(journal.length, 3, 'header, one record, final newline');
    assert.ok(journal[1].length < 1000, `the record holds the two entries only (${journal[1].length} bytes)`);
    const seen = loadState(file);
    assert.deepEqual(seen.loadBalancers.lb7.HostComputeEndpoints, ['ep7c']);
    assert.equal(seen.lbNft!.lb8, undefined);
    assert.deepEqual(clean(seen), clean(new StateStore(file).read()), 'a fresh store reads the same');
  });

  it('a record of kernel-object fields only (endpoints, rules) is appended without fdatasync; one carrying a network is synced', async () => {
    await seed(file, 300);
    // The module object itself (the `fs` import above is a copy): the store's calls go through it.
    const realFs = require('node:fs') as typeof fs;
    const orig = { async: realFs.fdatasync, sync: realFs.fdatasyncSync };
    const synced: string[] = [];
    realFs.fdatasync = ((fd: number, cb: fs.NoParamCallback) => (synced.push('fdatasync'), orig.async(fd, cb))) as typeof fs.fdatasync;
    realFs.fdatasyncSync = (fd: number) => (synced.push('fdatasyncSync'), orig.sync(fd));
    try {
      const store = new StateStore(file);
      await store.mutate((s) => void (s.ruleset = 'first'));
      synced.length = 0; // the first record since the snapshot starts a new journal (synced, renamed)
      await store.mutate((s) => {
        s.endpoints.e1 = { doc: { ID: 'e1' }, veth: 'veth1' } as never;
        s.ruleset = 'with e1';
      });
      assert.deepEqual(synced, [], 'an endpoint and its rules: written, not synced');
      assert.equal(loadState(file).endpoints.e1?.veth, 'veth1', 'readers see it at once');
      await store.mutate((s) => {
        s.networks.n2 = net('n2');
        s.endpoints.e2 = { doc: { ID: 'e2' } } as never;
      });
      assert.deepEqual(synced, ['fdatasync'], 'a network is re-realized after a reboot: synced');
      await store.mutate((s) => void (s.loadBalancers.lb3.HostComputeEndpoints = ['e1']));
      assert.deepEqual(synced, ['fdatasync', 'fdatasync'], 'a load-balancer document: synced');
      assert.deepEqual(clean(loadState(file)), clean(new StateStore(file).read()));
    } finally {
      realFs.fdatasync = orig.async;
      realFs.fdatasyncSync = orig.sync;
    }
  });

  it('keeps the parsed state while no other process writes, and re-reads after another writes', async () => {
    await seed(file, 300);
    const a = new StateStore(file);
    await a.mutate((s) => void (s.ruleset = 'a'));
    const kept = a.read();
    assert.equal(a.read(), kept, 'read again without parsing');
    await a.mutate((s) => void (s.ruleset = 'a2'));
    assert.equal(a.read(), kept, 'the same object after its own commit');
    const b = new StateStore(file);
    await b.mutate((s) => void (s.loadBalancers.lb1.FrontendVIPs = ['10.96.0.9']));
    assert.deepEqual(a.read().loadBalancers.lb1.FrontendVIPs, ['10.96.0.9'], 'another writer is seen');
    await a.mutate((s) => void (s.loadBalancers.lb2.FrontendVIPs = ['10.96.0.8']));
    const seen = loadState(file);
    assert.deepEqual(seen.loadBalancers.lb1.FrontendVIPs, ['10.96.0.9'], "the other writer's change is kept");
    assert.deepEqual(seen.loadBalancers.lb2.FrontendVIPs, ['10.96.0.8']);
    assert.equal(seen.ruleset, 'a2');
  });

  it("another writer's change is reported by foreignStamp inside this process's next hold; during a hold the check stats nothing", async () => {
    await seed(file, 300);
    const a = new StateStore(file);
    await a.mutate((s) => void (s.ruleset = 'a'));
    assert.equal(a.foreignStamp(), undefined, 'its own write is not foreign');
    await new StateStore(file).mutate((s) => void (s.ruleset = 'b'));
    // The module object itself (an `import * as` namespace is read-only): what the store's calls go through.
    const realFs = require('node:fs') as { statSync: typeof fs.statSync };
    const orig = realFs.statSync;
    let stats = 0;
    let seenInside: string | undefined;
    await a.batch(async () => {
      await a.mutate((s) => void (s.ruleset = 'a2'));
      // The lock is held (the batch's write is pending): the foreign write before the hold is still reported, without a stat.
      realFs.statSync = ((...args: Parameters<typeof fs.statSync>) => (stats++, orig(...args))) as typeof fs.statSync;
      try {
        seenInside = a.foreignStamp();
      } finally {
        realFs.statSync = orig;
      }
    });
    assert.ok(seenInside, "the other process's write is reported during the hold");
    assert.equal(stats, 0, 'no stat inside the hold');
    assert.equal(loadState(file).ruleset, 'a2');
  });

  it('a read-only scan through untracked() sees the state with this mutation’s own writes, and adds nothing to the record', async () => {
    await seed(file, 300);
    const a = new StateStore(file);
    const seen = await a.mutate((s) => {
      s.loadBalancers.lb7.FrontendVIPs = ['10.96.0.7'];
      const raw = untracked(s.loadBalancers);
      return Object.values(raw).filter((l) => l.FrontendVIPs?.[0] === '10.96.0.7').length;
    });
    assert.equal(seen, 1, 'the write made through the proxy is visible to the raw scan');
    const record = fs.readFileSync(journalPath(file), 'utf8').trim().split('\n').pop()!;
    assert.equal((record.match(/\["s"/g) ?? []).length, 1, 'only the one entry written is journaled');
    assert.deepEqual(loadState(file).loadBalancers.lb7.FrontendVIPs, ['10.96.0.7']);
  });

  it('a mutation that throws leaves nothing behind: entries, arrays, tables replaced whole, fields', async () => {
    await seed(file, 300);
    const store = new StateStore(file);
    const before = clean(store.read());
    const files = () => [fs.readFileSync(file, 'utf8'), fs.existsSync(journalPath(file)) ? fs.readFileSync(journalPath(file), 'utf8') : ''];
    const onDisk = files();
    await assert.rejects(
      store.mutate((s) => {
        s.loadBalancers.lb1.HostComputeEndpoints!.push('x');
        s.loadBalancers.lb2.FrontendVIPs = [];
        delete s.loadBalancers.lb3;
        s.loadBalancers.new = lb('new', []) as never;
        s.networks.n1.doc.Name = 'renamed';
        Object.assign(s.networks.n1, { mtu: 9000 });
        s.lbNft = { only: { backends: [] } as never };
        s.ruleset = 'changed';
        delete s.lbTable;
        s.lbTable = true;
        throw new Error('refused half-way');
      }),
      /refused half-way/,
    );
    assert.deepEqual(clean(store.read()), before);
    assert.deepEqual(files(), onDisk, 'nothing written');
    await store.mutate((s) => void (s.loadBalancers.lb9.FrontendVIPs = ['10.96.1.1']));
    const seen = loadState(file);
    assert.deepEqual(seen.loadBalancers.lb1.HostComputeEndpoints, ['ep1a', 'ep1b']);
    assert.ok(seen.loadBalancers.lb3);
    assert.deepEqual(seen.loadBalancers.lb9.FrontendVIPs, ['10.96.1.1']);
    assert.deepEqual(clean(seen), clean(store.read()));
  });

  it('a table replaced whole (as lb-nft does) journals only the entries that differ', async () => {
    await seed(file, 300);
    const store = new StateStore(file);
    await store.mutate((s) => {
      const next = { ...s.lbNft };
      next.lb5 = { backends: [{ ip: '10.0.0.5' }] } as never;
      delete next.lb6;
      s.lbNft = next;
    });
    const record = fs.readFileSync(journalPath(file), 'utf8').split('\n')[1];
    assert.ok(record.length < 300, `two entries, not the table (${record.length} bytes)`);
    const seen = loadState(file);
    assert.deepEqual(seen.lbNft!.lb5, { backends: [{ ip: '10.0.0.5' }] });
    assert.equal(seen.lbNft!.lb6, undefined);
    assert.equal(Object.keys(seen.lbNft!).length, 299);
  });

  it('what a mutation returns is a copy, and objects of a finished mutation refuse writes', async () => {
    await seed(file, 50);
    const store = new StateStore(file);
    let leaked: LinuxState | undefined;
    const got = await store.mutate((s) => {
      leaked = s;
      return s.loadBalancers.lb1;
    });
    got.FrontendVIPs = ['changed by the caller'];
    assert.deepEqual(store.read().loadBalancers.lb1.FrontendVIPs, ['10.96.0.1']);
    assert.throws(() => void (leaked!.ruleset = 'late'), /finished mutation/);
  });

  it('an object stored by a mutation is not shared with the caller afterwards', async () => {
    await seed(file, 300);
    const store = new StateStore(file);
    const mine = lb('mine', ['a']);
    await store.mutate((s) => {
      s.loadBalancers.mine = mine as never;
      mine.HostComputeEndpoints.push('b'); // still inside the mutation: recorded
    });
    mine.HostComputeEndpoints.push('c'); // after it: not the state's
    assert.deepEqual(store.read().loadBalancers.mine.HostComputeEndpoints, ['a', 'b']);
    assert.deepEqual(loadState(file).loadBalancers.mine.HostComputeEndpoints, ['a', 'b']);
  });

  it('saveNow writes what the mutation changed so far; a later failure takes back only what followed', async () => {
    await seed(file, 300);
    const store = new StateStore(file);
    await assert.rejects(
      store.mutate((s) => {
        s.loadBalancers.lb1.FrontendVIPs = ['intent'];
        store.saveNow(s);
        assert.deepEqual(loadState(file).loadBalancers.lb1.FrontendVIPs, ['intent'], 'durable before saveNow returns');
        s.loadBalancers.lb2.FrontendVIPs = ['after'];
        throw new Error('the kernel change failed');
      }),
      /kernel change failed/,
    );
    for (const s of [store.read(), loadState(file)]) {
      assert.deepEqual(s.loadBalancers.lb1.FrontendVIPs, ['intent']);
      assert.deepEqual(s.loadBalancers.lb2.FrontendVIPs, ['10.96.0.1']);
    }
  });

  it('a change of a large part of the state, and a journal grown past its bound, rewrite the snapshot', async () => {
    await seed(file, 300);
    const store = new StateStore(file);
    await store.mutate((s) => void (s.ruleset = 'one'));
    assert.ok(fs.existsSync(journalPath(file)));
    await store.mutate((s) => {
      for (const k of Object.keys(s.loadBalancers)) s.loadBalancers[k].FrontendVIPs = ['10.96.9.9'];
    });
    assert.equal(fs.existsSync(journalPath(file)), false, 'the snapshot includes everything');
    assert.equal(loadState(file).loadBalancers.lb0.FrontendVIPs?.[0], '10.96.9.9');
    const size = fs.statSync(file).size;
    for (let i = 0; i < 400; i++)
      await store.mutate((s) => void (s.loadBalancers[`lb${i % 300}`].HostComputeEndpoints = [`x${i}`.repeat(20)]));
    const journal = fs.existsSync(journalPath(file)) ? fs.statSync(journalPath(file)).size : 0;
    assert.ok(journal <= Math.max(64 * 1024, size / 2) + 1024, `compacted (journal ${journal} bytes, snapshot ${size})`);
    assert.deepEqual(clean(loadState(file)), clean(store.read()));
    assert.deepEqual(loadState(file).loadBalancers.lb99.HostComputeEndpoints, [`x399`.repeat(20)]);
  });

  it('a torn last record (a killed append) is ignored, and the next commit replaces it', async () => {
    await seed(file, 300);
    await new StateStore(file).mutate((s) => void (s.ruleset = 'kept'));
    const whole = fs.readFileSync(journalPath(file));
    fs.appendFileSync(journalPath(file), '97 0badc0de [["f","ruleset","tor');
    assert.equal(loadState(file).ruleset, 'kept');
    await new StateStore(file).mutate((s) => void (s.lbTable = true));
    const after = fs.readFileSync(journalPath(file));
    assert.ok(after.subarray(0, whole.length).equals(whole));
    assert.ok(!after.includes('tor'), 'the torn tail is cut off before the append');
    assert.equal(loadState(file).lbTable, true);
    assert.equal(loadState(file).ruleset, 'kept');
  });

  it('a malformed record that is not the last, or a whole record with a bad entry, is refused naming the journal and record', async () => {
    await seed(file, 300);
    const store = new StateStore(file);
    await store.mutate((s) => void (s.ruleset = 'one'));
    await store.mutate((s) => void (s.ruleset = 'two'));
    const jp = journalPath(file);
    const lines = fs.readFileSync(jp, 'utf8').split('\n');
    fs.writeFileSync(jp, [lines[0], lines[1].replace('one', 'onf'), lines[2], ''].join('\n'));
    assert.throws(
      () => loadState(file),
      (e: unknown) => e instanceof StateFileError && e.message.includes(jp) && /record 1 .*fails its checksum/.test(e.message),
    );
    await assert.rejects(
      new StateStore(file).mutate(() => undefined),
      StateFileError,
      'writers refuse it too',
    );
    const body = '[["s","endpoints","e1",null]]';
    const crc = (require('node:zlib') as typeof import('node:zlib')).crc32(Buffer.from(body)).toString(16).padStart(8, '0');
    fs.writeFileSync(jp, `${lines[0]}\n${body.length} ${crc} ${body}\n`);
    assert.throws(() => loadState(file), /record 1 .*entry endpoints\["e1"\] must be an object, not null/);
  });

  it('a journal written for another snapshot is ignored', async () => {
    await seed(file, 300);
    await new StateStore(file).mutate((s) => void (s.ruleset = 'journaled'));
    const journal = fs.readFileSync(journalPath(file));
    await new StateStore(file).mutate((s) => {
      for (const k of Object.keys(s.loadBalancers)) s.loadBalancers[k].FrontendVIPs = ['10.96.5.5'];
    });
    assert.equal(fs.existsSync(journalPath(file)), false, 'a new snapshot');
    fs.writeFileSync(journalPath(file), journal); // as a compaction killed before removing it leaves it
    const seen = loadState(file);
    assert.equal(seen.loadBalancers.lb3.FrontendVIPs?.[0], '10.96.5.5');
    assert.equal(seen.ruleset, 'journaled', 'the snapshot has it; the stale record is not replayed over anything');
  });

  describe('a process killed at each step of a commit', () => {
    const storeModule = path.resolve(__dirname, '../../../src/dataplane/linux/state-store');
    const child = (failpoint: string, big: boolean) =>
      spawnSync(
        process.execPath,
        [
          '-e',
          `const { StateStore } = require(${JSON.stringify(storeModule)});
           new StateStore(process.argv[1]).mutate((s) => {
             s.ruleset = 'after';
             if (${big}) for (const k of Object.keys(s.loadBalancers)) s.loadBalancers[k].FrontendVIPs = ['10.96.7.7'];
           }).then(() => process.exit(0));`,
          file,
        ],
        { env: { ...process.env, SWITCHYARD_FAILPOINT: failpoint }, encoding: 'utf8' },
      );

    const cases: [string, boolean, 'before' | 'after' | 'either'][] = [
      ['linux.state.journal.mid-append', false, 'before'],
      ['linux.state.journal.after-append', false, 'after'],
      ['linux.state.snapshot.before-rename', true, 'before'],
      ['linux.state.snapshot.after-rename', true, 'after'],
    ];
    for (const [failpoint, big, expect] of cases) {
      it(`${failpoint}: the state loads and is ${expect} the commit, and the next commit works`, async () => {
        await seed(file, 300);
        await new StateStore(file).mutate((s) => void (s.ruleset = 'before'));
        const r = child(failpoint, big);
        assert.equal(r.signal, 'SIGKILL', `killed at the failpoint (${r.stderr})`);
        const seen = loadState(file);
        assert.equal(seen.ruleset, expect);
        assert.equal(seen.loadBalancers.lb1.FrontendVIPs?.[0], big && expect === 'after' ? '10.96.7.7' : '10.96.0.1', 'all or nothing');
        const store = new StateStore(file);
        await store.mutate((s) => void (s.networks.n2 = net('n2')));
        const next = loadState(file);
        assert.ok(next.networks.n2);
        assert.equal(next.ruleset, expect);
        assert.deepEqual(clean(next), clean(store.read()));
      });
    }
  });
});
