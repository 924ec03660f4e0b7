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
  return parseHnsJson<T>(stringifyHnsJson(value));
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
