/**
 * What every resource module of the linux data plane shares: the node's netlink socket, the state file and
 * its lock, lookups that fail with the HNS error of a missing object, and the nft ruleset sync.
 */
import * as fs from 'node:fs';
import { HnsError } from '../../hns';
import type { Rtnl } from './netlink/rtnl';
import { readSysctl, writeSysctl } from './netns';
import { toHnsError } from './errors';
import { syncRuleset } from './policy-sync';
import {
  key,
  loadState,
  saveState,
  saveStateAsync,
  StateFileError,
  withStateLock,
  type EndpointRecord,
  type LinuxState,
  type NetworkRecord,
} from './state';

/**
 * The alias written on every link this instance creates: the state file names the instance, so two state
 * files (another instance, a test run, a default state) never take each other's links for leftovers.
 */
export function ownerTagFor(statePath: string): string {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return `switchyard:${createHash('sha256').update(require('node:path').resolve(statePath)).digest('hex').slice(0, 16)}`;
}

export class LinuxContext {
  readonly ownerTag: string;

  constructor(
    readonly rt: Rtnl,
    readonly statePath: string,
    /** The node namespace (SWITCHYARD_LINUX_NETNS) every kernel change happens in; undefined = this process's. */
    readonly netns: string | undefined,
    readonly env: NodeJS.ProcessEnv,
  ) {
    this.ownerTag = ownerTagFor(statePath);
    rt.ownerTag = this.ownerTag;
  }

  /** The state file as this process last wrote it (identity, mtime, size), or undefined before any write. */
  private ownStamp?: string;

  read(): LinuxState {
    return loadState(this.statePath);
  }

  save(s: LinuxState): void {
    saveState(this.statePath, s);
    // Under the state lock: no other writer can come between the rename and this stat.
    this.ownStamp = this.stamp();
  }

  private stamp(): string {
    try {
      const st = fs.statSync(this.statePath, { bigint: true });
      return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
    } catch {
      return 'absent';
    }
  }

  /**
   * The state file's stamp when another process (a standalone plugin, the CLI) replaced it since this one
   * last wrote or checked it, else undefined. A data plane kept open across calls (the agent's warm data
   * plane) then re-runs the open-time reconcile check, since that process may have been killed half-way.
   * Every write replaces the file (a new inode), so a foreign write is never mistaken for this process's own.
   */
  foreignStamp(): string | undefined {
    const now = this.stamp();
    return now === this.ownStamp ? undefined : now;
  }

  /** The file as stamped before a reconcile check that found (and wrote) nothing is known good. */
  checked(stampBefore: string): void {
    if (this.stamp() === stampBefore) this.ownStamp = stampBefore;
  }

  /**
   * Crash recovery before a write (set by the data plane): reads never repair, the first write of a process
   * (and a write after another process's) does. Not run for the repair's own write.
   */
  beforeWrite?: () => Promise<void>;

  /** Runs `fn` on the state under the node-wide lock and writes it back; failures become HnsErrors. */
  async mutate<T>(call: string, subject: string, fn: (s: LinuxState) => T, opts: { repairing?: boolean } = {}): Promise<T> {
    if (!opts.repairing && this.beforeWrite) await this.beforeWrite();
    try {
      return await withStateLock(this.statePath, async () => {
        const s = this.read();
        const out = fn(s);
        // The write (fsync, rename) waits on the disk off the event loop: other calls in this process
        // (the agent) run meanwhile; this one still holds the lock until the file is in place.
        await saveStateAsync(this.statePath, s);
        this.ownStamp = this.stamp();
        return out;
      });
    } catch (e) {
      // A malformed state file is reported as reads report it: the same text whatever the command.
      if (e instanceof StateFileError) throw e;
      throw toHnsError(e, { call, subject });
    }
  }

  network(s: LinuxState, id: string, call: string): NetworkRecord {
    const n = s.networks[key(id)];
    if (!n) throw HnsError.of('HCN_E_NETWORK_NOT_FOUND', { call, subject: `network ${id}` });
    return n;
  }

  endpoint(s: LinuxState, id: string, call: string): EndpointRecord {
    const e = s.endpoints[key(id)];
    if (!e) throw HnsError.of('HCN_E_ENDPOINT_NOT_FOUND', { call, subject: `endpoint ${id}` });
    return e;
  }

  /** See syncRuleset: replaces the nft tables when the documents' ruleset changed. */
  syncRules(s: LinuxState, force = false, changed?: EndpointRecord): void {
    syncRuleset(s, this.netns, this.env, force, changed);
  }

  /**
   * A bridge network's sysctls: bridged traffic through the inet hooks (bridgeNetfilter), and host ports
   * reachable through 127.0.0.1 on the node as portmap makes them (route_localnet lets a connection to a
   * loopback address be DNATed out through the bridge; the ruleset masquerades its 127/8 source).
   */
  bridgeSysctls(bridge: string): void {
    this.bridgeNetfilter();
    writeSysctl(this.netns, `net.ipv4.conf.${bridge}.route_localnet`, '1');
  }

  /**
   * Bridged IPv4 through the inet hooks (conntrack, the stateful-ACL mark, hairpin NAT), as kubelet requires.
   * Nothing to do where br_netfilter is not loaded: the sysctl does not exist and bridged traffic stays stateless.
   */
  bridgeNetfilter(): void {
    const sysctl = 'net.bridge.bridge-nf-call-iptables';
    let current: string;
    try {
      current = readSysctl(this.netns, sysctl);
    } catch {
      return;
    }
    if (current !== '1') writeSysctl(this.netns, sysctl, '1');
  }
}
