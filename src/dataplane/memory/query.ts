/**
 * HostComputeQuery handling: `Filter` is a JSON string inside the JSON (docs/hcn-model.md), keys match
 * case-insensitively, IDs compare as GUIDs, and `SchemaVersion {1,0}` asks for v1-shaped output.
 */
import { getCI, type HostComputeQuery } from '../../hns';
import { sameGuid } from './lookup';
import { fail, isGuid, type Ctx } from './validate';

type Doc = Record<string, unknown>;

export function parseQuery(query: HostComputeQuery | undefined, ctx: Ctx): { filter: Doc; v1: boolean } {
  if (!query) return { filter: {}, v1: false };
  const sv = getCI<{ Major?: number }>(query, 'SchemaVersion');
  const raw = getCI<unknown>(query, 'Filter');
  if (sv === undefined && raw === undefined && getCI(query, 'Flags') === undefined) {
    // The older WS-docs form: a bare filter object passed as the query.
    return { filter: query as unknown as Doc, v1: false };
  }
  let filter: Doc = {};
  if (typeof raw === 'string' && raw.trim() !== '') {
    try {
      filter = JSON.parse(raw) as Doc;
    } catch {
      fail('HCN_E_INVALID_JSON', ctx, `(query Filter is not JSON: ${raw})`);
    }
    if (!filter || typeof filter !== 'object' || Array.isArray(filter))
      fail('HCN_E_INVALID_JSON', ctx, '(query Filter must be a JSON object)');
  } else if (raw && typeof raw === 'object') {
    filter = raw as Doc;
  }
  return { filter, v1: getCI<number>(sv, 'Major') === 1 };
}

const ID_KEYS = new Set(['id', 'hostcomputenetwork', 'virtualnetwork', 'hostcomputenamespace']);

function valueMatches(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'string')
    return typeof actual === 'string' && (isGuid(expected) ? sameGuid(actual, expected) : actual === expected);
  if (typeof expected === 'boolean') return !!actual === expected;
  return actual === expected;
}

export function filterList<T extends Doc>(
  items: T[],
  filter: Doc,
  special: (item: T, key: string, expected: unknown) => boolean | undefined,
): T[] {
  const keys = Object.keys(filter);
  if (!keys.length) return items;
  return items.filter((item) =>
    keys.every((k) => {
      const expected = filter[k];
      const r = special(item, k.toLowerCase(), expected);
      if (r !== undefined) return r;
      if (ID_KEYS.has(k.toLowerCase())) return sameGuid(getCI(item, k), expected);
      return valueMatches(getCI(item, k), expected);
    }),
  );
}
