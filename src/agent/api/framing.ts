/**
 * The local API's framing (docs/agent-api.md): a 4-byte big-endian length, then that many bytes of UTF-8
 * JSON. One request and one reply per connection. Pure buffer work, shared by the server and its tests.
 */
import { MAX_FRAME_BYTES } from './types';

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  if (body.length > MAX_FRAME_BYTES) throw new FrameError(`frame of ${body.length} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Accumulates bytes until one whole frame is there. `push` returns the frame's body when complete,
 * undefined while more is needed, and throws FrameError as soon as the announced length is over the limit
 * (so an oversized frame is refused before it is read) or bytes follow the frame.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private need: number | undefined;

  constructor(private readonly limit = MAX_FRAME_BYTES) {}

  push(chunk: Buffer): Buffer | undefined {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.need === undefined && this.have >= 4) {
      const all = Buffer.concat(this.chunks);
      this.chunks = [all];
      this.need = all.readUInt32BE(0);
      if (this.need > this.limit) throw new FrameError(`frame of ${this.need} bytes exceeds the limit of ${this.limit}`);
    }
    if (this.need === undefined || this.have < 4 + this.need) return undefined;
    if (this.have > 4 + this.need) throw new FrameError('bytes after the frame: one request per connection');
    return Buffer.concat(this.chunks).subarray(4);
  }

  /** What a connection that ended now would mean. */
  endError(): FrameError {
    return new FrameError(
      this.need === undefined
        ? `truncated frame header (${this.have} of 4 bytes)`
        : `truncated frame (${this.have - 4} of ${this.need} bytes)`,
    );
  }
}

/** The frame body as a JSON object, or FrameError naming what is wrong. */
export function parseFrameBody(body: Buffer): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new FrameError('frame is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FrameError(`frame is not JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FrameError('frame is not a JSON object');
  return value as Record<string, unknown>;
}
