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
 * - the lock is released only when everything this process changed is on disk (written, renamed, and
 *   fsynced unless only kernel-object descriptions changed: VOLATILE_FIELDS),
 *   so no other process ever reads a state that this one has already moved past;
 * - a mutation outside a batch returns once it is on disk, as before; inside a batch (`batch`, one CNI
 *   call's data-plane work) it returns at once and the batch's end waits until everything is on disk,
 *   so one write (one fsync) covers the call's mutations and those of concurrent calls;
 * - a write that fails drops what was not written (the file stays the truth) and asks for the open-time
 *   reconcile check, which removes the kernel objects the file no longer records.
 *
 * What a commit costs (docs/linux.md "State file"): the parsed state is kept across lock holds, and reused
 * when the files' stamps show that no other process wrote since; `fn` changes it through a proxy that
 * records what it touched and can take it back (state-tracker.ts), so a failed `fn` leaves nothing; a
 * commit appends the changed entries as one journal record (state-journal.ts), fdatasynced when it carries
 * more than kernel-object descriptions (VOLATILE_FIELDS), and the
 * snapshot is rewritten whole only when it is small, when a commit changes a large part of it, or to
 * compact a journal grown past half the snapshot (under the lock, once the commits waiting are answered).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acquireLock, type FileLock } from '../../util/file-lock';
import { mkdirPrivate, prepareAtomicWrite, writeFileAtomicSync } from '../../util/atomic-write';
import { loadState, serializeState, type LinuxState } from './state';
import { detach, StateTracker, type StateOp } from './state-tracker';
import {
  encodeRecord,
  hashSnapshot,
  journalApplies,
  journalHeader,
  journalPath,
  readStateFiles,
  stateFailpoint,
  type DiskMeta,
} from './state-journal';

/** The stores whose writes the running batch defers to its end. */
const deferring = new AsyncLocalStorage<ReadonlySet<StateStore>>();

/**
 * Consecutive writes one lock hold may take while new mutations keep arriving; then new mutations wait
 * until the lock has been released and taken again, so a busy agent does not keep standalone plugins out.
 */
const WRITES_PER_HOLD = 4;

/** A batch that mutated and then waits on something slow does not keep the lock longer than this (ms). */
const DEFERRED_WRITE_MS = 50;

/**
 * Snapshots smaller than this are rewritten whole by every commit. 0: every commit is a journal record. A
 * rewrite is not as cheap as a record even for a few bytes: it creates a file (the temp file), fsyncs and
 * renames it, and ext4's inode allocation and directory update cost more than the append and fdatasync
 * of an existing file (~1 ms of CPU per CNI ADD on a node with few pods, whose state is small).
 */
const JOURNAL_MIN_BYTES = 0;

/**
 * The parts of the state that describe kernel objects only (pod links and addresses, namespaces, nft rules
 * and the tables this plane wrote): a power loss removes those objects with the page cache, so a record
 * that changes nothing else is appended without fdatasync. A killed process loses nothing either way (the
 * record is in the page cache before the call returns); after a power loss a lost tail of such records
 * only leaves a state that describes kernel objects which are gone anyway, as every reboot does, and the
 * open-time reconcile handles it. Networks and load-balancer documents (what is re-realized after a
 * reboot) are always synced, and so is any record that carries one of them.
 */
const VOLATILE_FIELDS: ReadonlySet<string> = new Set(['endpoints', 'namespaces', 'ruleset', 'lbNft', 'lbTable']);

function needsSync(ops: Iterable<StateOp>): boolean {
  for (const o of ops) if (!VOLATILE_FIELDS.has(o.op === 's' || o.op === 'd' ? o.table : o.field)) return true;
  return false;
}

/** The journal is compacted into a new snapshot once it is larger than this and half the snapshot. */
const COMPACT_MIN_BYTES = 64 * 1024;

interface Waiter {
  gen: number;
  resolve(): void;
  reject(e: unknown): void;
}

export interface StateStoreOptions {
  /** Snapshots smaller than this many bytes are rewritten whole (default 0: never, or SWITCHYARD_STATE_JOURNAL_MIN_BYTES). */
  journalMinBytes?: number;
}

