/**
 * The state file as one process holds it across mutations: the node-wide lock (`<state>.lock`, flock) is
 * taken by the first mutation and kept while this process has changes that are not on disk yet, and
 * concurrent mutations of this process share one write (group commit).
 *
 * Why: a pod ADD is two mutations (create the endpoint, attach it) and a DEL two more, each of which used
 * to take the lock, re-read the file, and write and fsync it before the next could start, so an ADD paid
 * two fsyncs and concurrent calls of the agent queued behind each other's disk waits.
 *
 * The rules that keep standalone plugins, the CLI and the agent safe on one node:
 * - every mutation is a read-modify-write of the newest state under the lock: while this process holds the
 *   lock it is the only writer, so its in-memory text is the newest state; once it lets go, the next
 *   mutation re-reads the file;
 * - the lock is released only when everything this process changed is on disk (written, fsynced, renamed),
 *   so no other process ever reads a state that this one has already moved past;
 * - a mutation outside a batch returns once it is on disk, as before; inside a batch (`batch`, one CNI
 *   call's data-plane work) it returns at once and the batch's end waits until everything is on disk,
 *   so one write (one fsync) covers the call's mutations and those of concurrent calls;
 * - a write that fails drops what was not written (the file stays the truth) and asks for the open-time
 *   reconcile check, which removes the kernel objects the file no longer records.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acquireLock, type FileLock } from '../../util/file-lock';
import { mkdirPrivate, prepareAtomicWrite, writeFileAtomicSync } from '../../util/atomic-write';
import { loadState, parseState, serializeState, type LinuxState } from './state';

/** The stores whose writes the running batch defers to its end. */
const deferring = new AsyncLocalStorage<ReadonlySet<StateStore>>();

/**
 * Consecutive writes one lock hold may take while new mutations keep arriving; then new mutations wait
 * until the lock has been released and taken again, so a busy agent does not keep standalone plugins out.
 */
const WRITES_PER_HOLD = 4;

/** A batch that mutated and then waits on something slow does not keep the lock longer than this (ms). */
const DEFERRED_WRITE_MS = 50;

interface Waiter {
  gen: number;
  resolve(): void;
  reject(e: unknown): void;
}

export class StateStore {
  private lock?: FileLock;
  private acquiring?: Promise<void>;
  /** While the lock is held: the newest state (what the file holds after the next write), once read. */
  private text?: string;
  /** Mutations applied so far; `durable`: how many of them the file holds. */
  private gen = 0;
  private durable = 0;
  /** Mutations up to `upTo` were dropped by a failed write: waiting for them fails with `error`. */
  private lost?: { upTo: number; error: unknown };
  private writer?: Promise<void>;
  private waiters: Waiter[] = [];
  private writesThisHold = 0;
  /** Set while new mutations must wait for the lock to be released (see WRITES_PER_HOLD). */
  private gate?: { opened: Promise<void>; open(): void };
  private timer?: NodeJS.Timeout;
  /** The file as this process last wrote or checked it (identity, mtime, size), or undefined before any write. */
  private ownStamp?: string;

  constructor(readonly file: string) {}

  /** The newest state: this process's unwritten changes included (a reader of the file sees them once written). */
  read(): LinuxState {
    return this.text !== undefined ? parseState(this.text, this.file) : loadState(this.file);
  }

