/** What the fake API server knows of a resource, and the Status errors every resource answers with. */

export type Obj = Record<string, any>;

export interface ResourceDef {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Extra validation on create/update/patch: returns a message for a 422 Invalid, or undefined. */
  validate?(next: Obj, prev: Obj | undefined): string | undefined;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const apiVersionOf = (d: ResourceDef) => (d.group ? `${d.group}/${d.version}` : d.version);

export function status(code: number, reason: string, message: string): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}
