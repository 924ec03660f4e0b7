/**
 * HRESULTs HNS/HCN return and how Switchyard classifies them (docs/hcn-model.md, "HRESULTs").
 * Every data plane raises HnsError with one of these codes, so callers (CNI, agent, CLI) can tell
 * "absent" from "HNS failed" — the distinction whose absence hurts calico (#9142).
 */

export const HRESULT = {
  S_OK: 0x00000000,
  E_NOTIMPL: 0x80004001,
  E_FAIL: 0x80004005,
  E_INVALIDARG: 0x80070057,
  ERROR_GEN_FAILURE: 0x8007001f,
  ERROR_NOT_FOUND: 0x80070490,
  ERROR_OBJECT_ALREADY_EXISTS: 0x80071392,
  ERROR_ALREADY_EXISTS: 0x800700b7,
  ERROR_DUP_NAME: 0x80070034,
  ERROR_TIMEOUT: 0x800705b4,
  HCN_E_NETWORK_NOT_FOUND: 0x803b0001,
  HCN_E_ENDPOINT_NOT_FOUND: 0x803b0002,
  HCN_E_LAYER_NOT_FOUND: 0x803b0003,
  /** HCS (vmcompute.dll compute systems): hcsshim ErrComputeSystemDoesNotExist, ErrInvalidData-like JSON refusal. */
  HCS_E_SYSTEM_NOT_FOUND: 0xc037010e,
  HCS_E_INVALID_JSON: 0xc037010d,
  HCS_E_SYSTEM_ALREADY_EXISTS: 0xc037010f,
  E_HANDLE: 0x80070006,
  HCN_E_SWITCH_NOT_FOUND: 0x803b0004,
  HCN_E_SUBNET_NOT_FOUND: 0x803b0005,
  HCN_E_ADAPTER_NOT_FOUND: 0x803b0006,
  HCN_E_PORT_NOT_FOUND: 0x803b0007,
  HCN_E_POLICY_NOT_FOUND: 0x803b0008,
  HCN_E_VFP_PORTSETTING_NOT_FOUND: 0x803b0009,
  HCN_E_INVALID_NETWORK: 0x803b000a,
  HCN_E_INVALID_NETWORK_TYPE: 0x803b000b,
  HCN_E_INVALID_ENDPOINT: 0x803b000c,
  HCN_E_INVALID_POLICY: 0x803b000d,
  HCN_E_INVALID_POLICY_TYPE: 0x803b000e,
  HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION: 0x803b000f,
  HCN_E_NETWORK_ALREADY_EXISTS: 0x803b0010,
  HCN_E_LAYER_ALREADY_EXISTS: 0x803b0011,
  HCN_E_POLICY_ALREADY_EXISTS: 0x803b0012,
  HCN_E_PORT_ALREADY_EXISTS: 0x803b0013,
  HCN_E_ENDPOINT_ALREADY_ATTACHED: 0x803b0014,
  HCN_E_REQUEST_UNSUPPORTED: 0x803b0015,
  HCN_E_MAPPING_NOT_SUPPORTED: 0x803b0016,
  HCN_E_DEGRADED_OPERATION: 0x803b0017,
  HCN_E_SHARED_SWITCH_MODIFICATION: 0x803b0018,
  HCN_E_GUID_CONVERSION_FAILURE: 0x803b0019,
  HCN_E_REGKEY_FAILURE: 0x803b001a,
  HCN_E_INVALID_JSON: 0x803b001b,
  HCN_E_INVALID_JSON_REFERENCE: 0x803b001c,
  HCN_E_ENDPOINT_SHARING_DISABLED: 0x803b001d,
  HCN_E_INVALID_IP: 0x803b001e,
  HCN_E_SWITCH_EXTENSION_NOT_FOUND: 0x803b001f,
  HCN_E_MANAGER_STOPPED: 0x803b0020,
  HCN_E_ICS_DISABLED: 0x803b002a,
  HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS: 0x803b002b,
  HCN_E_ENTITY_HAS_REFERENCES: 0x803b002c,
  HCN_E_INVALID_INTERNAL_PORT: 0x803b002d,
  HCN_E_NAMESPACE_ATTACH_FAILED: 0x803b002e,
  HCN_E_ADDR_INVALID_OR_RESERVED: 0x803b002f,
  HCN_E_INVALID_PREFIX: 0x803b0030,
  HCN_E_OBJECT_USED_AFTER_UNLOAD: 0x803b0031,
  HCN_E_INVALID_SUBNET: 0x803b0032,
  HCN_E_INVALID_IP_SUBNET: 0x803b0033,
  HCN_E_ENDPOINT_NOT_ATTACHED: 0x803b0034,
  HCN_E_ENDPOINT_NOT_LOCAL: 0x803b0035,
  HCN_INTERFACEPARAMETERS_ALREADY_APPLIED: 0x803b0036,
  HCN_E_VFP_NOT_ALLOWED: 0x803b0037,
} as const;
export type HresultName = keyof typeof HRESULT;

