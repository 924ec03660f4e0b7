/**
 * Brings a lab plan up as network namespaces: a switch namespace holding the underlay bridge, one namespace
 * per node (uplink eth0 on the underlay) running its own linux data plane inside it, and one namespace per
 * pod attached through that data plane. Teardown deletes every namespace it created, and every namespace
 * the nodes' data planes created (`namespace create` on a node), which also removes their links, routes, nft
 * tables and sysctls; nothing is changed in the caller's own namespace.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { HostNetworkService } from '../dataplane/types';
import type { HostComputeEndpoint } from '../hns';
import { findPolicies, getCI } from '../hns';
import { openDataplane } from '../dataplane/factory';
import { Rtnl } from '../dataplane/linux/netlink/rtnl';
import { loadState } from '../dataplane/linux/state';
import { type LabProcess, stopProcessSync } from './processes';
import { type LabNode, type LabPlan, type LabSpec, nodeNetwork, peerRoute, planLab } from './spec';

/** What `lab up` leaves in the record file. */
export interface LabRecord {
  spec: LabPlan['spec'];
  namespaces: string[];
  stateDir: string;
  processes?: LabProcess[];
  subnetSource?: string;
  store?: string;
  agents?: { node: string; socket: string; subnet?: string }[];
}

export const nsPath = (name: string) => `/var/run/netns/${name}`;

/**
 * `ip netns del`, retried a few times: the unmount fails with EBUSY while another process is briefly
 * entering the namespace (an `ip netns exec` starting). False when the namespace does not exist (any more).
 */
function deleteNetns(name: string): boolean {
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: ['ignore', 'ignore', 'ignore'] });
      return true;
    } catch {
      if (!fs.existsSync(nsPath(name))) return false;
      if (attempt >= 5) return false;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

/**
 * Namespaces the nodes' data planes created themselves (`switchyard namespace create` on a lab node makes a
 * named netns `sy-<id>` in the machine's /var/run/netns, outside every lab namespace): read from each node's
 * state file in the lab's state directory. Only names of that form, recorded as created, are returned.
 */
function dataplaneNamespaces(stateDir: string): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(stateDir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const f of files) {
    let state;
    try {
      state = loadState(path.join(stateDir, f));
    } catch {
      continue; // not a data plane state (or unreadable): nothing of ours to find in it
    }
    for (const n of Object.values(state.namespaces ?? {})) {
      const name = typeof n?.path === 'string' ? path.basename(n.path) : '';
      if (n?.created && /^sy-[0-9a-f]{1,12}$/.test(name)) names.push(name);
    }
  }
  return names;
}

export interface LabNodeRuntime {
  node: LabNode;
  dp: HostNetworkService;
  networkId: string;
  drMac?: string;
}

export class NetnsLab {
  readonly plan: LabPlan;
  readonly stateDir: string;
  readonly runtimes: LabNodeRuntime[] = [];
  private readonly created: string[] = [];

