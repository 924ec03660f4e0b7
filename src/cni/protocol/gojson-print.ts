/**
 * JSON output byte-compatible with Go's encoding/json as the CNI library uses it: MarshalIndent with a
 * 4-space indent (no trailing newline) and Marshal (compact); both escape <, >, & and U+2028/2029.
 */

function goEscape(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

export function goMarshalIndent(value: unknown): string {
  return goEscape(JSON.stringify(value, null, 4));
}

export function goMarshal(value: unknown): string {
  return goEscape(JSON.stringify(value));
}

/** Deep copy with object keys sorted byte-wise, as Go's encoder does for maps. */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => sortKeysDeep(v)) as unknown as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value as object).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
  }
  return out as T;
}
