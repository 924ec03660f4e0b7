/**
 * The `cni` op's handler: the forwarded call executed in process (src/cni/exec.ts). The agent passes its
 * own data-plane selection as baseEnv; the call's variables win, as they would for a standalone plugin.
 */
import { execCni } from '../../cni/exec';
import type { CniReply, CniRequest } from './types';

export function cniHandler(baseEnv: Record<string, string | undefined> = {}): (req: CniRequest) => Promise<CniReply> {
  return async (req) => {
    const out = await execCni({ plugin: req.plugin, env: req.env, stdin: Buffer.from(req.stdin, 'base64') }, { baseEnv });
    return { ok: true, stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode };
  };
}