/** The text HNS puts in ErrorRecord.Error for the codes we emulate (trailing space as HNS writes it). */
export const HRESULT_MESSAGES: Partial<Record<number, string>> = {
  [HRESULT.E_INVALIDARG]: 'The parameter is incorrect. ',
  [HRESULT.E_NOTIMPL]: 'Not implemented. ',
  [HRESULT.ERROR_NOT_FOUND]: 'Element not found. ',
  [HRESULT.ERROR_OBJECT_ALREADY_EXISTS]: 'The object already exists. ',
  [HRESULT.ERROR_TIMEOUT]: 'This operation returned because the timeout period expired. ',
  [HRESULT.HCN_E_NETWORK_NOT_FOUND]: 'The network was not found. ',
  [HRESULT.HCN_E_ENDPOINT_NOT_FOUND]: 'The endpoint was not found. ',
  [HRESULT.HCN_E_SUBNET_NOT_FOUND]: 'The network does not have a subnet for this endpoint. ',
  [HRESULT.HCN_E_ADAPTER_NOT_FOUND]: 'An adapter was not found. ',
  [HRESULT.HCN_E_POLICY_NOT_FOUND]: 'The expected policy was not found. ',
  [HRESULT.HCN_E_INVALID_NETWORK]: 'The network configuration is invalid. ',
  [HRESULT.HCN_E_INVALID_NETWORK_TYPE]: 'Invalid network type. ',
  [HRESULT.HCN_E_INVALID_ENDPOINT]: 'The endpoint configuration is invalid. ',
  [HRESULT.HCN_E_INVALID_POLICY]: 'The policy configuration is invalid. ',
  [HRESULT.HCN_E_INVALID_POLICY_TYPE]: 'Invalid policy type. ',
  [HRESULT.HCN_E_NETWORK_ALREADY_EXISTS]: 'A network with this name already exists. ',
  [HRESULT.HCN_E_POLICY_ALREADY_EXISTS]: 'The policy already exists. ',
  [HRESULT.HCN_E_PORT_ALREADY_EXISTS]: 'The specified port already exists. ',
  [HRESULT.HCN_E_ENDPOINT_ALREADY_ATTACHED]: 'This endpoint is already attached to the switch. ',
  [HRESULT.HCN_E_REQUEST_UNSUPPORTED]: 'The request is not supported. ',
  [HRESULT.HCN_E_GUID_CONVERSION_FAILURE]: 'The parameter is not a GUID. ',
  [HRESULT.HCN_E_INVALID_JSON]: 'The JSON document is invalid. ',
  [HRESULT.HCN_E_INVALID_JSON_REFERENCE]: 'The JSON reference is invalid. ',
  [HRESULT.HCN_E_INVALID_IP]: 'The IP address is invalid or not in any subnet of the network. ',
  [HRESULT.HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS]: 'The endpoint is already in a namespace. ',
  [HRESULT.HCN_E_ENTITY_HAS_REFERENCES]: 'The entity still has references. ',
  [HRESULT.HCN_E_INVALID_INTERNAL_PORT]: 'The internal port must be specified. ',
  [HRESULT.HCN_E_ADDR_INVALID_OR_RESERVED]: 'An address provided is invalid or reserved. ',
  [HRESULT.HCN_E_INVALID_PREFIX]: 'The prefix is invalid. ',
  [HRESULT.HCN_E_INVALID_SUBNET]: 'The subnet configuration is invalid. ',
  [HRESULT.HCN_E_ENDPOINT_NOT_ATTACHED]: 'The endpoint must be attached. ',
};

