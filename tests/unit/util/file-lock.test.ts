import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock, LockTimeoutError, withFileLock } from '../../../src/util/file-lock';

// A holder in another process, so the test exercises real flock semantics between processes.
function holdInChild(file: string, ms: number): Promise<void> {
  const lockModule = path.resolve(__dirname, '../../../src/util/file-lock.js');
  const child = spawn(process.execPath, ['-e', `
    require(${JSON.stringify(lockModule)}).acquireLock(${JSON.stringify(file)}).then((l) => {
      process.stdout.write('held\\n');
      setTimeout(() => { l.release(); }, ${ms});
    });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout!.once('data', () => resolve()));
}

describe('file lock (flock, interoperable with host-local)', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-lock-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a waiter gets the lock once another process releases it', async () => {
    const file = path.join(dir, 'lock');
    await holdInChild(file, 300);
    const order: string[] = [];
    const lock = await acquireLock(file, 10_000);
    order.push('acquired');
    lock.release();
    assert.deepEqual(order, ['acquired']);
  });

  it('times out with an error naming the file, and the abandoned wait does not keep the lock', async () => {
    const file = path.join(dir, 'lock');
    const holder = await acquireLock(file);
    await assert.rejects(acquireLock(file, 100), (e: unknown) => e instanceof LockTimeoutError && e.message.includes(file));
    holder.release();
    const again = await acquireLock(file, 2_000);
    again.release();
  });

  it('serializes read-modify-write across concurrent callers', async () => {
    const file = path.join(dir, 'lock');
    const counter = path.join(dir, 'n');
    fs.writeFileSync(counter, '0');
    await Promise.all(Array.from({ length: 20 }, () => withFileLock(file, async () => {
      const n = Number(fs.readFileSync(counter, 'utf8'));
      await new Promise((r) => setImmediate(r));
      fs.writeFileSync(counter, String(n + 1));
    })));
    assert.equal(fs.readFileSync(counter, 'utf8'), '20');
  });

  it('in one process, waiters queue in order and a timed-out waiter leaves the queue intact', async () => {
    const file = path.join(dir, 'lock');
    const order: string[] = [];
    const first = await acquireLock(file);
    const second = acquireLock(file, 5_000).then((l) => {
      order.push('second');
      return l;
    });
    // Times out while the first holder still has the lock; the one queued after it must still get its turn.
    await assert.rejects(acquireLock(file, 50), LockTimeoutError);
    const third = acquireLock(file, 5_000).then((l) => {
      order.push('third');
      l.release();
    });
    order.push('first releases');
    first.release();
    (await second).release();
    await third;
    assert.deepEqual(order, ['first releases', 'second', 'third']);
  });
});
