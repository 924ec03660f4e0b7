/**
 * What every resource module of the linux data plane shares: the node's netlink socket, the state file and
 * its lock, lookups that fail with the HNS error of a missing object, and the nft ruleset sync.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { HnsError } from '../../hns';
import type { Rtnl } from './netlink/rtnl';
import { readSysctl, writeSysctl } from './netns';
import { toHnsError } from './errors';
import { syncRuleset } from './policy-sync';
import { nftApplyCount } from './nft';
import { key, StateFileError, type EndpointRecord, type LinuxState, type NetworkRecord } from './state';
import { StateStore } from './state-store';

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
    this.store = new StateStore(statePath);
  }

  /** The state file, its lock and this process's unwritten changes (state-store.ts). */
  readonly store: StateStore;
  /** Kernel work started by mutations and finished outside the lock (link deletions); see afterMutation. */
  private readonly kernelWork = new Set<Promise<void>>();
  /** The running batch's share of that work. */
  private readonly batchWork = new AsyncLocalStorage<Promise<void>[]>();

  read(): LinuxState {
    return this.store.read();
  }

  /** Writes the state durably now, inside a mutation (an intent record before the kernel change it announces). */
  save(s: LinuxState): void {
    this.store.saveNow(s);
  }

  /**
   * The state file's stamp when another process (a standalone plugin, the CLI) replaced it since this one
   * last wrote or checked it, else undefined. A data plane kept open across calls (the agent's warm data
   * plane) then re-runs the open-time reconcile check, since that process may have been killed half-way.
   */
  foreignStamp(): string | undefined {
    return this.store.foreignStamp();
  }

  /** The file as stamped before a reconcile check that found (and wrote) nothing is known good. */
  checked(stampBefore: string): void {
    this.store.checked(stampBefore);
  }

  /**
   * Crash recovery before a write (set by the data plane): reads never repair, the first write of a process
   * (and a write after another process's) does. Not run for the repair's own write.
   */
  beforeWrite?: () => Promise<void>;

  /**
   * Runs `fn` on the newest state under the node-wide lock (state-store.ts); failures become HnsErrors.
   * Durable when it returns, unless `deferrable` and inside a batch: the per-pod mutations whose kernel
   * changes something else finds again after a crash (owner-tagged veths: the reconcile sweep) may wait
   * for the batch's end; one that changed the nft tables, or that calls persistBeforeReturn, may not.
   */
  async mutate<T>(
    call: string,
    subject: string,
    fn: (s: LinuxState) => T,
    opts: { deferrable?: boolean; repairing?: boolean } = {},
  ): Promise<T> {
    if (!opts.repairing && this.beforeWrite) await this.beforeWrite();
    let nftBefore = 0;
    try {
      return await this.store.mutate(
        (s) => {
          this.persistNow = false;
          nftBefore = nftApplyCount();
          return fn(s);
        },
        () => opts.deferrable === true && !this.persistNow && nftApplyCount() === nftBefore,
      );
    } catch (e) {
      // A malformed state file is reported as reads report it: the same text whatever the command.
      if (e instanceof StateFileError) throw e;
      throw toHnsError(e, { call, subject });
    }
  }

  private persistNow = false;

  /** Inside a deferrable mutation: it made a kernel change only its record can undo, so it is written before it returns. */
  persistBeforeReturn(): void {
    this.persistNow = true;
  }

  /**
   * One CNI call's data-plane work: its state writes are deferred to the end and shared with concurrent
   * calls (one fsync), and the kernel work its mutations left running is awaited; resolves once both are
   * done, and fails if either did.
   */
  batch<T>(fn: () => Promise<T>): Promise<T> {
    return this.store.batch(async () => {
      const mine: Promise<void>[] = [];
      const ran = await this.batchWork.run(mine, fn).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      // Even when fn failed, the call's answer waits until the kernel work it started is over; the state
      // write starts now and runs meanwhile (the batch's end waits for it).
      if (mine.length > 0) void this.store.flush().catch(() => undefined);
      const failed = (await Promise.allSettled(mine)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!ran.ok) throw ran.error;
      if (failed) throw failed.reason;
      return ran.value;
    });
  }

  /**
   * Kernel work a mutation started that needs neither the lock nor this thread (a veth deletion waits
   * ~15 ms in the kernel for RCU). Inside a batch it is awaited by the batch's end (the state write runs
   * meanwhile) and this resolves at once; outside, this resolves when the work is done. A failure leaves a
   * link the state no longer records, so the next revalidate runs the reconcile sweep.
   */
  afterMutation(work: Promise<void>): Promise<void> {
    const tracked = work.catch((e) => {
      this.store.forgetStamp();
      throw e;
    });
    const settled = tracked.catch(() => undefined);
    this.kernelWork.add(settled);
    void settled.then(() => this.kernelWork.delete(settled));
    const batch = this.batchWork.getStore();
    if (!batch) return tracked;
    batch.push(tracked);
    return Promise.resolve();
  }

  /** Waits for the kernel work started so far (an attach must not race a deletion of the same pod interface). */
  async settleKernel(): Promise<void> {
    while (this.kernelWork.size > 0) await Promise.all([...this.kernelWork]);
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
