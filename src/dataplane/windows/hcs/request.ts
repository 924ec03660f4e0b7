/**
 * The HCS documents and types of the container network hot-add/remove, without the binding (no koffi), so the
 * emulator's compute systems (src/dataplane/memory/compute-systems.ts) speak the same request.
 */
import { HnsError } from '../../../hns/errors';

export type HcsRequestType = 'Add' | 'Remove';

/** hcsshim's ResourceModificationRequestResponse as it is marshalled for a network hot-add/remove. */
export function networkModifyRequest(endpointId: string, request: HcsRequestType): string {
  return JSON.stringify({ ResourceType: 'Network', RequestType: request, Settings: endpointId });
}

export interface HcsApi {
  /** Hot-adds (Add) or hot-removes (Remove) the endpoint's network adapter on the container's compute system. */
  modifyNetworkEndpoint(containerId: string, endpointId: string, request: HcsRequestType): Promise<void>;
}

/** HCS result documents carry {Error (HRESULT), ErrorMessage}; keep HCS's words in the error. */
export function withHcsMessage(e: unknown): unknown {
  if (!(e instanceof HnsError) || !e.record) return e;
  try {
    const doc = JSON.parse(e.record) as { ErrorMessage?: unknown };
    if (typeof doc.ErrorMessage === 'string' && doc.ErrorMessage.trim()) {
      return new HnsError(e.hresult, doc.ErrorMessage.trim(), { call: e.call, subject: e.subject, record: e.record });
    }
  } catch {
    /* not JSON: keep the error as it is */
  }
  return e;
}
