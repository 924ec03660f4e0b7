/**
 * HNSCall has no query: the hns-v1 data plane lists everything and applies the HostComputeQuery Filter
 * itself, with the same rules the emulator and HNS use (keys case-insensitive, IDs compared as GUIDs,
 * the v1 name VirtualNetwork meaning the endpoint's network).
 */
import type { HostComputeQuery } from '../../../hns/query';
import { HRESULT, HnsError } from '../../../hns/errors';
import { getCI } from '../../../hns/json';
import { isGuid, sameGuid } from '../../../net/id';

const ALIASES: Record<string, string> = { virtualnetwork: 'HostComputeNetwork' };

export function parseFilter(query: HostComputeQuery | undefined, call: string): Record<string, unknown> {
  const raw = query?.Filter;
  if (raw === undefined || raw === null || raw === '') return {};
  let filter: unknown = raw;
  if (typeof raw === 'string') {
    try {
      filter = JSON.parse(raw);
    } catch {
      throw new HnsError(HRESULT.HCN_E_INVALID_JSON, `query Filter is not JSON: ${raw}`, { call });
    }
  }
  if (!filter || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new HnsError(HRESULT.HCN_E_INVALID_JSON, 'query Filter must be a JSON object such as {"Name":"cbr0"}', { call });
  }
  return filter as Record<string, unknown>;
}

export function matches(doc: unknown, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([key, expected]) => {
    const actual = getCI(doc, ALIASES[key.toLowerCase()] ?? key);
    if (typeof expected === 'string' && typeof actual === 'string' && isGuid(expected)) return sameGuid(actual, expected);
    if (typeof expected === 'boolean') return !!actual === expected;
    return (
      actual === expected ||
      (typeof actual === 'string' &&
        typeof expected === 'string' &&
        key.toLowerCase() === 'type' &&
        actual.toLowerCase() === expected.toLowerCase())
    );
  });
}
