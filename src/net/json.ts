/**
 * JSON that keeps 64-bit integers: HNS documents carry uint64 fields (Health.LastUpdateTime, InterfaceLuid,
 * Version) beyond 2^53. They are parsed to bigint and written back as bare digits, so nothing is rounded on
 * a round trip, and `cloneJson` copies a document without going through Number.
 */

/** JSON.parse, except integer literals that do not fit a double exactly become bigint. */
export function parseHnsJson<T = unknown>(text: string): T {
  // Fast path: no run of 16+ digits anywhere means no integer can exceed 2^53.
  if (!/\d{16,}/.test(text)) return JSON.parse(text) as T;
  // Quote-aware scan: mark large integer literals outside strings, then revive them.
  let needsBig = false;
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if ((c >= '0' && c <= '9') || c === '-') {
      let j = i + 1;
      while (j < n && /[0-9eE.+-]/.test(text[j])) j++;
      const lit = text.slice(i, j);
      if (/^-?\d{16,}$/.test(lit) && !Number.isSafeInteger(Number(lit))) {
        out += `"\\u0000big:${lit}"`;
        needsBig = true;
      } else {
        out += lit;
      }
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  if (!needsBig) return JSON.parse(text) as T;
  return JSON.parse(out, (_k, v) => (typeof v === 'string' && v.startsWith('\u0000big:') ? BigInt(v.slice(5)) : v)) as T;
}

/** JSON.stringify that writes bigint as bare digits (the inverse of parseHnsJson). */
export function stringifyHnsJson(value: unknown, space?: number): string {
  // Most documents carry no bigint: the native stringify without a replacer (a replacer function is called
  // for every value) refuses one with a TypeError, and only then is the marking pass taken.
  try {
    return JSON.stringify(value, undefined, space);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
  }
  const marks: string[] = [];
  const text = JSON.stringify(
    value,
    (_k, v) => {
      if (typeof v === 'bigint') {
        marks.push(v.toString());
        return `\u0000big:${marks.length - 1}`;
      }
      return v;
    },
    space,
  );
  if (marks.length === 0 || text === undefined) return text;
  return text.replace(/"\\u0000big:(\d+)"/g, (_m, idx: string) => marks[Number(idx)]);
}

/** A deep copy of a JSON document (bigint kept as bigint); functions and undefined are dropped as JSON drops them. */
export function cloneJson<T>(value: T): T {
  if (value === undefined) return value;
  const copy = copyJson(value, 0);
  return (copy === NOT_PLAIN ? parseHnsJson<T>(stringifyHnsJson(value)) : copy) as T;
}

/** copyJson met something JSON would transform (toJSON, a non-plain object, a cycle too deep): take the text round trip. */
const NOT_PLAIN = Symbol('not plain JSON');

/**
 * What a JSON round trip gives for plain data, without the text (a copy of a document is taken several
 * times per CNI call): objects and arrays copied, undefined, functions and symbols dropped from objects
 * and null in arrays, non-finite numbers null, bigint kept.
 */
function copyJson(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return v;
    case 'number':
      // An integer past 2^53 comes back from the text as a bigint (parseHnsJson): the text path keeps that.
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) return NOT_PLAIN;
      return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return null;
  if (depth > 256) return NOT_PLAIN;
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = copyJson(v[i], depth + 1);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out[i] = c === undefined ? null : c;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const c = copyJson((v as Record<string, unknown>)[k], depth + 1);
    if (c === NOT_PLAIN) return NOT_PLAIN;
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/** Case-insensitive property read, for code that must accept any HNS casing without normalizing first. */
export function getCI<T = unknown>(obj: unknown, key: string): T | undefined {
  if (obj === null || typeof obj !== 'object') return undefined;
  const rec = obj as Record<string, unknown>;
  if (key in rec) return rec[key] as T;
  const lower = key.toLowerCase();
  for (const k of Object.keys(rec)) if (k.toLowerCase() === lower) return rec[k] as T;
  return undefined;
}
