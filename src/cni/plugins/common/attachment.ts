/**
 * The order of ADD, DEL, GC and STATUS around an attachment's endpoint and its IPAM reservation, shared by
 * win-bridge, win-overlay and switchyard, so that whatever instant a call is killed at, the invariant of
 * src/cni/invariant.ts holds or GC can restore it:
 *
 * - ADD holds the attachment's in-flight marker from before IPAM ADD until the endpoint exists; on a
 *   failure it removes only the endpoint it created and releases only what it allocated (never the address
 *   of an endpoint that stays); when it reuses an endpoint left by an earlier call it re-reserves that
 *   endpoint's addresses, or replaces the endpoint if another container holds them.
 * - DEL removes the endpoint first and releases the reservation second: a DEL killed in between leaves a
 *   reservation without endpoint (an orphan GC releases), never an endpoint whose address IPAM thinks free.
 * - GC repairs the invariant; STATUS reports its violations.
 */
import type { HostNetworkService } from '../../../dataplane/types';
import { CniError, ErrCode } from '../../protocol/errors';
import type { CmdArgs } from '../../protocol/skel';
import { ipamDel, type IpamCall } from '../../ipam';
import { ensureReserved, storeOf, withInflight } from '../../ipam/reservations';
import { checkInvariant, describe, repairInvariant, type InvariantScope, type Violation } from '../../invariant';
import { withService } from './hns';
import { takeStaleNetwork } from '../../call-context';
import type { Created } from './endpoints';

/**
 * Runs one ADD attempt (`attempt` creates or reuses the endpoint and returns the printed result) with the
 * marker held and the rollback rules above. A reused endpoint whose address another container holds is
 * removed and the ADD runs once more, then creating a fresh endpoint.
 */
export async function guardedAdd(
  args: CmdArgs,
  call: IpamCall | undefined,
  attempt: (s: HostNetworkService, created: Created) => Promise<string>,
): Promise<string> {
  const once = async (round: number): Promise<string | undefined> => {
    const created: Created = {};
    let ok = false;
    try {
      const out = await withService(args, async (s) => {
        try {
          const printed = await attempt(s, created);
          if (call && created.reused && created.reused.ips.length > 0) {
            const r = await ensureReserved(call, args.containerID, created.reused.ips);
            if (r.kind === 'foreign') {
              if (round > 0) {
                throw new CniError(
                  ErrCode.TryAgainLater,
                  `address ${r.ip} of the existing endpoint is reserved by another container`,
                  'run GC, then retry',
                );
              }
              await created.reused.remove();
              return undefined;
            }
          }
          return printed;
        } catch (e) {
          if (created.undo) {
            try {
              await created.undo();
            } catch {
              // The endpoint stays, so does the reservation of the address it carries.
              created.undoFailed = true;
            }
          }
          throw e;
        }
      });
      ok = true;
      return out;
    } finally {
      if (!ok && call && created.allocated && !created.undoFailed) await ipamDel(call).catch(() => undefined);
    }
  };
  const run = async () => (await once(0)) ?? (await once(1))!;
  const guarded = () => (call ? withInflight(call, args.containerID, run) : run());
  try {
    return await guarded();
  } catch (e) {
    // A network from the agent's lookup cache was gone (or re-created): everything this ADD did has been
    // taken back above, and it runs once more as a fresh call would (v2NetworkForAdd).
    if (takeStaleNetwork()) return guarded();
    throw e;
  }
}

/** DEL's IPAM half, after the endpoint is gone. */
export async function releaseAfterDel(call: IpamCall): Promise<void> {
  await ipamDel(call);
}

/** The invariant's scope for a network, or undefined when IPAM is not store-backed or the store is absent. */
export function scopeOf(call: IpamCall | undefined, name: string, networkId: string): InvariantScope | undefined {
  if (!call) return undefined;
  const view = storeOf(call, false);
  if (!view || !view.store.exists()) return undefined;
  return { name, networkId, view };
}

/**
 * GC's last step: the data plane's own crash recovery (links a killed call left; reads never repair), then
 * what the invariant says is wrong; returns what the invariant repair changed.
 */
export async function gcRepair(s: HostNetworkService, scope: InvariantScope | undefined, valid: { containerID: string; ifname: string }[]) {
  await s.repair?.();
  if (!scope) return [];
  return repairInvariant(s, scope, new Map(valid.map((a) => [a.containerID, a.ifname])));
}

/**
 * STATUS: an address carried by an endpoint that IPAM could hand out again (unreserved, reserved for
 * another, carried twice) makes the network unavailable (code 50) until GC repairs it; orphan
 * reservations only waste addresses and are reported on stderr by the caller.
 */
export async function statusCheck(s: HostNetworkService, scope: InvariantScope | undefined): Promise<Violation[]> {
  if (!scope) return [];
  const found = await checkInvariant(s, scope);
  const dangerous = found.filter((v) => v.kind !== 'orphan');
  if (dangerous.length > 0) {
    throw new CniError(
      ErrCode.PluginNotAvailable,
      `network ${scope.name}: ${dangerous.length} endpoint address(es) not reserved for their pod`,
      dangerous.map(describe).join('; ') + '; run GC (CNI_COMMAND=GC) to repair',
    );
  }
  return found;
}