  /**
   * Applies `fn` (synchronous: nothing else of this process runs between the read and the change) to the
   * newest state. Durable when it returns, except inside a batch when `deferrable()` (asked right after
   * `fn`) says yes: then at the batch's end. If `fn` throws, nothing of its change is kept.
   */
  async mutate<T>(fn: (s: LinuxState) => T, deferrable: () => boolean = () => true): Promise<T> {
    await this.hold();
    let out: T;
    let defer: boolean;
    try {
      const s = this.read();
      out = fn(s);
      defer = deferrable();
      this.text = serializeState(s);
      this.gen++;
    } catch (e) {
      this.releaseIfClean();
      throw e;
    }
    if (defer && deferring.getStore()?.has(this)) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush().catch(() => undefined); // the batch's own flush reports a failure
      }, DEFERRED_WRITE_MS).unref();
      return out;
    }
    await this.flushTo(this.gen);
    return out;
  }

  /**
   * Writes `s` now, synchronously and durably, in the middle of a mutation (an intent record that must be
   * on disk before the kernel change it announces).
   */
  saveNow(s: LinuxState): void {
    if (!this.lock) throw new Error(`state ${this.file}: saveNow outside a mutation`);
    this.text = serializeState(s);
    this.gen++;
    writeFileAtomicSync(this.file, this.text, 0o600, { syncDir: false });
    this.durable = this.gen;
    this.ownStamp = this.stamp();
  }

  /** Runs `fn` with this store's writes deferred to its end; resolves once they (and earlier ones) are on disk. */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    const outer = deferring.getStore();
    if (outer?.has(this)) return fn();
    let out: T;
    try {
      out = await deferring.run(new Set([...(outer ?? []), this]), fn);
    } catch (e) {
      await this.flush().catch(() => undefined);
      throw e;
    }
    await this.flush();
    return out;
  }

  /** Resolves once every mutation made so far by this process is on disk. */
  flush(): Promise<void> {
    return this.flushTo(this.gen);
  }

  /**
   * The file's stamp when another process replaced it since this one last wrote or checked it, else
   * undefined. Every write replaces the file (a new inode), so another's write is never mistaken for ours.
   */
  foreignStamp(): string | undefined {
    const now = this.stamp();
    return now === this.ownStamp ? undefined : now;
  }

  /** Makes the next foreignStamp report the file (the kernel may hold what the file does not record). */
  forgetStamp(): void {
    this.ownStamp = undefined;
  }

  /** The file as stamped before a reconcile check that found (and wrote) nothing is known good. */
  checked(stampBefore: string): void {
    if (this.stamp() === stampBefore) this.ownStamp = stampBefore;
  }

  private stamp(): string {
    try {
      const st = fs.statSync(this.file, { bigint: true });
      return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
    } catch {
      return 'absent';
    }
  }

  /** Returns with the lock held by this process and the gate open; loops because either may change meanwhile. */
  private async hold(): Promise<void> {
    while (!this.lock || this.gate) {
      if (this.gate) {
        await this.gate.opened;
        continue;
      }
      this.acquiring ??= (async () => {
        mkdirPrivate(path.dirname(this.file));
        const lock = await acquireLock(`${this.file}.lock`);
        this.lock = lock;
        this.text = undefined;
        this.writesThisHold = 0;
      })().finally(() => (this.acquiring = undefined));
      await this.acquiring;
    }
  }

  private flushTo(gen: number): Promise<void> {
    if (this.durable >= gen) return Promise.resolve();
    if (this.lost && gen <= this.lost.upTo) return Promise.reject(this.lost.error);
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ gen, resolve, reject }));
    this.kick();
    return p;
  }

  /** Starts the writer unless it runs; when it stops, waiters that came in as it finished start it again. */
  private kick(): void {
    if (this.writer || this.waiters.length === 0) return;
    this.writer = this.writeLoop().finally(() => {
      this.writer = undefined;
      if (this.waiters.length > 0) this.kick();
      else this.releaseIfClean();
    });
  }

  /** One write per round for every waiter registered so far: the group commit. */
  private async writeLoop(): Promise<void> {
    while (this.waiters.length > 0) {
      const batch = this.waiters;
      this.waiters = [];
      const gen = this.gen;
      const text = this.text!;
      if (++this.writesThisHold >= WRITES_PER_HOLD && !this.gate) this.closeGate();
      try {
        const w = await prepareAtomicWrite(this.file, text);
        if (this.durable >= gen) w.abort();
        else {
          w.commit();
          this.durable = gen;
          this.ownStamp = this.stamp();
        }
      } catch (e) {
        this.discard(e);
        for (const x of [...batch, ...this.waiters.splice(0)]) x.reject(e);
        return;
      }
      for (const x of batch) x.resolve();
    }
  }

  /** New mutations wait; everything already applied is written, then the lock is released (which opens the gate). */
  private closeGate(): void {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    this.gate = { opened, open };
    if (this.durable < this.gen) this.waiters.push({ gen: this.gen, resolve: () => undefined, reject: () => undefined });
  }

  /** A failed write: what was not written is dropped, the lock released, and the next revalidate reconciles. */
  private discard(error: unknown): void {
    this.lost = { upTo: this.gen, error };
    this.ownStamp = undefined;
    this.release();
  }

  private releaseIfClean(): void {
    if (this.lock && !this.writer && this.waiters.length === 0 && this.durable >= this.gen) this.release();
  }

  private release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.text = undefined;
    const lock = this.lock;
    this.lock = undefined;
    lock?.release();
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }
}
