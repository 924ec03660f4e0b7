/**
 * The `cni` op's handler: the forwarded call executed in process (src/cni/exec.ts). The agent passes its
 * own data-plane selection as baseEnv; the call's variables win, as they would for a standalone plugin.
 * The data planes the calls select stay open between calls (warm state, src/cni/warm-services.ts).
 */
import { execCni } from '../../cni/exec';
import { WarmServices } from '../../cni/warm-services';
import { openDataplane } from '../../dataplane/factory';
import type { CniReply, CniRequest } from './types';
import type { HostNetworkService } from '../../dataplane/types';
import { enableListingCache } from '../../cni/ipam/listing-cache';
import { enableSpareFiles } from '../../cni/ipam/spare-files';

export function cniHandler(
  baseEnv: Record<string, string | undefined> = {},
  ownService?: HostNetworkService,
): (req: CniRequest) => Promise<CniReply> {
  // A long-lived process calling IPAM on the same stores: listings are kept while unchanged (listing-cache.ts).
  enableListingCache();
  // ...and the inodes of the per-pod files it removes are kept for the next pods' (spare-files.ts).
  enableSpareFiles();
  // Calls that select the agent's own data plane (no SWITCHYARD_* of their own: the usual case) use its instance.
  const services = new WarmServices(
    (env) => openDataplane({ env: env as NodeJS.ProcessEnv }),
    ownService ? { env: baseEnv, service: ownService } : undefined,
  );
  return async (req) => {
    const out = await execCni({ plugin: req.plugin, env: req.env, stdin: Buffer.from(req.stdin, 'base64') }, { baseEnv, services });
    return { ok: true, stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode };
  };
}
