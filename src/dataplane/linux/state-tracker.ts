/**
 * What one mutation of the kept state changed, and how to take it back: `fn` works on a proxy of the
 * store's parsed state that writes through to it, logs every write's previous value (the undo log) and
 * marks the top-level entry it falls under (`table/key`, or a top-level field) as changed.
 *
 * Why a proxy and not a copy: a copy (or re-parsing the file, as the store did) costs O(state) per
 * mutation, and a 10,000-LB state is several MB. Reads through the proxy cost a lookup per object touched;
 * only the changed entries are serialized afterwards (for the journal record) and re-parsed (so the kept
 * state never shares an object with the caller, and holds exactly what a reader of the file gets).
 */
import { cloneJson, parseHnsJson, stringifyHnsJson } from '../../net/json';
import type { LinuxState } from './state';

/** One change of a commit, in the order a reader replays them (state-journal.ts writes them as a record). */
export type StateOp =
  /** table[key] = the entry whose JSON is `text` */
  | { op: 's'; table: string; key: string; text: string }
  /** delete table[key] */
  | { op: 'd'; table: string; key: string }
  /** the top-level field becomes an empty table (entries follow as 's') */
  | { op: 't'; field: string }
  /** the top-level field becomes the value whose JSON is `text` */
  | { op: 'f'; field: string; text: string }
  /** the top-level field is removed */
  | { op: 'u'; field: string };

/** Read through any proxy of a tracker (live or finished), the object it stands for; on anything else, undefined. */
const RAW = Symbol('raw');

const rawOf = (v: object): object | undefined => (v as { [RAW]?: object })[RAW];

const unwrap = <T>(v: T): T => (v !== null && typeof v === 'object' ? ((rawOf(v) as T | undefined) ?? v) : v);

export const isTable = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && rawOf(v) === undefined;

interface UndoStep {
  obj: Record<PropertyKey, unknown>;
  prop: PropertyKey;
  had: boolean;
  old: unknown;
}

const SEP = '\u0000';

export class StateTracker {
  /** The proxy `fn` gets. */
  readonly root: LinuxState;
  private undo: UndoStep[] = [];
  private proxies = new Map<object, object>();
  /** This mutation's proxies → their targets (cheaper than asking a proxy through its trap). */
  private targetOf = new Map<object, object>();
  /** Tables assigned whole, rebuilt by the last collect with plain values (finish puts them in place). */
  private rebuilt = new Map<string, Record<string, unknown>>();
  /** Entries written under since the last checkpoint: "table\0key". */
  private dirty = new Set<string>();
  /** Top-level fields assigned or deleted since the last checkpoint → their value before (a shallow copy for tables). */
  private replaced = new Map<string, unknown>();
  /** Top-level non-table values written under since the last checkpoint. */
  private dirtyTop = new Set<string>();
  /** The newest text written for each entry / top-level field (what the file holds after the commit). */
  private texts = new Map<string, string | undefined>();
  private live = true;

  constructor(private readonly raw: LinuxState) {
    this.root = this.proxy(raw as unknown as object, { kind: 'root' }) as LinuxState;
  }

