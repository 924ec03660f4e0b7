/** HostComputeQuery filtering for list*(): every Filter key must match (IDs case-insensitively). */
import type { HostComputeQuery } from '../../hns';
import { getCI } from '../../hns';

export function matchesQuery(doc: object, query?: HostComputeQuery): boolean {
  if (!query?.Filter) return true;
  let filter: Record<string, unknown>;
  try {
    filter = JSON.parse(query.Filter) as Record<string, unknown>;
  } catch {
    return false;
  }
  return Object.entries(filter).every(([k, want]) => {
    // v1 callers filter endpoints by VirtualNetwork; the v2 document calls it HostComputeNetwork.
    const have = getCI(doc, k) ?? (k.toLowerCase() === 'virtualnetwork' ? getCI(doc, 'HostComputeNetwork') : undefined);
    if (have === undefined) return false;
    return String(have).toLowerCase() === String(want).toLowerCase();
  });
}
