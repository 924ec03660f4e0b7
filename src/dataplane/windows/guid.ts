/**
 * GUIDs as the HCN C API takes them (`REFGUID` = pointer to a 16-byte struct: Data1 u32 LE, Data2 u16 LE,
 * Data3 u16 LE, Data4 8 bytes in written order) and as HNS writes them in JSON (upper-case text).
 */
import { HRESULT, HnsError } from '../../hns/errors';

export interface GuidStruct {
  Data1: number;
  Data2: number;
  Data3: number;
  Data4: number[];
}

const GUID_RE = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

export const ZERO_GUID: GuidStruct = Object.freeze({ Data1: 0, Data2: 0, Data3: 0, Data4: [0, 0, 0, 0, 0, 0, 0, 0] }) as GuidStruct;

export { isGuid } from '../../net/id';

/** Parses "01020304-0506-0708-090a-0b0c0d0e0f10" (braces allowed); `what` names the field for the error. */
export function parseGuid(text: string, what = 'ID'): GuidStruct {
  const m = GUID_RE.exec(text);
  if (!m) {
    throw new HnsError(
      HRESULT.HCN_E_GUID_CONVERSION_FAILURE,
      `${what} "${text}" is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`,
      { subject: what },
    );
  }
  const tail = m[4] + m[5];
  const data4: number[] = [];
  for (let i = 0; i < 16; i += 2) data4.push(parseInt(tail.slice(i, i + 2), 16));
  return { Data1: parseInt(m[1], 16) >>> 0, Data2: parseInt(m[2], 16), Data3: parseInt(m[3], 16), Data4: data4 };
}

export function formatGuid(g: GuidStruct): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  const d4 = g.Data4.map((b) => h(b, 2)).join('');
  return `${h(g.Data1 >>> 0, 8)}-${h(g.Data2, 4)}-${h(g.Data3, 4)}-${d4.slice(0, 4)}-${d4.slice(4)}`.toUpperCase();
}

/** The 16 bytes of the struct as they sit in memory (little-endian fields), for byte-level checks. */
export function guidBytes(g: GuidStruct): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(g.Data1 >>> 0, 0);
  b.writeUInt16LE(g.Data2, 4);
  b.writeUInt16LE(g.Data3, 6);
  Buffer.from(g.Data4).copy(b, 8);
  return b;
}