  /** The changes since the last checkpoint, serialized; the state is left as it is. */
  collect(): StateOp[] {
    const ops: StateOp[] = [];
    this.rebuilt.clear();
    const raw = this.raw as unknown as Record<string, unknown>;
    const doneTables = new Set<string>();
    for (const [field, before] of this.replaced) {
      const now = raw[field];
      doneTables.add(field);
      if (!(field in raw)) {
        ops.push({ op: 'u', field });
        this.texts.set(`${field}`, undefined);
      } else if (isTable(now)) {
        const old =
          before !== null && typeof before === 'object' && isTable(unwrap(before))
            ? (unwrap(before) as Record<string, unknown>)
            : undefined;
        if (!old) ops.push({ op: 't', field });
        const table: Record<string, unknown> = {};
        const dirty = this.dirty.size > 0;
        for (const k of Object.keys(now)) {
          const v = this.unwrap(now[k]);
          table[k] = v;
          if (
            old &&
            Object.prototype.hasOwnProperty.call(old, k) &&
            v === this.unwrap(old[k]) &&
            !(dirty && this.dirty.has(field + SEP + k))
          )
            continue;
          ops.push(this.setOp(field, k, v));
        }
        this.rebuilt.set(field, table);
        if (old) for (const k of Object.keys(old)) if (!Object.prototype.hasOwnProperty.call(now, k)) ops.push(this.delOp(field, k));
      } else {
        const text = stringifyHnsJson(now);
        if (text === undefined) ops.push({ op: 'u', field });
        else ops.push({ op: 'f', field, text });
        this.texts.set(field, text);
      }
    }
    for (const field of this.dirtyTop) {
      if (doneTables.has(field)) continue;
      const text = stringifyHnsJson(raw[field]);
      ops.push(text === undefined ? { op: 'u', field } : { op: 'f', field, text });
      this.texts.set(field, text);
    }
    for (const id of this.dirty) {
      const [table, k] = id.split(SEP) as [string, string];
      if (doneTables.has(table)) continue;
      const t = raw[table];
      if (isTable(t) && Object.prototype.hasOwnProperty.call(t, k)) ops.push(this.setOp(table, k, t[k]));
      else ops.push(this.delOp(table, k));
    }
    return ops;
  }

  /** The changes collected so far are on disk: a later failure of `fn` takes back only what follows. */
  checkpoint(): void {
    this.undo = [];
    this.dirty.clear();
    this.dirtyTop.clear();
    const raw = this.raw as unknown as Record<string, unknown>;
    for (const field of [...this.replaced.keys()]) {
      const now = raw[field];
      this.replaced.set(field, isTable(now) ? shallowUnwrapped(now) : now);
    }
  }

