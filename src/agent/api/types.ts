/**
 * The agent's local API: one socket (Linux: a unix socket, 0600 in a 0700 directory, peer credentials
 * checked; Windows: a named pipe whose security descriptor admits only Administrators and SYSTEM).
 *
 * Framing (docs/agent-api.md keeps the normative text): every message is a 4-byte big-endian length followed
 * by that many bytes of UTF-8 JSON; one request and one reply per connection. A frame above MAX_FRAME_BYTES or
 * that is not a JSON object is refused with an error reply and the connection closed.
 */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** A CNI call as the native entrypoint forwards it: the plugin name it was invoked as, its env and stdin. */
export interface CniRequest {
  op: 'cni';
  /** Plugin name: win-bridge | win-overlay | switchyard | switchyard-ipam. */
  plugin: string;
  /** CNI_* variables and the few others a plugin reads (SWITCHYARD_*), as the runtime set them. */
  env: Record<string, string>;
  /** The network configuration from stdin, base64 (it is passed through byte for byte). */
  stdin: string;
}
export interface CniReply {
  ok: true;
  /** What the plugin prints on stdout. */
  stdout: string;
  /** Its stderr (normally empty). */
  stderr: string;
  exitCode: number;
}

export interface StatusRequest {
  op: 'status';
}
/** The reply to a status request: whatever the agent's status handler returned. */
export interface StatusReply {
  ok: true;
  status: unknown;
}
export type ApiRequest = CniRequest | StatusRequest;
export interface ErrorReply {
  ok: false;
  error: string;
}

/** Implemented by the agent; the server only frames, authenticates and dispatches. */
export interface ApiHandlers {
  status(): Promise<unknown>;
  /** Runs one CNI call in process with the same locks as the standalone entrypoints. */
  cni(request: CniRequest): Promise<CniReply>;
}

export interface ApiServer {
  /** The socket path or pipe name it listens on. */
  readonly address: string;
  close(): Promise<void>;
}