  constructor(spec: LabSpec, stateDir?: string) {
    this.plan = planLab(spec);
    this.stateDir = stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `sy-lab-${this.plan.spec.prefix}-`));
  }

  /** Where `lab up` records a lab it leaves running, so a later `lab down` can find it. */
  static recordPath(prefix: string): string {
    return path.join(os.tmpdir(), `switchyard-lab-${prefix}.json`);
  }

  /** Leaves the lab running: closes the data planes and records what `teardown` must remove. */
  async detach(): Promise<string> {
    for (const r of this.runtimes.splice(0)) await r.dp.close();
    return this.record();
  }

  /** Writes the record `teardown` and `list` read: namespaces, state dir, and what a driver adds (processes). */
  record(extra: { processes?: LabProcess[]; [k: string]: unknown } = {}): string {
    const file = NetnsLab.recordPath(this.plan.spec.prefix);
    const rec: LabRecord = { ...extra, spec: this.plan.spec, namespaces: this.created, stateDir: this.stateDir };
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(rec, null, 1), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
    return file;
  }

  /** Every lab left running on this machine (their records). */
  static list(): LabRecord[] {
    const dir = os.tmpdir();
    return fs
      .readdirSync(dir)
      .filter((f) => /^switchyard-lab-[a-z0-9-]+\.json$/.test(f))
      .sort()
      .flatMap((f) => {
        try {
          return [JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as LabRecord];
        } catch {
          return [];
        }
      });
  }

  /**
   * Removes a lab left running by `detach`/`record`: stops the processes it recorded (only those still the
   * same process: pid and start time), then deletes its namespaces, state directory and record.
   */
  static teardown(prefix: string): string[] {
    const file = NetnsLab.recordPath(prefix);
    let rec: LabRecord;
    try {
      rec = JSON.parse(fs.readFileSync(file, 'utf8')) as LabRecord;
    } catch {
      throw new Error(`no running lab with prefix "${prefix}" (${file} is missing)`);
    }
    for (const p of rec.processes ?? []) stopProcessSync(p);
    const removed: string[] = [];
    for (const name of dataplaneNamespaces(rec.stateDir)) if (deleteNetns(name)) removed.push(name);
    for (const name of [...rec.namespaces].reverse()) {
      if (!/^[a-z0-9-]+$/.test(name)) continue;
      if (deleteNetns(name)) removed.push(name);
    }
    if (rec.stateDir.startsWith(path.join(os.tmpdir(), 'sy-lab-'))) fs.rmSync(rec.stateDir, { recursive: true, force: true });
    fs.rmSync(file, { force: true });
    return removed;
  }

  /** Every namespace name this lab creates (nodes, pods, switch). */
  namespaces(): string[] {
    return [this.plan.switchNs, ...this.plan.nodes.flatMap((n) => [n.name, ...n.pods.map((p) => p.name)])];
  }

  /** Deletes one namespace this lab created (a pod that went away). */
  removeNetns(name: string): void {
    const i = this.created.indexOf(name);
    if (i < 0) throw new Error(`namespace ${name} was not created by this lab`);
    execFileSync('ip', ['netns', 'del', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.created.splice(i, 1);
  }

  addNetns(name: string): string {
    execFileSync('ip', ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.created.push(name);
    return nsPath(name);
  }

  /** Creates namespaces and the underlay only (no data plane yet). */
  underlay(): void {
    const sw = this.addNetns(this.plan.switchNs);
    const rt = Rtnl.open(sw);
    try {
      const br = rt.createBridge('underlay', { mtu: this.plan.spec.mtu });
      for (const n of this.plan.nodes) {
        const p = this.addNetns(n.name);
        const fd = fs.openSync(p, 'r');
        try {
          rt.createVeth(`u${n.index}`, {
            master: br.index,
            mtu: this.plan.spec.mtu,
            peer: { name: 'eth0', netnsFd: fd, mtu: this.plan.spec.mtu },
          });
        } finally {
          fs.closeSync(fd);
        }
        const nrt = Rtnl.open(p);
        try {
          const eth = nrt.mustLink('eth0');
          nrt.setLink(eth.index, { up: true });
          const lo = nrt.mustLink('lo');
          nrt.setLink(lo.index, { up: true });
          nrt.addAddress(eth.index, n.underlayIp, 24);
        } finally {
          nrt.close();
        }
      }
    } finally {
      rt.close();
    }
  }

  /**
   * Gives the switch namespace a router address on the underlay (<underlay>.1) and an "outside the
   * cluster" address on its loopback, and points every node's default route at it.
   */
  external(outside = '198.51.100.1'): { router: string; outside: string } {
    const router = this.plan.nodes[0].underlayIp.replace(/\.\d+$/, '.1');
    const rt = Rtnl.open(nsPath(this.plan.switchNs));
    try {
      const br = rt.mustLink('underlay');
      rt.addAddress(br.index, router, 24);
      const lo = rt.mustLink('lo');
      rt.setLink(lo.index, { up: true });
      rt.addAddress(lo.index, outside, 32);
    } finally {
      rt.close();
    }
    for (const n of this.plan.nodes) {
      const nrt = Rtnl.open(nsPath(n.name));
      try {
        nrt.addRoute({ dst: '0.0.0.0', prefixLen: 0, gateway: router });
      } finally {
        nrt.close();
      }
    }
    return { router, outside };
  }

  /** Opens each node's linux data plane inside its namespace and creates the pod network and peer routes. */
  async network(): Promise<void> {
    for (const n of this.plan.nodes) {
      const dp = await this.openNode(n);
      const net = await dp.createNetwork(nodeNetwork(this.plan, n));
      const dr = findPolicies(net.Policies, 'DrMacAddress')[0];
      this.runtimes.push({ node: n, dp, networkId: net.ID!, drMac: dr ? getCI<string>(dr.Settings, 'Address') : undefined });
    }
    for (const r of this.runtimes) {
      const peers = this.runtimes.filter((p) => p !== r).map((p) => peerRoute(this.plan, p.node, p.drMac));
      if (peers.length)
        await r.dp.modifyNetwork(r.networkId, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: peers } });
    }
  }

  openNode(n: LabNode): Promise<HostNetworkService> {
    return openDataplane({ kind: 'linux', env: this.nodeEnv(n) });
  }

  /** The environment a process needs to run this node's data plane (CNI plugins, CLI). */
  nodeEnv(n: LabNode): NodeJS.ProcessEnv {
    return { ...process.env, SWITCHYARD_LINUX_NETNS: nsPath(n.name), SWITCHYARD_LINUX_STATE: path.join(this.stateDir, `${n.name}.json`) };
  }

  /** Creates the pod namespaces and attaches one endpoint each. */
  async pods(policies: (pod: { name: string; ip: string }) => HostComputeEndpoint['Policies'] = () => []): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const r of this.runtimes) {
      for (const pod of r.node.pods) {
        const p = this.addNetns(pod.name);
        const ep = await r.dp.createEndpoint(r.networkId, {
          Name: pod.name,
          IpConfigurations: [{ IpAddress: pod.ip, PrefixLength: 24 }],
          Policies: policies(pod),
        });
        await r.dp.attachEndpoint(p, ep.ID!, { interfaceName: 'eth0' });
        ids.set(pod.name, ep.ID!);
      }
    }
    return ids;
  }

  async up(): Promise<void> {
    try {
      this.underlay();
      await this.network();
      await this.pods();
    } catch (e) {
      await this.down();
      throw e;
    }
  }

  /** Runs argv inside a lab namespace (no shell); returns stdout. */
  exec(ns: string, argv: string[], opts: { timeoutMs?: number } = {}): string {
    return execFileSync('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 20_000,
    }).toString();
  }

  /** True when argv exits 0 inside the namespace. */
  ok(ns: string, argv: string[], timeoutMs?: number): boolean {
    try {
      this.exec(ns, argv, { timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  async down(): Promise<void> {
    for (const r of this.runtimes.splice(0)) await r.dp.close().catch(() => undefined);
    // Namespaces the nodes' data planes created (namespace create) live outside the lab's: remove them first.
    for (const name of dataplaneNamespaces(this.stateDir)) deleteNetns(name);
    // Pods first, then nodes, then the switch: every link lives in one of these and goes with it.
    for (const name of this.created.splice(0).reverse()) {
      deleteNetns(name);
    }
    fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}