export class StateStore {
  private lock?: FileLock;
  private acquiring?: Promise<void>;
  /**
   * The parsed state as this process last read or wrote it (while the lock is held: the newest state,
   * this process's unwritten changes included), `disk` what the files held then, and `keptStamp` their
   * stamp once everything in `state` was on disk: a later hold reuses `state` while the stamp is the same.
   */
  private state?: LinuxState;
  private disk?: DiskMeta;
  private keptStamp?: string;
  /** The mutation running (saveNow writes what it changed so far). */
  private tracker?: StateTracker;
  /** Mutations applied so far; `durable`: how many of them the files hold. */
  private gen = 0;
  private durable = 0;
  /** The changes of the mutations not written yet, merged (one op per entry, in order). */
  private pending = new Map<string, StateOp>();
  /** A pending change replaces a table or field whole: the next write is a snapshot. */
  private pendingFull = false;
  /** The kind of write whose I/O is in flight (a saveNow meanwhile writes a snapshot unless it is an append). */
  private inFlight?: 'append' | 'journal' | 'snapshot';
  private compactWanted = false;
  /** Mutations after `from` up to `upTo` were dropped by a failed write: waiting for them fails with `error`. */
  private lost?: { from: number; upTo: number; error: unknown };
  /** Writes done so far: a snapshot prepared asynchronously is not put in place over a newer write. */
  private writeSeq = 0;
  private writer?: Promise<void>;
  private waiters: Waiter[] = [];
  private writesThisHold = 0;
  /** Set while new mutations must wait for the lock to be released (see WRITES_PER_HOLD). */
  private gate?: { opened: Promise<void>; open(): void };
  private timer?: NodeJS.Timeout;
  /** The files as this process last wrote or checked them (identity, mtime, size), or undefined before any write. */
  private ownStamp?: string;
  /**
   * While the lock is held: the files' stamp, taken when it was acquired and after each of this process's
   * writes. Nobody else writes meanwhile, so a check during the hold (foreignStamp before each mutation)
   * needs no stat.
   */
  private heldStamp?: string;
  private readonly journalMinBytes: number;

  constructor(
    readonly file: string,
    opts: StateStoreOptions = {},
  ) {
    const env = Number(process.env.SWITCHYARD_STATE_JOURNAL_MIN_BYTES);
    this.journalMinBytes = opts.journalMinBytes ?? (process.env.SWITCHYARD_STATE_JOURNAL_MIN_BYTES && env >= 0 ? env : JOURNAL_MIN_BYTES);
  }

  /**
   * The newest state: this process's unwritten changes included (a reader of the files sees them once
   * written). The object is the one this process keeps: read it, never change it (mutate does), and do
   * not hold on to it across a mutation.
   */
  read(): LinuxState {
    if (this.lock) return this.loaded();
    if (this.keptValid()) return this.state!;
    return loadState(this.file);
  }

  /**
   * Whether the kept state is what the files hold: their stamps are the ones this process left. Only for
   * a state large enough to journal: a small file is re-read (cheap), since several rewrites by another
   * process within one tick of the coarse mtime clock could reuse an inode with the same size.
   */
  private keptValid(now?: string): boolean {
    return (
      this.state !== undefined &&
      this.keptStamp !== undefined &&
      this.disk !== undefined &&
      this.disk.snapshotBytes >= this.journalMinBytes &&
      (now ?? this.stamp()) === this.keptStamp
    );
  }

