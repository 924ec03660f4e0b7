/**
 * The state file's journal (`<state>.journal`, docs/linux.md "State file"): the snapshot stays the one JSON
 * document every reader knows; each commit that changes a few entries appends one record of them to the
 * journal instead of rewriting the snapshot, and a reader sees the snapshot with the journal's records applied.
 *
 * Layout: a header line `switchyard-linux-state-journal 1 <hash>` naming the snapshot it applies to (a hash
 * of the snapshot's bytes, so a journal left behind by a compaction that was killed before removing it, or
 * a snapshot replaced by hand, never gets records that were not written for it), then records, each
 * `<length> <crc32> <json>\n`, the JSON an array of ops (state-tracker.ts StateOp). A record that fails its
 * length or checksum is the torn tail of an append that was killed (ignored: that commit never returned)
 * when nothing follows it, and a malformed journal otherwise.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { parseHnsJson } from '../../hns/json';
import { checkEntry, emptyState, parseState, StateFileError, type LinuxState } from './state';
import type { StateOp } from './state-tracker';

const MAGIC = 'switchyard-linux-state-journal 1 ';
const MAX_BYTES = 256 * 1024 * 1024;

export const journalPath = (file: string) => `${file}.journal`;

/** What the files held when read: enough to append to the journal or replace the snapshot without reading again. */
export interface DiskMeta {
  /** Hash of the snapshot's bytes ('' when there is no snapshot). */
  snapshotHash: string;
  snapshotBytes: number;
  /** The journal's header hash (undefined: no journal, or a header that is not one). It applies when it equals snapshotHash. */
  journalHash?: string;
  /** The end of the last whole record (the journal's valid length; 0 when none applies) and the file's size. */
  journalEnd: number;
  journalSize: number;
}

export const journalApplies = (m: DiskMeta) => m.journalHash !== undefined && m.journalHash === m.snapshotHash && m.snapshotHash !== '';

export function hashSnapshot(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

export const journalHeader = (hash: string) => Buffer.from(`${MAGIC}${hash}\n`);

/** One record's bytes for the ops of a commit. */
export function encodeRecord(ops: Iterable<StateOp>): Buffer {
  const parts: string[] = [];
  for (const o of ops) {
    if (o.op === 's') parts.push(`["s",${JSON.stringify(o.table)},${JSON.stringify(o.key)},${o.text}]`);
    else if (o.op === 'd') parts.push(`["d",${JSON.stringify(o.table)},${JSON.stringify(o.key)}]`);
    else if (o.op === 'f') parts.push(`["f",${JSON.stringify(o.field)},${o.text}]`);
    else parts.push(`[${JSON.stringify(o.op)},${JSON.stringify(o.field)}]`);
  }
  const body = Buffer.from(`[${parts.join(',')}]`);
  const prefix = Buffer.from(`${body.length} ${zlib.crc32(body).toString(16).padStart(8, '0')} `);
  return Buffer.concat([prefix, body, Buffer.from('\n')]);
}

/** Crash injection for the state tests (failpoints.ts has the pod-path ones): the process dies as with SIGKILL. */
export type StateFailpoint =
  | 'linux.state.journal.mid-append'
  | 'linux.state.journal.after-append'
  | 'linux.state.snapshot.before-rename'
  | 'linux.state.snapshot.after-rename';

export function stateFailpoint(name: StateFailpoint): void {
  if (process.env.SWITCHYARD_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}

/** A regular file's bytes, never through a symlink (null when absent). */
function readNoFollow(file: string): { bytes: Buffer; dev: bigint; ino: bigint } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EINVAL' });
    if (st.size > BigInt(MAX_BYTES)) throw Object.assign(new Error(`${file} is larger than ${MAX_BYTES} bytes`), { code: 'EFBIG' });
    return { bytes: fs.readFileSync(fd), dev: st.dev, ino: st.ino };
  } finally {
    fs.closeSync(fd);
  }
}

