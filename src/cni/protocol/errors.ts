/**
 * CNI error results (SPEC §Error, cni pkg/types). The reference library prints `{code, msg, details?}`
 * with a 4-space indent and no trailing newline, without a cniVersion key; plain (non-CNI) errors from a
 * plugin handler become code 999.
 */
import { goMarshalIndent } from './gojson-print';

export const ErrCode = {
  Unknown: 0,
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNS: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details = '',
  ) {
    super(details ? `${msg}; ${details}` : msg);
    this.name = 'CniError';
  }

  toJSON(): { code: number; msg: string; details?: string } {
    return this.details ? { code: this.code, msg: this.msg, details: this.details } : { code: this.code, msg: this.msg };
  }

  /** Exactly what the reference writes to stdout. */
  print(): string {
    return goMarshalIndent(this.toJSON());
  }
}

/** Go `errors.Annotate(err, msg)`: `"<msg>: <err>"`; the inner error's CNI code is lost (→ 999). */
export function annotate(err: unknown, context: string): Error {
  return new Error(`${context}: ${errorText(err)}`);
}

/** The text Go's `%v` would print for an error: a CNI error prints as `msg` or `msg; details`. */
export function errorText(err: unknown): string {
  if (err instanceof CniError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  return new CniError(ErrCode.Internal, errorText(err));
}
