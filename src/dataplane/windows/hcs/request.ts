/**
 * The HCS documents and types of the container network hot-add/remove, without the binding (no koffi), so the
 * emulator's compute systems (src/dataplane/memory/compute-systems.ts) speak the same request.
 */
export type HcsRequestType = 'Add' | 'Remove';

/** hcsshim's ResourceModificationRequestResponse as it is marshalled for a network hot-add/remove. */
export function networkModifyRequest(endpointId: string, request: HcsRequestType): string {
  return JSON.stringify({ ResourceType: 'Network', RequestType: request, Settings: endpointId });
}

export interface HcsApi {
  /** Hot-adds (Add) or hot-removes (Remove) the endpoint's network adapter on the container's compute system. */
  modifyNetworkEndpoint(containerId: string, endpointId: string, request: HcsRequestType): Promise<void>;
}
