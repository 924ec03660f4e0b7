/**
 * MAC addresses in both spellings: HNS writes `00-15-5D-01-02-03` (dashes, upper case), the kernel and Go's
 * net.HardwareAddr `00:15:5d:01:02:03`. Either is accepted, never a mix; they compare by value.
 */
const MAC_RE = /^[0-9a-f]{2}([-:])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

export function isMac(s: unknown): s is string {
  return typeof s === 'string' && MAC_RE.test(s);
}

/** The HNS form: dashes, upper case. */
export function toHnsMac(mac: string): string {
  return mac.replace(/:/g, '-').toUpperCase();
}

/** The kernel form: colons, lower case. */
export function toKernelMac(mac: string): string {
  return mac.replace(/-/g, ':').toLowerCase();
}

/** A value to compare MACs by: "00-15-5D-01-02-03" and "00:15:5d:01:02:03" give the same key. */
export function macKey(mac: string): string {
  return mac.replace(/[-:]/g, '').toLowerCase();
}

export function sameMac(a: unknown, b: unknown): boolean {
  return isMac(a) && isMac(b) && macKey(a) === macKey(b);
}
