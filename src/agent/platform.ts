/**
 * What the agent must do differently per data plane, read off the data plane's capabilities (never its
 * kind). Also the agent's only OS reads: the node's addresses (for --iface / the default public IP), its
 * host name and the uplink's MTU.
 */
import * as os from 'node:os';
import type { HostNetworkService } from '../dataplane/types';

export interface PlatformTraits {
  /**
   * Windows: create the placeholder `External` network first, so the vSwitch (and the management NIC's
   * brief disconnect) happens once and later network re-creations do not cut the node off.
   */
  placeholderNetwork: boolean;
  /** The host endpoint (subnet .2, attached to the HostDefault namespace) can be realized. */
  hostEndpoint: boolean;
  /**
   * The network document carries the node's ProviderAddress: the linux plane needs it to pick the VTEP
   * address; Windows HNS fills it in itself (flannel reads it back, never sends it).
   */
  sendsProviderAddress: boolean;
  /**
   * host-gw peers are routes in the host's route table (capabilities.hostRoutes and the table present:
   * Windows, the emulator), as flannel's Windows host-gw backend adds them; otherwise RemoteSubnetRoute
   * policies on the network (linux realizes those with rtnetlink).
   */
  hostRoutes: boolean;
}

export function platformTraits(svc: Pick<HostNetworkService, 'capabilities' | 'hostRoutes'>): PlatformTraits {
  const c = svc.capabilities;
  return {
    placeholderNetwork: c.externalPlaceholderNetwork,
    hostEndpoint: c.hostEndpoints,
    sendsProviderAddress: c.providerAddressInDocument,
    hostRoutes: c.hostRoutes === true && svc.hostRoutes !== undefined,
  };
}

export function hostName(): string {
  return os.hostname();
}

/** The IPv4 address of a named interface, or (no name) of the first non-internal interface. */
export function interfaceAddress(iface?: string): string | undefined {
  const all = os.networkInterfaces();
  const names = iface ? [iface] : Object.keys(all).sort();
  for (const n of names) {
    for (const a of all[n] ?? []) {
      if (a.family === 'IPv4' && (iface !== undefined || !a.internal)) return a.address;
    }
  }
  return undefined;
}

/**
 * The MTU of the interface that holds `address` (Linux: /sys/class/net/<name>/mtu). Windows and an address
 * on no local interface: undefined, and the caller uses Ethernet's 1500.
 */
export function interfaceMtu(address: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const all = os.networkInterfaces();
  const name = Object.keys(all).find((n) => (all[n] ?? []).some((a) => a.address === address));
  if (!name || !/^[\w.@-]+$/.test(name)) return undefined;
  try {
    const mtu = Number(require('node:fs').readFileSync(`/sys/class/net/${name}/mtu`, 'utf8'));
    return Number.isInteger(mtu) && mtu >= 68 ? mtu : undefined;
  } catch {
    return undefined;
  }
}
