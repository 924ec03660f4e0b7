/** GUID text ⇄ struct ⇄ bytes, and the per-key write queue of the Windows data planes. */
import * as assert from 'node:assert/strict';
import { formatGuid, guidBytes, parseGuid } from '../../../src/dataplane/windows/guid';
import { KeyedQueue } from '../../../src/dataplane/windows/keyed-queue';
import { HnsError } from '../../../src/hns';

describe('windows data planes: GUIDs', function () {
  it('parses text into the Windows struct and back (braces, any case)', function () {
    const g = parseGuid('{a1b2c3d4-e5f6-4711-8899-aabbccddeeff}');
    assert.deepEqual(g, { Data1: 0xa1b2c3d4, Data2: 0xe5f6, Data3: 0x4711, Data4: [0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff] });
    assert.equal(formatGuid(g), 'A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF');
    assert.equal(guidBytes(g).toString('hex'), 'd4c3b2a1f6e511478899aabbccddeeff');
  });

  it('refuses anything else as bad input naming the field', function () {
    for (const bad of ['', 'a1b2c3d4-e5f6-4711-8899', "x'; calc", 'a1b2c3d4e5f647118899aabbccddeeff']) {
      assert.throws(
        () => parseGuid(bad, 'endpoint ID'),
        (e: unknown) => e instanceof HnsError && e.kind === 'bad-input' && e.message.includes(`endpoint ID "${bad}" is not a GUID`),
      );
    }
  });
});

describe('windows data planes: keyed write queue', function () {
  it('runs tasks for one key in order, one at a time, and a failure does not block the next', async function () {
    const q = new KeyedQueue();
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const task =
      (name: string, fail = false) =>
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setImmediate(r));
        log.push(name);
        active--;
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([q.run('NET', task('a')), q.run('net', task('b', true)), q.run('Net', task('c'))]);
    assert.deepEqual(log, ['a', 'b', 'c'], 'keys compare case-insensitively, order kept');
    assert.equal(maxActive, 1);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(q.pending, 0, 'nothing retained once idle');
  });

  it('runs different keys concurrently', async function () {
    const q = new KeyedQueue();
    let active = 0;
    let maxActive = 0;
    const task = async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setImmediate(r));
      active--;
    };
    await Promise.all([q.run('a', task), q.run('b', task), q.run('c', task)]);
    assert.equal(maxActive, 3);
  });
});
