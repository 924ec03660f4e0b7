/**
 * Field-path checking shared by the structural validator (src/hns/validate.ts) and the policy descriptors:
 * each problem is recorded with the path of the field at fault and how to fix it, e.g.
 *   Policies[0].Settings.DestinationPrefix: "10.0.0.0/33" is not a valid CIDR prefix (e.g. "10.244.1.0/24")
 */
import { isCidr, isIp } from '../../net/ip';
import { isMac } from '../../net/mac';
import { isGuid } from '../../net/id';

export interface ValidationIssue {
  /** Field path inside the document, e.g. `Ipams[0].Subnets[0].IpAddressPrefix` ('' = the document). */
  path: string;
  message: string;
}

/** How a value reads in a message: `the string "x"`, `an object`, `number 3`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'bigint') return `the number ${v}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

const EXAMPLE_CIDR = '"10.244.1.0/24"';
const EXAMPLE_IP = '"10.244.1.1"';
const EXAMPLE_MAC = '"00-15-5D-52-C0-00"';

export type Rec = Record<string, unknown>;
export const isObj = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);

export class Checker {
  readonly issues: ValidationIssue[] = [];
  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  object(path: string, v: unknown): v is Rec {
    if (isObj(v)) return true;
    this.add(path, `must be an object, got ${describeValue(v)}`);
    return false;
  }
  array(path: string, v: unknown): v is unknown[] {
    if (Array.isArray(v)) return true;
    this.add(path, `must be an array, got ${describeValue(v)}`);
    return false;
  }
  string(path: string, v: unknown, nonEmpty = false): v is string {
    if (typeof v !== 'string') {
      this.add(path, v === undefined ? 'is missing: it must be a string' : `must be a string, got ${describeValue(v)}`);
      return false;
    }
    if (nonEmpty && v.trim() === '') {
      this.add(path, 'must not be empty');
      return false;
    }
    return true;
  }
  boolean(path: string, v: unknown): void {
    if (typeof v !== 'boolean') this.add(path, `must be true or false, got ${describeValue(v)}`);
  }
  integer(path: string, v: unknown, min: number, max: number | bigint): void {
    const ok = (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
    if (!ok || (v as number | bigint) < min || (v as number | bigint) > max) {
      this.add(path, `must be an integer from ${min} to ${max}, ${v === undefined ? 'but it is missing' : 'got ' + describeValue(v)}`);
    }
  }
  ip(path: string, v: unknown, allowEmpty = false): void {
    if (allowEmpty && v === '') return;
    if (!isIp(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not a valid IP address (e.g. ${EXAMPLE_IP})`);
  }
  cidr(path: string, v: unknown): void {
    if (!isCidr(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not a valid CIDR prefix (e.g. ${EXAMPLE_CIDR})`);
  }
  ipOrCidr(path: string, v: unknown): void {
    if (!isIp(v) && !isCidr(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not an IP address or CIDR prefix`);
  }
  mac(path: string, v: unknown): void {
    if (!isMac(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not a MAC address (e.g. ${EXAMPLE_MAC})`);
  }
  guid(path: string, v: unknown): void {
    if (!isGuid(v))
      this.add(path, `${describeValue(v).replace(/^the string /, '')} is not a GUID (e.g. "9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10")`);
  }
  oneOf(path: string, v: unknown, allowed: readonly string[]): void {
    if (v === undefined) {
      this.add(path, `is missing: use one of ${allowed.join(', ')}`);
    } else if (typeof v !== 'string' || !allowed.some((a) => a.toLowerCase() === v.toLowerCase())) {
      this.add(path, `${describeValue(v).replace(/^the string /, '')} is not one of ${allowed.join(', ')}`);
    }
  }
  /** Comma-separated lists as ACLs carry them ("80,8080", "10.0.0.0/8,10.0.0.21"). */
  commaList(path: string, v: unknown, each: (item: string) => boolean, what: string): void {
    if (!this.string(path, v)) return;
    if (v === '' || v === '*') return;
    const bad = v
      .split(',')
      .map((x) => x.trim())
      .filter((x) => !each(x));
    if (bad.length > 0) this.add(path, `${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not ${what}`);
  }
}

export const UINT16 = 65535;
export const UINT32 = 4294967295;
export const UINT64 = 18446744073709551615n;
export const isPort = (s: string) => /^\d{1,5}$/.test(s) && Number(s) <= UINT16;
export const isPortOrRange = (s: string) => {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(s);
  return isPort(s) || (!!m && Number(m[1]) <= Number(m[2]) && Number(m[2]) <= UINT16);
};
export const isProtocolNumber = (s: string) => /^\d{1,3}$/.test(s) && Number(s) <= 255;

/** `a.b`, `a[0]`: the path of a field inside `path`. */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}
