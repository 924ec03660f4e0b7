/**
 * GUIDs and object IDs. HNS reports GUIDs upper case without braces and matches them case-insensitively
 * (braces allowed); names and other IDs (container IDs, policy types) compare case-insensitively too.
 */
import { randomUUID } from 'node:crypto';

const GUID_RE = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i;

export function isGuid(s: unknown): s is string {
  return typeof s === 'string' && GUID_RE.test(s);
}

/** HNS's spelling of a GUID: upper case, no braces. */
export function normalizeGuid(s: string): string {
  return s.replace(/^\{|\}$/g, '').toUpperCase();
}

/** A new random GUID in HNS's spelling. */
export const newGuid = (): string => randomUUID().toUpperCase();

/** GUIDs compare case-insensitively with braces ignored; false when either is missing or empty. */
export function sameGuid(a: unknown, b: unknown): boolean {
  return (
    typeof a === 'string' &&
    typeof b === 'string' &&
    a !== '' &&
    b !== '' &&
    a.replace(/^\{|\}$/g, '').toLowerCase() === b.replace(/^\{|\}$/g, '').toLowerCase()
  );
}

/** A GUID's hex digits only, lower case: the stem of kernel names derived from an object ID (`syb<first 10>`). */
export function compactGuid(id: string): string {
  return id.replace(/-/g, '').toLowerCase();
}

/** IDs and names HNS matches without regard to case; false when either is missing or empty. */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}