export type HnsErrorClass =
  | 'not-found'
  | 'already-exists'
  | 'already-attached'
  | 'port-in-use'
  | 'invalid-json'
  | 'bad-input'
  | 'in-use'
  | 'unsupported'
  | 'timeout'
  | 'unavailable'
  | 'failure';

const CLASS_BY_CODE = new Map<number, HnsErrorClass>([
  [HRESULT.ERROR_NOT_FOUND, 'not-found'],
  [HRESULT.HCN_E_NETWORK_NOT_FOUND, 'not-found'],
  [HRESULT.HCN_E_ENDPOINT_NOT_FOUND, 'not-found'],
  [HRESULT.HCN_E_PORT_NOT_FOUND, 'not-found'],
  [HRESULT.HCN_E_POLICY_NOT_FOUND, 'not-found'],
  [HRESULT.HCS_E_SYSTEM_NOT_FOUND, 'not-found'],
  [HRESULT.HCS_E_INVALID_JSON, 'invalid-json'],
  [HRESULT.HCN_E_NETWORK_ALREADY_EXISTS, 'already-exists'],
  [HRESULT.HCN_E_LAYER_ALREADY_EXISTS, 'already-exists'],
  [HRESULT.HCN_E_POLICY_ALREADY_EXISTS, 'already-exists'],
  [HRESULT.HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, 'already-exists'],
  [HRESULT.ERROR_OBJECT_ALREADY_EXISTS, 'already-exists'],
  [HRESULT.ERROR_ALREADY_EXISTS, 'already-exists'],
  [HRESULT.ERROR_DUP_NAME, 'already-exists'],
  [HRESULT.HCN_E_PORT_ALREADY_EXISTS, 'port-in-use'],
  [HRESULT.HCN_E_ENDPOINT_ALREADY_ATTACHED, 'already-attached'],
  [HRESULT.HCN_E_INVALID_JSON, 'invalid-json'],
  [HRESULT.HCN_E_INVALID_JSON_REFERENCE, 'invalid-json'],
  [HRESULT.E_INVALIDARG, 'bad-input'],
  [HRESULT.HCN_E_INVALID_NETWORK, 'bad-input'],
  [HRESULT.HCN_E_INVALID_NETWORK_TYPE, 'bad-input'],
  [HRESULT.HCN_E_INVALID_ENDPOINT, 'bad-input'],
  [HRESULT.HCN_E_INVALID_POLICY, 'bad-input'],
  [HRESULT.HCN_E_INVALID_POLICY_TYPE, 'bad-input'],
  [HRESULT.HCN_E_INVALID_IP, 'bad-input'],
  [HRESULT.HCN_E_ADDR_INVALID_OR_RESERVED, 'bad-input'],
  [HRESULT.HCN_E_GUID_CONVERSION_FAILURE, 'bad-input'],
  [HRESULT.HCN_E_INVALID_INTERNAL_PORT, 'bad-input'],
  [HRESULT.HCN_E_INVALID_PREFIX, 'bad-input'],
  [HRESULT.HCN_E_INVALID_SUBNET, 'bad-input'],
  [HRESULT.HCN_E_INVALID_IP_SUBNET, 'bad-input'],
  [HRESULT.HCN_E_SUBNET_NOT_FOUND, 'bad-input'],
  [HRESULT.HCN_E_ENTITY_HAS_REFERENCES, 'in-use'],
  [HRESULT.E_NOTIMPL, 'unsupported'],
  [HRESULT.HCN_E_REQUEST_UNSUPPORTED, 'unsupported'],
  [HRESULT.HCN_E_MAPPING_NOT_SUPPORTED, 'unsupported'],
  [HRESULT.ERROR_TIMEOUT, 'timeout'],
  [HRESULT.HCN_E_MANAGER_STOPPED, 'unavailable'],
]);

/** v1 HNSCall failures carry only text; these strings mean "absent" (aks-engine #853, moby's v1 driver). */
const V1_NOT_FOUND_TEXT = [/element not found/i, /does not represent a valid object/i];

