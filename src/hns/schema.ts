/**
 * Base pieces shared by every HCN v2 document (HNS_Schema `Base`).
 * Field names are HNS's own spelling; HNS output drifts in casing, which json.ts normalizes on parse.
 */

/** uint64 fields (Health.LastUpdateTime, InterfaceLuid, Version) exceed 2^53; they are kept as bigint when large. */
export type Uint64 = number | bigint;

export interface SchemaVersion {
  Major: number;
  Minor: number;
}

export const SCHEMA_V2: SchemaVersion = Object.freeze({ Major: 2, Minor: 0 }) as SchemaVersion;
export const SCHEMA_V1: SchemaVersion = Object.freeze({ Major: 1, Minor: 0 }) as SchemaVersion;

export interface Health {
  Data?: unknown;
  Extra?: {
    Resources?: unknown;
    SharedContainers?: string[];
    LayeredOn?: string;
    SwitchGuid?: string;
    UtilityVM?: string;
    VirtualMachine?: string;
    [k: string]: unknown;
  };
  LastUpdateTime?: Uint64;
  [k: string]: unknown;
}

export interface HcnBase {
  ID?: string;
  Name?: string;
  Owner?: string;
  Version?: Uint64;
  AdditionalParams?: unknown;
  Health?: Health;
  SchemaVersion?: SchemaVersion;
  State?: number;
}

/** A `{Type, Settings}` policy as HCN v2 carries it on networks, endpoints and subnets. */
export interface HcnPolicy<T extends string = string, S = Record<string, unknown>> {
  Type: T;
  Settings?: S;
}

export interface Route {
  NextHop?: string;
  DestinationPrefix?: string;
  Metric?: number;
}

export interface Dns {
  Domain?: string;
  Search?: string[];
  ServerList?: string[];
  Options?: string[];
}

/** HCN protocol numbers (PortMapping, LB port mappings, ACL Protocols as strings). */
export const Protocol = {
  Unknown: 0,
  ICMPv4: 1,
  IGMP: 2,
  TCP: 6,
  UDP: 17,
  ICMPv6: 58,
} as const;
