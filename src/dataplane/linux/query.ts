/** HostComputeQuery filtering for list*(): every Filter key must match (IDs case-insensitively). */
import type { HostComputeQuery } from '../../hns';
import { getCI } from '../../hns';

/**
 * A predicate for `query`, its Filter parsed once (a CNI ADD lists endpoints by name on a node with many:
 * parsing the filter again for every document was most of that list's time).
 */
export function queryMatcher(query?: HostComputeQuery): (doc: object) => boolean {
  if (!query?.Filter) return () => true;
  let filter: Record<string, unknown>;
  try {
    filter = JSON.parse(query.Filter) as Record<string, unknown>;
  } catch {
    return () => false;
  }
  const wanted = Object.entries(filter).map(([k, want]) => [k, String(want).toLowerCase()] as const);
  return (doc) =>
    wanted.every(([k, want]) => {
      // v1 callers filter endpoints by VirtualNetwork; the v2 document calls it HostComputeNetwork.
      const have = getCI(doc, k) ?? (k.toLowerCase() === 'virtualnetwork' ? getCI(doc, 'HostComputeNetwork') : undefined);
      if (have === undefined) return false;
      return String(have).toLowerCase() === want;
    });
}
