/**
 * What the project knows about one HCN policy type, in one place (docs/hcn-model.md, "Policy registry"):
 * its settings keys, how the structural validator checks it, what HNS itself refuses (the emulator's checks),
 * the HNS feature it needs, its HNS v1 form and the example the CLI shows.
 */
import type { HnsFeature } from '../version';
import type { HresultName } from '../errors';
import type { HnsV1Policy } from '../v1';
import type { Checker, Rec } from './checker';

export type PolicyScope = 'network' | 'endpoint' | 'subnet';

/** A feature a document needs, and what in it needs it (for the message). */
export interface FeatureNeed {
  feature: HnsFeature;
  /** What in the request needs it, e.g. `RemoteSubnetRoute policy`. */
  what: string;
}

/** How HNS refuses a policy: `invalid` is HCN_E_INVALID_POLICY with the detail; `fail` names another HRESULT. */
export interface HnsRefusal {
  invalid(detail: string): never;
  fail(code: HresultName, detail: string): never;
}

/** The HNS v1 (HNSCall) form of a policy: flat `{Type, ...fields}` instead of `{Type, Settings}`. */
export interface V1Form {
  /** The v1 Type string (matched case-insensitively), e.g. `NAT` for PortMapping. */
  type: string;
  /** v1 → v2; absent: fields move into Settings unchanged. */
  toV2?: (p: HnsV1Policy) => { Type: string; Settings: Rec };
  /** v2 settings → v1; absent: settings are flattened unchanged. */
  toV1?: (settings: Rec) => HnsV1Policy;
  /**
   * What in these v2 settings the v1 type cannot carry (hcsshim's v1 structs), as `Field (why)`; undefined
   * when the v1 form says everything. The hns-v1 data plane refuses such a policy instead of dropping it.
   */
  unsupported?: (settings: Rec) => string | undefined;
}

/** Network policies v1 carries as a top-level network field (NetworkAdapterName, ManagementIP, ...). */
export interface V1NetworkField {
  /** Reads the v1 network's field; undefined when the network does not carry it. */
  fromV1: (n: unknown) => Rec | undefined;
  /** Writes the v2 settings onto the v1 network document. */
  toV1: (settings: Rec, out: Record<string, unknown>) => void;
}

export interface PolicyDescriptor {
  /** The Type string as hcsshim spells it (what we send; HNS matches case-insensitively). */
  readonly type: string;
  /**
   * Settings keys whose spelling is canonicalized on input (src/hns/json.ts normalizeKeys). Keys whose
   * spelling differs between sources (L4Proxy's OutboundNat/OutboundNAT) are left out on purpose.
   */
  readonly keys: readonly string[];
  /** Structural check of Settings (field paths under `path`); absent: any object is accepted. */
  readonly check?: (c: Checker, path: string, settings: Rec) => void;
  /** What HNS refuses beyond the structure (the emulator applies it). */
  readonly hnsCheck?: (settings: Rec, refuse: HnsRefusal) => void;
  /** The HNS feature the policy type needs at all. */
  readonly feature?: HnsFeature;
  /** The scopes where HNS gates the type on `feature` (default: every scope the type is in). */
  readonly featureScopes?: readonly PolicyScope[];
  /** Features particular settings need (NESTEDIPSET, loopback DSR). */
  readonly needs?: (settings: Rec) => FeatureNeed[];
  /** Endpoint- and subnet-policy v1 form. */
  readonly v1?: V1Form;
  /** Network-policy v1 form as a network field. */
  readonly v1Network?: V1NetworkField;
  /** Settings the CLI shows in its --policy help. */
  readonly example?: Rec;
}

/** The feature a policy type is gated on in this scope, if any. */
export function gatingFeature(d: PolicyDescriptor, scope: PolicyScope): HnsFeature | undefined {
  return d.feature && (!d.featureScopes || d.featureScopes.includes(scope)) ? d.feature : undefined;
}

export function settingsOf(p: { Settings?: unknown } | undefined): Rec {
  return p?.Settings && typeof p.Settings === 'object' ? (p.Settings as Rec) : {};
}
