/** HostComputeQuery (docs/hcn-model.md, "Queries and HNS v1"). `Filter` is a JSON *string* inside the JSON. */
import { SCHEMA_V2, type SchemaVersion } from './schema';

export const QueryFlags = { None: 0, Detailed: 1 } as const;

export interface HostComputeQuery {
  SchemaVersion: SchemaVersion;
  Flags: number;
  Filter?: string;
}

/** Filters seen in practice: ID, Name, VirtualNetwork (v1 name for endpoints of a network), IsDefault, ... */
export type QueryFilter = Record<string, string | number | boolean>;

export function buildQuery(filter?: QueryFilter, flags: number = QueryFlags.None, schema: SchemaVersion = SCHEMA_V2): HostComputeQuery {
  const q: HostComputeQuery = { SchemaVersion: { ...schema }, Flags: flags };
  if (filter && Object.keys(filter).length > 0) q.Filter = JSON.stringify(filter);
  return q;
}
