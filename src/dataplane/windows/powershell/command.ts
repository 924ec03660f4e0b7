/**
 * The only script text the powershell data plane ever sends. It is constant apart from two things: the
 * operation name, taken from a fixed list, and one single-quoted literal holding base64 of the UTF-8 JSON
 * payload. Base64 uses only A-Z a-z 0-9 + / =, none of which can end a single-quoted PowerShell string or
 * start an expression, so nothing a caller supplies (names with quotes, `;`, `$()`, backticks, newlines)
 * can become code. The module's Invoke-SwitchyardHnsOperation decodes the payload and passes each value
 * as a parameter.
 */
export const PS_OPERATIONS = [
  'GetVersion',
  'V1Request',
  'ModifyContainerNetwork',
  'ListNetworks',
  'GetNetwork',
  'NewNetwork',
  'SetNetwork',
  'RemoveNetwork',
  'ListEndpoints',
  'GetEndpoint',
  'NewEndpoint',
  'SetEndpoint',
  'RemoveEndpoint',
  'ListNamespaces',
  'GetNamespace',
  'NewNamespace',
  'SetNamespace',
  'RemoveNamespace',
  'ListLoadBalancers',
  'GetLoadBalancer',
  'NewLoadBalancer',
  'SetLoadBalancer',
  'RemoveLoadBalancer',
  'ListHostRoutes',
  'NewHostRoute',
  'RemoveHostRoute',
] as const;
export type PsOperation = (typeof PS_OPERATIONS)[number];

/** Every field is a string: documents travel as HNS JSON text so PowerShell never re-serializes them. */
export interface PsPayload {
  Id?: string;
  NetworkId?: string;
  /** Create documents (HNS JSON text). */
  Settings?: string;
  /** Modify requests (HNS JSON text). */
  Request?: string;
  /** HostComputeQuery (JSON text). */
  Query?: string;
  Method?: string;
  Path?: string;
  /** ModifyContainerNetwork: the container whose compute system gets the endpoint (Id), Request Add|Remove. */
  ContainerId?: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function encodePayload(payload: PsPayload | Record<string, string>): string {
  for (const [k, v] of Object.entries(payload)) {
    if (typeof v !== 'string') throw new TypeError(`powershell payload field ${k} must be a string, got ${typeof v}`);
  }
  const b64 = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64');
  if (!BASE64.test(b64)) throw new Error('base64 encoder produced characters outside the base64 alphabet');
  return b64;
}

export function buildCommand(operation: PsOperation, payload: PsPayload): string {
  if (!(PS_OPERATIONS as readonly string[]).includes(operation)) {
    throw new Error(`unknown powershell data-plane operation "${String(operation)}": use one of ${PS_OPERATIONS.join(', ')}`);
  }
  return `Invoke-SwitchyardHnsOperation -Operation '${operation}' -EncodedJson '${encodePayload(payload)}'`;
}

/** Imports the module from a path that may contain anything (e.g. C:\Users\O'Brien\...): the path travels as base64 too. */
export function importCommand(manifestPath: string): string {
  const b64 = Buffer.from(manifestPath, 'utf8').toString('base64');
  return `Import-Module -Name ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${b64}'))) -Force -ErrorAction Stop`;
}

/** Decodes what buildCommand produced (tests and diagnostics); undefined when the text is not that shape. */
export function parseCommand(script: string): { operation: PsOperation; payload: PsPayload } | undefined {
  const m = /^Invoke-SwitchyardHnsOperation -Operation '([A-Za-z0-9]+)' -EncodedJson '([A-Za-z0-9+/]*={0,2})'$/.exec(script);
  if (!m || !(PS_OPERATIONS as readonly string[]).includes(m[1])) return undefined;
  return { operation: m[1] as PsOperation, payload: JSON.parse(Buffer.from(m[2], 'base64').toString('utf8')) as PsPayload };
}
