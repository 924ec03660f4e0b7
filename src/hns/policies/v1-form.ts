/** Helpers for the v1 forms of policies (flat `{Type, ...fields}`), shared by descriptors and src/hns/convert.ts. */
import type { HnsV1Policy } from '../v1';
import type { Rec } from './checker';

/** Drops undefined values so converted documents carry only what the source had. */
export function clean<T extends Rec>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Moves every field but Type into Settings (the generic pass-through). */
export function wrap(p: HnsV1Policy, type = p.Type): { Type: string; Settings: Rec } {
  const { Type: _t, ...rest } = p;
  return { Type: type, Settings: { ...rest } };
}

export function flatten(p: { Type: string; Settings?: unknown }, type = p.Type): HnsV1Policy {
  const s = p.Settings && typeof p.Settings === 'object' ? (p.Settings as Rec) : {};
  return { ...s, Type: type };
}

export const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
export const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

const PROTOCOL_BY_NAME: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv4: 1, icmpv6: 58, igmp: 2 };
const NAME_BY_PROTOCOL: Record<number, string> = { 6: 'tcp', 17: 'udp' };

/** v1 NAT Protocol ("tcp", "UDP", "6", 6) → HCN protocol number; undefined when it is not one. */
export function protocolNumber(p: unknown): number | undefined {
  if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 255) return p;
  if (typeof p !== 'string') return undefined;
  const s = p.trim().toLowerCase();
  if (/^\d{1,3}$/.test(s) && Number(s) <= 255) return Number(s);
  return PROTOCOL_BY_NAME[s];
}

export function protocolName(n: number): string {
  return NAME_BY_PROTOCOL[n] ?? String(n);
}