  /** `fn` failed: every write since the last checkpoint is undone, newest first. */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) {
      const u = this.undo[i];
      if (u.had) u.obj[u.prop] = u.old;
      else delete u.obj[u.prop];
    }
    this.undo = [];
    this.dirty.clear();
    this.dirtyTop.clear();
    this.rebuilt.clear();
  }

  /**
   * Ends the mutation: every entry written (per the texts collected) is replaced by a fresh parse of its
   * text, tables assigned whole are rebuilt from unwrapped values, and the proxies stop accepting writes.
   */
  finish(): void {
    this.live = false;
    this.proxies.clear();
    const raw = this.raw as unknown as Record<string, unknown>;
    const parse = (text: string) => parseHnsJson<unknown>(text);
    for (const field of this.replaced.keys()) {
      const now = raw[field];
      const rebuilt = this.rebuilt.get(field);
      if (rebuilt) raw[field] = rebuilt;
      else if (isTable(now) || (now !== null && typeof now === 'object' && rawOf(now) !== undefined)) {
        const table = unwrap(now) as Record<string, unknown>;
        if (isTable(table)) raw[field] = shallowUnwrapped(table);
      }
    }
    for (const [id, text] of this.texts) {
      const i = id.indexOf(SEP);
      if (i < 0) {
        if (text === undefined) delete raw[id];
        else if (!isTable(raw[id]) || !this.replaced.has(id)) raw[id] = parse(text);
        continue;
      }
      const t = raw[id.slice(0, i)];
      if (!isTable(t)) continue;
      const k = id.slice(i + 1);
      if (text === undefined) delete t[k];
      else t[k] = parse(text);
    }
  }

  private setOp(table: string, key: string, value: unknown): StateOp {
    const text = stringifyHnsJson(value) ?? 'null';
    this.texts.set(table + SEP + key, text);
    return { op: 's', table, key, text };
  }

  private delOp(table: string, key: string): StateOp {
    this.texts.set(table + SEP + key, undefined);
    return { op: 'd', table, key };
  }

  /** What each proxied object falls under (one handler serves every proxy of the mutation). */
  private owners = new Map<object, Owner>();

  private unwrap<T>(v: T): T {
    if (v === null || typeof v !== 'object') return v;
    return (this.targetOf.get(v) as T | undefined) ?? unwrap(v);
  }

  private proxy(target: object, owner: Owner): object {
    const p = new Proxy(target, this.handler);
    this.proxies.set(target, p);
    this.targetOf.set(p, target);
    this.owners.set(target, owner);
    return p;
  }

  private childOwner(owner: Owner, prop: string, value: unknown): Owner {
    if (owner.kind === 'root') return isTable(value) ? { kind: 'table', table: prop } : { kind: 'top', field: prop };
    if (owner.kind === 'table') return { kind: 'entry', id: owner.table + SEP + prop };
    return owner;
  }

  private write(obj: object, prop: PropertyKey): void {
    if (!this.live) throw new Error('linux data plane state: an object of a finished mutation was written to (copy it first)');
    if (typeof prop === 'symbol') return;
    const owner = this.owners.get(obj)!;
    const o = obj as Record<PropertyKey, unknown>;
    const had = Object.prototype.hasOwnProperty.call(o, prop);
    // Writing past an array's end grows its length as a side effect: undone after the element.
    if (Array.isArray(o) && prop !== 'length') this.undo.push({ obj: o, prop: 'length', had: true, old: o.length });
    this.undo.push({ obj: o, prop, had, old: o[prop] });
    if (owner.kind === 'root') {
      // The value before, not a copy: the old table is changed afterwards only through proxies, which mark what they change.
      if (!this.replaced.has(String(prop))) this.replaced.set(String(prop), o[prop]);
    } else if (owner.kind === 'table') this.dirty.add(owner.table + SEP + String(prop));
    else if (owner.kind === 'entry') this.dirty.add(owner.id);
    else this.dirtyTop.add(owner.field);
  }

  private readonly handler: ProxyHandler<object> = {
    get: (obj, prop, receiver) => {
      if (prop === RAW) return obj;
      const v: unknown = Reflect.get(obj, prop, receiver);
      if (typeof prop === 'symbol' || v === null || typeof v !== 'object') return v;
      if (rawOf(v) !== undefined) return v;
      return this.proxies.get(v) ?? this.proxy(v, this.childOwner(this.owners.get(obj)!, prop, v));
    },
    set: (obj, prop, value) => {
      this.write(obj, prop);
      (obj as Record<PropertyKey, unknown>)[prop] = this.unwrap(value);
      return true;
    },
    deleteProperty: (obj, prop) => {
      if (!Object.prototype.hasOwnProperty.call(obj, prop)) return true;
      this.write(obj, prop);
      delete (obj as Record<PropertyKey, unknown>)[prop];
      return true;
    },
    defineProperty: (obj, prop, desc) => {
      this.write(obj, prop);
      return Reflect.defineProperty(obj, prop, 'value' in desc ? { ...desc, value: unwrap(desc.value) } : desc);
    },
  };
}

type Owner = { kind: 'root' } | { kind: 'table'; table: string } | { kind: 'entry'; id: string } | { kind: 'top'; field: string };

function shallowUnwrapped(t: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const src = unwrap(t) as Record<string, unknown>;
  for (const k of Object.keys(src)) out[k] = unwrap(src[k]);
  return out;
}

/**
 * The object a tracker's proxy stands for, for a read-only scan inside a mutation: a scan through the proxy
 * makes a proxy for every object it touches (an ADD's address check over every endpoint of the network).
 * Never write through it: the change would be neither journaled nor undone.
 */
export function untracked<T>(v: T): T {
  return unwrap(v);
}

/**
 * A mutation's result without proxies: what `fn` returned from the state is handed back as a copy, as
 * it was when every mutation re-parsed the file (the caller may keep and change it).
 */
export function detach<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  // A proxy: a copy of what it stands for (read directly, not through its traps).
  if (rawOf(v) !== undefined) return cloneJson(unwrap(v));
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    v.forEach((x, i) => {
      const d = detach(x);
      if (d !== x) (copy ??= [...v])[i] = d;
    });
    return (copy ?? v) as T;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  let copy: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const d = detach(x);
    if (d !== x) (copy ??= { ...(v as Record<string, unknown>) })[k] = d;
  }
  return (copy ?? v) as T;
}
