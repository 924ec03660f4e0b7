/**
 * A client of the agent's local API (docs/agent-api.md): one framed request, one framed reply per
 * connection. `undefined` means no agent answers at that address (no socket, refused, or timed out), which
 * callers treat as "read the data plane directly"; a reply that is an error is an Error with the agent's text.
 */
import * as net from 'node:net';
import { encodeFrame, FrameReader, parseFrameBody } from '../agent/api/framing';
import { defaultSocket } from '../agent/config';

export function agentSocket(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? defaultSocket(process.platform, env);
}

export class AgentApiError extends Error {
  constructor(address: string, message: string) {
    super(`agent at ${address}: ${message}`);
    this.name = 'AgentApiError';
  }
}

const ABSENT = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EACCES', 'EPERM']);

export async function requestAgent(
  address: string,
  request: Record<string, unknown>,
  timeoutMs = 3000,
): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader();
    const socket = net.connect(address);
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      socket.destroy();
      fn();
    };
    socket.setTimeout(timeoutMs, () => finish(() => resolve(undefined)));
    socket.on('connect', () => socket.write(encodeFrame(request)));
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish(() => (ABSENT.has(e.code ?? '') ? resolve(undefined) : reject(new AgentApiError(address, e.message)))),
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        const body = reader.push(chunk);
        if (body) {
          const reply = parseFrameBody(body);
          finish(() => (reply.ok === false ? reject(new AgentApiError(address, String(reply.error))) : resolve(reply)));
        }
      } catch (e) {
        finish(() => reject(new AgentApiError(address, (e as Error).message)));
      }
    });
    socket.on('end', () => finish(() => reject(new AgentApiError(address, reader.endError().message))));
  });
}

/** The agent's status document, or undefined when no agent answers. */
export async function fetchAgentStatus(address: string, timeoutMs?: number): Promise<unknown> {
  const reply = await requestAgent(address, { op: 'status' }, timeoutMs);
  return reply?.status;
}
