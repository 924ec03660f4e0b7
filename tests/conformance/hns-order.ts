/**
 * The member order of the v2 documents HNS hands back: HNS serialises its schema objects, so a query result has
 * the schema's members in the schema's order whatever order the create document used, and no member the schema
 * lacks. hcsshim's hcn structs (hcn/hcnnetwork.go, hcnendpoint.go, hcnnamespace.go, hcnloadbalancer.go) give
 * the order of the members they model; the HNS_Schema Base members they do not (Owner, Version,
 * AdditionalParams, State) are placed as the stub places them (native/hcnstub/reserialise.c).
 */
export const HNS_ORDER = {
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
} as const;

/** The members of doc that HNS's order knows, in the order doc has them; throws on a member it does not know. */
export function schemaKeys(kind: keyof typeof HNS_ORDER, doc: object): string[] {
  const known: readonly string[] = HNS_ORDER[kind];
  const keys = Object.keys(doc);
  const unknown = keys.filter((k) => !known.includes(k));
  if (unknown.length)
    throw new Error(
      `${kind} document has members the HNS schema lacks: ${unknown.join(', ')} in ${JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
  return keys;
}

/** keys sorted by HNS's order (what a re-serialised document must already be). */
export function inHnsOrder(kind: keyof typeof HNS_ORDER, keys: string[]): string[] {
  const known: readonly string[] = HNS_ORDER[kind];
  return [...keys].sort((a, b) => known.indexOf(a) - known.indexOf(b));
}