  /**
   * Applies `fn` (synchronous: nothing else of this process runs between the read and the change) to the
   * newest state. Durable when it returns, except inside a batch when `deferrable()` (asked right after
   * `fn`) says yes: then at the batch's end. If `fn` throws, nothing of its change is kept. What `fn`
   * returns is the caller's: objects of the state in it are copies.
   */
  async mutate<T>(fn: (s: LinuxState) => T, deferrable: () => boolean = () => true): Promise<T> {
    // Re-checked after the await: a writer finishing meanwhile may have released the lock.
    do await this.hold();
    while (!this.lock || this.gate);
    let out: T;
    let defer: boolean;
    let changed: boolean;
    let tracker: StateTracker | undefined;
    try {
      const s = this.loaded();
      tracker = this.tracker = new StateTracker(s);
      out = fn(tracker.root);
      defer = deferrable();
      if (this.state !== s) throw this.lost?.error ?? new Error(`state ${this.file}: dropped during a mutation`);
      const ops = tracker.collect();
      tracker.finish();
      this.tracker = undefined;
      changed = ops.length > 0;
      if (changed) {
        this.queue(ops);
        this.gen++;
      }
      out = detach(out);
    } catch (e) {
      if (tracker && this.tracker === tracker) {
        tracker.rollback();
        tracker.finish();
        this.tracker = undefined;
      }
      this.releaseIfClean();
      throw e;
    }
    if (defer && deferring.getStore()?.has(this)) {
      if (changed)
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.flush().catch(() => undefined); // the batch's own flush reports a failure
        }, DEFERRED_WRITE_MS).unref();
      return out;
    }
    // Unchanged: still waits for what it read (earlier mutations of this process) to be on disk.
    if (this.durable < this.gen) await this.flushTo(this.gen);
    else this.releaseIfClean();
    return out;
  }

  /**
   * Writes what the running mutation changed so far now, synchronously and durably (an intent record that
   * must be on disk before the kernel change it announces). If the mutation fails later, what was written
   * here stays. `s` is the state the mutation was given.
   */
  saveNow(s: LinuxState): void {
    const t = this.tracker;
    if (!this.lock || !t || t.root !== s) throw new Error(`state ${this.file}: saveNow outside a mutation`);
    const ops = t.collect();
    if (ops.length > 0) {
      this.queue(ops);
      this.gen++;
    }
    if (this.durable < this.gen) {
      try {
        this.writeNow();
      } catch (e) {
        // Nothing of this hold's unwritten changes is kept: the files stay the truth (as a failed write below).
        this.lose(e);
        throw e;
      }
    }
    t.checkpoint();
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
   * The files' stamp when another process replaced or appended to them since this one last wrote or
   * checked them, else undefined. Every snapshot write replaces the file (a new inode) and every append
   * grows the journal, so another's write is never mistaken for ours.
   */
  foreignStamp(): string | undefined {
    const now = (this.lock && this.heldStamp) || this.stamp();
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
    const one = (f: string) => {
      try {
        const st = fs.statSync(f, { bigint: true });
        return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
      } catch {
        return 'absent';
      }
    };
    return `${one(this.file)}|${one(journalPath(this.file))}`;
  }

  /** The kept state, read (snapshot + journal) when there is none; only with the lock held. */
  private loaded(): LinuxState {
    if (!this.state) {
      const { state, meta } = readStateFiles(this.file);
      this.state = state;
      this.disk = meta;
      this.keptStamp = this.heldStamp ?? this.stamp();
    }
    return this.state;
  }

  private dropKept(): void {
    this.state = undefined;
    this.disk = undefined;
    this.keptStamp = undefined;
    this.pending = new Map();
    this.pendingFull = false;
    this.compactWanted = false;
  }

  /** Merges a mutation's ops into the pending ones: the last change of an entry wins, a table replaced drops its entries' changes. */
  private queue(ops: StateOp[]): void {
    for (const o of ops) {
      if (o.op === 's' || o.op === 'd') {
        const id = `e\u0000${o.table}\u0000${o.key}`;
        this.pending.delete(id);
        this.pending.set(id, o);
        continue;
      }
      const prefix = `e\u0000${o.field}\u0000`;
      for (const id of this.pending.keys()) if (id.startsWith(prefix)) this.pending.delete(id);
      const id = `f\u0000${o.field}`;
      this.pending.delete(id);
      this.pending.set(id, o);
      if (o.op === 't') this.pendingFull = true;
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
        this.heldStamp = this.stamp();
        // Another process wrote since this one let go: what is kept is stale.
        if (!this.keptValid(this.heldStamp)) this.dropKept();
        this.writesThisHold = 0;
      })().finally(() => (this.acquiring = undefined));
      await this.acquiring;
    }
  }

  private flushTo(gen: number): Promise<void> {
    if (this.lost && gen > this.lost.from && gen <= this.lost.upTo) return Promise.reject(this.lost.error);
    if (this.durable >= gen) {
      this.releaseIfClean();
      return Promise.resolve();
    }
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ gen, resolve, reject }));
    this.kick();
    return p;
  }

  /** Starts the writer unless it runs; when it stops, waiters that came in as it finished start it again. */
  private kick(): void {
    if (this.writer || (this.waiters.length === 0 && !this.compactWanted)) return;
    this.writer = this.writeLoop().finally(() => {
      this.writer = undefined;
      if (this.waiters.length > 0) this.kick();
      else this.releaseIfClean();
    });
  }

  /** One write per round for every waiter registered so far: the group commit; then a compaction if one is due. */
  private async writeLoop(): Promise<void> {
    while (this.waiters.length > 0 || (this.compactWanted && this.lock)) {
      // A compaction serializes the whole state on this thread: first let the callers just answered run.
      if (this.waiters.length === 0) await new Promise((r) => setImmediate(r));
      if (this.waiters.length === 0 && !(this.compactWanted && this.lock)) break;
      const batch = this.waiters;
      this.waiters = [];
      const gen = this.gen;
      if (++this.writesThisHold >= WRITES_PER_HOLD && !this.gate) this.closeGate();
      try {
        await this.writeRound(gen, batch.length === 0 || this.journalOverdue());
      } catch (e) {
        this.discard(e);
        for (const x of [...batch, ...this.waiters.splice(0)]) x.reject(e);
        return;
      }
      for (const x of batch) x.resolve();
    }
  }

  private journalBound(): number {
    return Math.max(COMPACT_MIN_BYTES, (this.disk?.snapshotBytes ?? 0) / 2);
  }

  /** Compaction waits for a round without waiters, unless the journal has grown far past its bound. */
  private journalOverdue(): boolean {
    return this.compactWanted && (this.disk?.journalEnd ?? 0) > 2 * this.journalBound();
  }

  /** Whether the changes pending (as `record`) are written as a new snapshot rather than a journal record. */
  private wantsSnapshot(record: Buffer | undefined): boolean {
    const d = this.disk;
    return (
      this.pendingFull ||
      !d ||
      !d.snapshotHash ||
      d.snapshotBytes < this.journalMinBytes ||
      !record ||
      // A commit that changes a large part of the state (a full sync): one snapshot instead of a record as large.
      record.length > d.snapshotBytes / 4
    );
  }

  /** Writes the pending changes (up to `gen`), or compacts: asynchronously, the fsync off the event loop. */
  private async writeRound(gen: number, compact: boolean): Promise<void> {
    if (this.durable >= gen && !(compact && this.compactWanted)) return;
    if (!this.state || !this.disk) return; // dropped by a failed saveNow: nothing of it is written
    const record = this.pending.size > 0 && !compact ? encodeRecord(this.pending.values()) : undefined;
    const sync = needsSync(this.pending.values());
    const d = this.disk!;
    const seq = this.writeSeq;
    if (compact || this.wantsSnapshot(record)) {
      this.takePending();
      const bytes = Buffer.from(serializeState(this.state!));
      this.inFlight = 'snapshot';
      let w;
      try {
        w = await prepareAtomicWrite(this.file, bytes);
      } finally {
        this.inFlight = undefined;
      }
      if (this.writeSeq !== seq) return w.abort();
      this.installSnapshot(() => w.commit(), bytes);
    } else if (!journalApplies(d)) {
      // The first record since the snapshot: a new journal (header and record) replaces any other in one rename.
      this.takePending();
      const bytes = Buffer.concat([journalHeader(d.snapshotHash), record!]);
      this.inFlight = 'journal';
      let w;
      try {
        w = await prepareAtomicWrite(journalPath(this.file), bytes);
      } finally {
        this.inFlight = undefined;
      }
      if (this.writeSeq !== seq) return w.abort();
      w.commit();
      this.disk = { ...d, journalHash: d.snapshotHash, journalEnd: bytes.length, journalSize: bytes.length };
    } else {
      this.takePending();
      this.inFlight = 'append';
      try {
        const start = d.journalEnd;
        await this.syncAppend(this.append(record!), start, sync);
      } finally {
        this.inFlight = undefined;
      }
    }
    this.wrote(gen);
  }

  /** The synchronous write of saveNow: everything not on disk yet. */
  private writeNow(): void {
    const record = this.pending.size > 0 ? encodeRecord(this.pending.values()) : undefined;
    const sync = needsSync(this.pending.values());
    const d = this.disk!;
    const full = this.inFlight === 'snapshot' || this.inFlight === 'journal' || this.wantsSnapshot(record);
    this.takePending();
    if (full) {
      // (A snapshot or journal being written asynchronously is not in place yet: this one supersedes it.)
      const bytes = Buffer.from(serializeState(this.state!));
      this.installSnapshot(() => writeFileAtomicSync(this.file, bytes, 0o600, { syncDir: false }), bytes);
    } else if (!journalApplies(d)) {
      const bytes = Buffer.concat([journalHeader(d.snapshotHash), record!]);
      writeFileAtomicSync(journalPath(this.file), bytes, 0o600, { syncDir: false });
      this.disk = { ...d, journalHash: d.snapshotHash, journalEnd: bytes.length, journalSize: bytes.length };
    } else {
      const start = d.journalEnd;
      this.syncAppendNow(this.append(record!), start, sync);
    }
    this.wrote(this.gen);
  }

  private takePending(): void {
    this.pending = new Map();
    this.pendingFull = false;
  }

  private wrote(gen: number): void {
    this.writeSeq++;
    if (gen > this.durable) this.durable = gen;
    this.ownStamp = this.keptStamp = this.heldStamp = this.stamp();
    if (this.disk && this.disk.journalEnd > this.journalBound()) this.compactWanted = true;
  }

  /**
   * Writes one record at the end of the journal's whole records (cutting off a torn tail first) and
   * returns the open journal for syncAppend.
   */
  private append(record: Buffer): number {
    const d = this.disk!;
    const start = d.journalEnd;
    const fd = fs.openSync(journalPath(this.file), fs.constants.O_WRONLY | (fs.constants.O_NOFOLLOW ?? 0));
    try {
      if (d.journalSize !== start) fs.ftruncateSync(fd, start);
      d.journalSize = start;
      if (process.env.SWITCHYARD_FAILPOINT === 'linux.state.journal.mid-append') {
        fs.writeSync(fd, record, 0, record.length >> 1, start);
        stateFailpoint('linux.state.journal.mid-append');
      }
      fs.writeSync(fd, record, 0, record.length, start);
      d.journalEnd = d.journalSize = start + record.length;
      stateFailpoint('linux.state.journal.after-append');
      return fd;
    } catch (e) {
      this.cutBack(fd, start);
      fs.closeSync(fd);
      throw e;
    }
  }

  /**
   * fdatasync of an appended record (closing the journal): the commit point. A failure cuts the record
   * off again, so the journal never holds a change that was reported as failed. `sync` false (a record of
   * volatile fields only, see VOLATILE_FIELDS): the write itself was the commit point.
   */
  private syncAppendNow(fd: number, start: number, sync: boolean): void {
    try {
      if (sync) fs.fdatasyncSync(fd);
    } catch (e) {
      this.cutBack(fd, start);
      throw e;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** syncAppendNow with the fdatasync on libuv's thread pool. */
  private async syncAppend(fd: number, start: number, sync: boolean): Promise<void> {
    try {
      if (sync) await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      this.cutBack(fd, start);
      throw e;
    } finally {
      fs.closeSync(fd);
    }
  }

  private cutBack(fd: number, to: number): void {
    try {
      fs.ftruncateSync(fd, to);
      if (this.disk) this.disk.journalEnd = this.disk.journalSize = to;
    } catch {
      // the store drops what it kept (discard): the next hold reads the journal again
    }
  }

  /**
   * Puts a new snapshot in place (`commit`: the rename) and removes the journal, which the snapshot
   * includes. A journal naming the new snapshot's very bytes that does not apply now (left behind by a
   * compaction killed before its removal) is removed first, so it can never apply to the new one.
   */
  private installSnapshot(commit: () => void, bytes: Buffer): void {
    const hash = hashSnapshot(bytes);
    const jp = journalPath(this.file);
    if (this.disk && this.disk.journalHash === hash && !journalApplies(this.disk)) fs.rmSync(jp, { force: true });
    stateFailpoint('linux.state.snapshot.before-rename');
    commit();
    stateFailpoint('linux.state.snapshot.after-rename');
    fs.rmSync(jp, { force: true });
    this.disk = { snapshotHash: hash, snapshotBytes: bytes.length, journalEnd: 0, journalSize: 0 };
    this.compactWanted = false;
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
    this.lose(error);
    this.release();
  }

  /** Drops what this process has not written (waiting for it fails with `error`) and what it kept. */
  private lose(error: unknown): void {
    this.lost = { from: this.durable, upTo: this.gen, error };
    this.durable = this.gen;
    this.ownStamp = this.heldStamp = undefined;
    this.dropKept();
  }

  private releaseIfClean(): void {
    if (this.lock && !this.writer && !this.tracker && this.waiters.length === 0 && this.durable >= this.gen && !this.compactWanted)
      this.release();
  }

  private release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.compactWanted = false;
    const lock = this.lock;
    this.lock = undefined;
    this.heldStamp = undefined;
    lock?.release();
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }
}
