import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock, LockTimeoutError, withFileLock } from '../../../src/util/file-lock';

// A holder in another process, so the test exercises real flock semantics between processes. It keeps the
// lock until told to let go, and logs "child released" just before releasing.
interface ChildHolder {
  release(): void;
  kill(): void;
}
function holdInChild(file: string, log: string): Promise<ChildHolder> {
  const lockModule = path.resolve(__dirname, '../../../src/util/file-lock.js');
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('node:fs');
    require(${JSON.stringify(lockModule)}).acquireLock(${JSON.stringify(file)}).then((l) => {
      process.stdin.once('data', () => {
        fs.appendFileSync(${JSON.stringify(log)}, 'child released\\n');
        l.release();
        process.exit(0);
      });
      process.stdout.write('held\\n');
    });`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const holder: ChildHolder = { release: () => child.stdin!.write('release\n'), kill: () => child.kill() };
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(holder));
  });
}

describe('file lock (flock, interoperable with host-local)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a second holder waits until the first (another process) releases, then gets the lock', async () => {
    const file = path.join(dir, 'lock');
    const log = path.join(dir, 'log');
    const child = await holdInChild(file, log);
    try {
      let acquired = false;
      const waiting = acquireLock(file, 10_000).then((l) => {
        acquired = true;
        fs.appendFileSync(log, 'parent acquired\n');
        return l;
      });
      // Give the waiter every chance to (wrongly) get the lock while the child still holds it.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(acquired, false, 'the second holder got the lock while the first still held it');
      child.release();
      (await waiting).release();
      assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), ['child released', 'parent acquired']);
    } finally {
      child.kill();
    }
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
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withFileLock(file, async () => {
          const n = Number(fs.readFileSync(counter, 'utf8'));
          await new Promise((r) => setImmediate(r));
          fs.writeFileSync(counter, String(n + 1));
        }),
      ),
    );
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
