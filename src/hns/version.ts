/**
 * HNS service version → supported features (docs/hcn-model.md "Versions and features", hcsshim hcnsupport.go).
 * The version is read at runtime (GET /globals/version) and never mapped from the OS build.
 */

export interface HnsVersion {
  Major: number;
  Minor: number;
}

/** An inclusive range; `max` undefined = no upper bound. */
interface VersionRange {
  min: HnsVersion;
  max?: HnsVersion;
}

const r = (minMajor: number, minMinor: number, maxMajor?: number, maxMinor?: number): VersionRange => ({
  min: { Major: minMajor, Minor: minMinor },
  max: maxMajor === undefined ? undefined : { Major: maxMajor, Minor: maxMinor ?? Number.MAX_SAFE_INTEGER },
});
const ANY_MINOR = Number.MAX_SAFE_INTEGER;

export const FEATURE_RANGES = {
  'Api.V1': [r(0, 0)],
  'Api.V2': [r(9, 2)],
  'ACL.AclAddressLists': [r(7, 2)],
  'ACL.AclHostRulePriority': [r(7, 2)],
  'ACL.AclPortRanges': [r(7, 2)],
  'ACL.AclRuleId': [r(7, 2)],
  RemoteSubnet: [r(9, 2)],
  HostRoute: [r(9, 2)],
  DSR: [r(9, 3, 9, ANY_MINOR), r(10, 2)],
  Slash32EndpointPrefixes: [r(9, 3, 9, ANY_MINOR), r(10, 4)],
  VxlanPort: [r(10, 3)],
  AclSupportForProtocol252: [r(11, 0)],
  IPv6DualStack: [r(11, 10)],
  SessionAffinity: [r(12, 0)],
  L4Proxy: [r(9, 5, 9, ANY_MINOR), r(10, 5, 10, ANY_MINOR), r(11, 11, 11, ANY_MINOR), r(12, 1, 12, ANY_MINOR), r(13, 1)],
  SetPolicy: [r(13, 0)],
  L4WfpProxy: [r(13, 2)],
  TierAcl: [r(14, 0)],
  NetworkACL: [r(15, 0)],
  NestedIpSet: [r(15, 0)],
  DisableHostPort: [r(15, 1)],
  ModifyLoadbalancer: [r(15, 4)],
  Accelnet: [r(15, 4)],
} as const satisfies Record<string, VersionRange[]>;

export type HnsFeature = keyof typeof FEATURE_RANGES;
export type HnsFeatures = Record<HnsFeature, boolean>;

export function compareVersions(a: HnsVersion, b: HnsVersion): number {
  return a.Major !== b.Major ? a.Major - b.Major : a.Minor - b.Minor;
}

function inRange(v: HnsVersion, range: VersionRange): boolean {
  return compareVersions(v, range.min) >= 0 && (range.max === undefined || compareVersions(v, range.max) <= 0);
}

export function featuresFor(v: HnsVersion): HnsFeatures {
  const out = {} as HnsFeatures;
  for (const [name, ranges] of Object.entries(FEATURE_RANGES) as [HnsFeature, readonly VersionRange[]][]) {
    out[name] = ranges.some((range) => inRange(v, range));
  }
  return out;
}

export function supports(v: HnsVersion, feature: HnsFeature): boolean {
  return FEATURE_RANGES[feature].some((range: VersionRange) => inRange(v, range));
}

/** The lowest HNS version that has a feature, for "needs HNS x.y (Windows ...)" messages. */
export function minimumVersion(feature: HnsFeature): HnsVersion {
  return FEATURE_RANGES[feature][0].min;
}

/** Known OS anchors, for error messages only (never used to decide a feature). */
export const HNS_VERSION_ANCHORS: { version: HnsVersion; windows: string }[] = [
  { version: { Major: 7, Minor: 2 }, windows: 'Windows 10 / Server 1803' },
  { version: { Major: 9, Minor: 2 }, windows: 'Windows Server 2019 (1809, build 17763) with the Remote Subnet update' },
  { version: { Major: 11, Minor: 10 }, windows: 'Windows Server 2004 (build 19041)' },
];

/** The version the emulator reports by default: Windows Server 2022-like, every feature present. */
export const DEFAULT_EMULATED_VERSION: HnsVersion = { Major: 15, Minor: 4 };

export function formatVersion(v: HnsVersion): string {
  return `${v.Major}.${v.Minor}`;
}