export function classifyHresult(hr: number): HnsErrorClass {
  return CLASS_BY_CODE.get(hr >>> 0) ?? 'failure';
}

export function hresultName(hr: number): string | undefined {
  const u = hr >>> 0;
  for (const [k, v] of Object.entries(HRESULT)) if (v === u) return k;
  return undefined;
}

export function formatHresult(hr: number): string {
  return '0x' + (hr >>> 0).toString(16).padStart(8, '0');
}

/** hcsshim's masking: FACILITY_WIN32 HRESULTs are reported as their Win32 code (0x80070490 → 1168). */
export function win32FromHresult(hr: number): number {
  const u = hr >>> 0;
  if ((u & 0x80000000) !== 0 && (u & 0x1fff0000) === 0x00070000) return u & 0xffff;
  return u;
}

/** The ErrorRecord document HCN returns next to a failed HRESULT. */
export interface ErrorRecord {
  Success: false;
  Error: string;
  ErrorCode: number;
}

export function errorRecord(hr: number, message?: string): ErrorRecord {
  return { Success: false, Error: message ?? HRESULT_MESSAGES[hr >>> 0] ?? `HNS error ${formatHresult(hr)} `, ErrorCode: hr >>> 0 };
}

export interface HnsErrorContext {
  /** The HNS/HCN call that failed, e.g. `HcnCreateEndpoint` or `POST /endpoints/`. */
  call?: string;
  /** Which object it was about, e.g. `network cbr0` or `endpoint 1234-...`. */
  subject?: string;
  /** The raw ErrorRecord text, if HNS sent one. */
  record?: string;
}

export class HnsError extends Error {
  readonly hresult: number;
  readonly kind: HnsErrorClass;
  readonly call?: string;
  readonly subject?: string;
  readonly record?: string;

  constructor(hresult: number, message: string, ctx: HnsErrorContext = {}, kind?: HnsErrorClass) {
    const where = [ctx.call, ctx.subject].filter(Boolean).join(' ');
    super(`${where ? where + ': ' : ''}${message.trim()} (${formatHresult(hresult)})`);
    this.name = 'HnsError';
    this.hresult = hresult >>> 0;
    this.kind = kind ?? classifyHresult(hresult);
    this.call = ctx.call;
    this.subject = ctx.subject;
    this.record = ctx.record;
  }

  static of(name: HresultName, ctx: HnsErrorContext = {}, message?: string): HnsError {
    const hr = HRESULT[name];
    return new HnsError(hr, message ?? HRESULT_MESSAGES[hr] ?? name, ctx);
  }

  /** A v1 `{Success:false, Error}` envelope has no code; classify by HNS's text. */
  static fromV1Text(text: string, ctx: HnsErrorContext = {}): HnsError {
    const notFound = V1_NOT_FOUND_TEXT.some((re) => re.test(text));
    if (notFound) return new HnsError(HRESULT.ERROR_NOT_FOUND, `hns failed with error : ${text}`, ctx, 'not-found');
    // hcsshim's hnsResponse has only Success and Error: HNS's message text is all there is to classify by.
    const t = text.trim().toLowerCase();
    const known = Object.entries(HRESULT_MESSAGES).find(([, m]) => m && m.trim().length > 8 && t.startsWith(m.trim().toLowerCase()));
    return new HnsError(known ? Number(known[0]) : HRESULT.E_FAIL, `hns failed with error : ${text}`, ctx);
  }

  toErrorRecord(): ErrorRecord {
    return errorRecord(this.hresult, this.record ?? HRESULT_MESSAGES[this.hresult]);
  }
}

export function isHnsError(e: unknown, kind?: HnsErrorClass): e is HnsError {
  return e instanceof HnsError && (kind === undefined || e.kind === kind);
}
export const isNotFound = (e: unknown): boolean => isHnsError(e, 'not-found');
export const isAlreadyExists = (e: unknown): boolean => isHnsError(e, 'already-exists');
export const isAlreadyAttached = (e: unknown): boolean => isHnsError(e, 'already-attached');
export const isPortInUse = (e: unknown): boolean => isHnsError(e, 'port-in-use');
