/**
 * What the memory emulator and the linux plane hand back for a v2 query, as HNS does: HNS parses a create
 * document into its schema objects and serialises them, so a caller gets the schema's members in the schema's
 * order and nothing the schema lacks, whatever the create document held. The stored documents keep what they
 * were given (internal bookkeeping lives there); only the returned object is rebuilt. The order is the field
 * order of hcsshim's hcn structs, with the HNS_Schema Base members hcsshim does not model placed as the stub
 * library places them (native/hcnstub/reserialise.c), so every plane answers alike.
 */
const ORDER = {
  network: [
    'ID',
    'Name',
    'Owner',
    'Version',
    'AdditionalParams',
    'Type',
    'Policies',
    'MacPool',
    'Dns',
    'Ipams',
    'Flags',
    'Health',
    'SchemaVersion',
    'State',
  ],
  endpoint: [
    'ID',
    'Name',
    'Owner',
    'Version',
    'AdditionalParams',
    'HostComputeNetwork',
    'HostComputeNamespace',
    'Policies',
    'IpConfigurations',
    'Dns',
    'Routes',
    'MacAddress',
    'Flags',
    'Health',
    'SchemaVersion',
    'State',
  ],
  namespace: [
    'ID',
    'Name',
    'Owner',
    'Version',
    'AdditionalParams',
    'NamespaceId',
    'NamespaceGuid',
    'Type',
    'Resources',
    'Health',
    'SchemaVersion',
    'ReadyOnCreate',
    'State',
  ],
  loadBalancer: [
    'ID',
    'Name',
    'Owner',
    'Version',
    'AdditionalParams',
    'HostComputeEndpoints',
    'SourceVIP',
    'FrontendVIPs',
    'PortMappings',
    'Health',
    'SchemaVersion',
    'Flags',
    'State',
  ],
} as const;

export type HnsKind = keyof typeof ORDER;

/** The schema members of doc in HNS's order (a new object; values shared, callers clone). */
export function hnsView<T extends object>(kind: HnsKind, doc: T): T {
  const src = doc as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of ORDER[kind]) if (src[key] !== undefined) out[key] = src[key];
  return out as T;
}
