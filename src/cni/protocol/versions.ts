/**
 * CNI spec versions as the reference library (containernetworking/cni v1.3.0 pkg/version) knows them.
 * Matching of a config's cniVersion is by exact string; ordering uses numeric comparison of the parts.
 */

export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof ALL_VERSIONS)[number];

export class VersionParseError extends Error {}

/** pkg/version ParseVersion: empty means 0.1.0; up to three numeric parts. */
export function parseVersion(v: string): [number, number, number] {
  const text = v === '' ? '0.1.0' : v;
  const parts = text.split('.');
  if (parts.length > 3) throw new VersionParseError(`invalid version "${text}": too many parts`);
  const out: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < parts.length; i++) {
    if (!/^\d+$/.test(parts[i])) throw new VersionParseError(`failed to convert version part "${parts[i]}" of "${text}"`);
    out[i] = Number(parts[i]);
  }
  return out;
}

export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

export const gte = (a: string, b: string): boolean => compareVersions(a, b) >= 0;

/** Result family a version prints as. */
export function resultFamily(v: string): '020' | '040' | '100' {
  const n = v === '' ? '0.1.0' : v;
  if (n === '0.1.0' || n === '0.2.0') return '020';
  if (n === '0.3.0' || n === '0.3.1' || n === '0.4.0') return '040';
  return '100';
}