function identity(file: string): string {
  try {
    const st = fs.lstatSync(file, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return 'absent';
  }
}

/**
 * The state as a reader sees it: the snapshot with the journal's records applied. Without the lock a
 * compaction may replace both files between the two reads; the snapshot is then read again (a journal
 * is only ever applied to the snapshot it names, so a mismatched pair is never combined).
 */
export function readStateFiles(file: string): { state: LinuxState; meta: DiskMeta } {
  for (let attempt = 0; ; attempt++) {
    const snap = readNoFollow(file);
    const snapshotHash = snap ? hashSnapshot(snap.bytes) : '';
    const state = snap ? parseState(snap.bytes.toString('utf8'), file) : emptyState();
    const meta: DiskMeta = { snapshotHash, snapshotBytes: snap?.bytes.length ?? 0, journalEnd: 0, journalSize: 0 };
    const journal = readNoFollow(journalPath(file));
    if (journal) {
      meta.journalSize = journal.bytes.length;
      const nl = journal.bytes.indexOf(10);
      const header = nl < 0 ? '' : journal.bytes.subarray(0, nl).toString('latin1');
      if (header.startsWith(MAGIC)) meta.journalHash = header.slice(MAGIC.length);
      if (journalApplies(meta)) meta.journalEnd = replay(file, state, journal.bytes, nl + 1);
    }
    const now = identity(file);
    if (now === (snap ? `${snap.dev}:${snap.ino}` : 'absent') || attempt >= 20) return { state, meta };
  }
}

/** Applies the journal's whole records to `state`; returns the end of the last whole one. */
function replay(file: string, state: LinuxState, buf: Buffer, start: number): number {
  const journal = journalPath(file);
  let pos = start;
  let n = 0;
  const bad = (what: string) =>
    new StateFileError(
      `linux data plane state journal ${journal}: record ${n} (at byte ${pos}) ${what}; move ${journal} away to fall back to ${file} (the changes it records since are lost)`,
    );
  while (pos < buf.length) {
    n++;
    const sp1 = buf.indexOf(32, pos);
    const sp2 = sp1 < 0 ? -1 : buf.indexOf(32, sp1 + 1);
    const lenText = sp1 < 0 ? '' : buf.subarray(pos, sp1).toString('latin1');
    const crcText = sp2 < 0 ? '' : buf.subarray(sp1 + 1, sp2).toString('latin1');
    const nextNl = buf.indexOf(10, pos);
    if (!/^\d{1,10}$/.test(lenText) || !/^[0-9a-f]{8}$/.test(crcText)) {
      // A kill mid-append leaves a prefix of a record (or zeros after a power loss) with nothing after it.
      if (nextNl < 0) return pos;
      throw bad('has no valid length and checksum');
    }
    const len = Number(lenText);
    const bodyStart = sp2 + 1;
    const end = bodyStart + len + 1;
    if (end > buf.length) return pos;
    const body = buf.subarray(bodyStart, bodyStart + len);
    if (buf[end - 1] !== 10 || zlib.crc32(body) !== parseInt(crcText, 16)) {
      if (end === buf.length) return pos;
      throw bad('fails its checksum');
    }
    let ops: unknown;
    try {
      ops = parseHnsJson<unknown>(body.toString('utf8'));
    } catch (e) {
      throw bad(`is not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(ops)) throw bad('must be a JSON array of changes');
    for (const op of ops) applyOp(file, state, op, bad);
    pos = end;
  }
  return pos;
}

function applyOp(file: string, state: LinuxState, op: unknown, bad: (what: string) => Error): void {
  const s = state as unknown as Record<string, unknown>;
  if (!Array.isArray(op) || typeof op[0] !== 'string' || typeof op[1] !== 'string')
    throw bad(`has a change that is not ["op", "field", ...]`);
  const [kind, field] = op as [string, string];
  const tableOf = () => {
    const t = s[field];
    if (t === undefined) return (s[field] = {}) as Record<string, unknown>;
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw bad(`changes an entry of "${field}", which is not a table`);
    return t as Record<string, unknown>;
  };
  switch (kind) {
    case 's':
    case 'd': {
      if (typeof op[2] !== 'string' || op.length !== (kind === 's' ? 4 : 3)) throw bad(`has a malformed "${kind}" change of "${field}"`);
      const table = tableOf();
      if (kind === 'd') delete table[op[2]];
      else {
        try {
          checkEntry(file, field, op[2], op[3]);
        } catch (e) {
          throw bad((e as Error).message.replace(/^linux data plane state [^:]*: /, '').replace(/; fix or remove that entry$/, ''));
        }
        table[op[2]] = op[3];
      }
      return;
    }
    case 't':
      s[field] = {};
      return;
    case 'f':
      if (op.length !== 3) throw bad(`has a malformed "f" change of "${field}"`);
      s[field] = op[2];
      return;
    case 'u':
      delete s[field];
      return;
    default:
      throw bad(`has an unknown change "${kind}"`);
  }
}
