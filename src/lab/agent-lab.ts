/**
 * The lab with agents: the netns lab's underlay (a switch namespace, one namespace per node with eth0 on it),
 * then a cluster store (a real etcd, or the fake API server with one Node per lab node carrying its
 * spec.podCIDR), then one `switchyard agent` process per node, and pods added through the native CNI
 * entrypoint (dist/cni/install/linux) against each agent's socket, as a runtime would.
 *
 * Every process runs in the host namespace; an agent reaches its node's namespace through
 * SWITCHYARD_LINUX_NETNS (every netlink, sysctl and nft call of its data plane happens in there), so the
 * store listens on 127.0.0.1 only. Everything the lab makes lives under its state dir (agent configs,
 * sockets, IPAM stores, logs, etcd's data) or in its namespaces; `down`/`teardown` stops the processes it
 * started (checked by pid and start time) and removes both.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NetnsLab, nsPath } from './netns-driver';
import type { LabNode, LabPlan, LabSpec } from './spec';
import { startLabEtcd, type LabEtcd } from './etcd';
import { type LabProcess, isRunning, startProcess, stopProcess, waitUntil } from './processes';

export type LabSubnetSource = 'etcd' | 'kubernetes';
export type LabCniType = 'switchyard' | 'win-bridge' | 'win-overlay';

export interface AgentLabOptions {
  subnetSource?: LabSubnetSource;
  /** The conflist's plugin type (default: the agent's, win-bridge on host-gw and win-overlay on vxlan). */
  cniType?: LabCniType;
  /** Start agents on the first N nodes only (the others can join later with startAgent). Default: all. */
  agents?: number;
  /** Seconds between the agents' periodic passes (default 10). */
  resyncSeconds?: number;
  /** The CLI entry the agents run (default: this build's dist/src/cli/main.js). */
  cliMain?: string;
  /** The CNI entrypoints used to add pods (default: this build's dist/cni/install/linux). */
  cniBinDir?: string;
}

export interface LabAgent {
  node: LabNode;
  dir: string;
  config: string;
  socket: string;
  log: string;
  process?: LabProcess;
}

export interface LabPodRuntime {
  name: string;
  node: LabNode;
  containerId: string;
  ip: string;
  gateway?: string;
}

/** What `lab up` records beside the namespaces, so `lab down` and `lab list` find it later. */
export type AgentLabRecord = {
  subnetSource: LabSubnetSource;
  store: string;
  processes: LabProcess[];
  agents: { node: string; socket: string; subnet?: string }[];
};

const ROOT = path.resolve(__dirname, '../../..');
const ETCD_PREFIX = '/coreos.com/network';

/**
 * The text of a lab node's agent configuration (pure, so `lab up --dry-run` prints what `lab up` writes).
 * `store` is etcd's client URL or the fake API server's kubeconfig path.
 */
export function agentConfigText(
  plan: LabPlan,
  a: Pick<LabAgent, 'node' | 'dir' | 'socket'>,
  o: AgentLabOptions & { subnetSource: LabSubnetSource; store: string },
): string {
  const n = a.node;
  const source =
    o.subnetSource === 'etcd'
      ? ['subnetSource: etcd', `etcd: {endpoints: ['${o.store}'], prefix: '${ETCD_PREFIX}'}`]
      : ['subnetSource: kubernetes', `kubeconfig: '${o.store}'`];
  const cni = [...(o.cniType ? [`type: ${o.cniType}`] : []), `confDir: '${a.dir}/net.d'`, "binDir: ''", `ipamDataDir: '${a.dir}/ipam'`];
  const backend = plan.spec.type === 'Overlay' ? 'vxlan' : 'host-gw';
  return [
    `node: ${n.name}`,
    ...source,
    `publicIP: ${n.underlayIp}`,
    'iface: eth0',
    "metricsAddress: ''",
    `socket: '${a.socket}'`,
    `subnetEnv: '${a.dir}/subnet.env'`,
    `resyncSeconds: ${o.resyncSeconds ?? 10}`,
    `netConf: {Network: '${plan.spec.clusterCidr}', Backend: {Type: ${backend}, VNI: ${plan.spec.vni}}}`,
    `cni: {${cni.join(', ')}}`,
    '',
  ].join('\n');
}

export class AgentLab {
  readonly lab: NetnsLab;
  readonly subnetSource: LabSubnetSource;
  readonly backend: 'host-gw' | 'vxlan';
  readonly agents: LabAgent[];
  readonly pods: LabPodRuntime[] = [];
  etcd?: LabEtcd;
  apiserver?: { url: string; kubeconfig: string; process: LabProcess };
  private readonly opts: AgentLabOptions;
  private underlayUp = false;

  constructor(spec: LabSpec, opts: AgentLabOptions = {}, stateDir?: string) {
    this.lab = new NetnsLab(spec, stateDir);
    this.opts = opts;
    this.subnetSource = opts.subnetSource ?? 'etcd';
    this.backend = this.lab.plan.spec.type === 'Overlay' ? 'vxlan' : 'host-gw';
    this.agents = this.lab.plan.nodes.map((node) => {
      const dir = path.join(this.lab.stateDir, node.name);
      return { node, dir, config: path.join(dir, 'agent.yaml'), socket: path.join(dir, 'agent.sock'), log: path.join(dir, 'agent.log') };
    });
  }

  get plan() {
    return this.lab.plan;
  }

  get cliMain(): string {
    return this.opts.cliMain ?? path.join(ROOT, 'dist/src/cli/main.js');
  }

  get cniBinDir(): string {
    return this.opts.cniBinDir ?? path.join(ROOT, 'dist/cni/install/linux');
  }

  /** The cluster store's address: etcd's client URL or the fake API server's. */
  get store(): string {
    return this.etcd?.endpoint ?? this.apiserver?.url ?? '';
  }

  /** Underlay, store, agents (waiting for each to be ready), then podsPerNode pods on every node with an agent. */
  async up(): Promise<void> {
    try {
      this.lab.underlay();
      this.underlayUp = true;
      await this.startStore();
      const n = this.opts.agents ?? this.agents.length;
      for (const a of this.agents.slice(0, n)) this.writeConfig(a);
      for (const a of this.agents.slice(0, n)) this.spawnAgent(a);
      for (const a of this.agents.slice(0, n)) await this.waitReady(a);
      for (const a of this.agents.slice(0, n)) for (const p of a.node.pods) this.addPod(a.node, p.name);
    } catch (e) {
      await this.down();
      throw e;
    }
  }

  private async startStore(): Promise<void> {
    fs.mkdirSync(this.lab.stateDir, { recursive: true, mode: 0o700 });
    if (this.subnetSource === 'etcd') {
      this.etcd = await startLabEtcd(this.lab.stateDir);
      return;
    }
    const { writeKubeconfig } = require('./fake-apiserver/kubeconfig') as typeof import('./fake-apiserver/kubeconfig');
    const nodesFile = path.join(this.lab.stateDir, 'nodes.json');
    const nodes = this.lab.plan.nodes.map((n) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': n.name } },
      spec: { podCIDR: n.podSubnet, podCIDRs: [n.podSubnet] },
      status: { addresses: [{ type: 'InternalIP', address: n.underlayIp }] },
    }));
    fs.writeFileSync(nodesFile, JSON.stringify(nodes, null, 1));
    const urlFile = path.join(this.lab.stateDir, 'apiserver.url');
    const proc = startProcess('apiserver', [process.execPath, path.join(__dirname, 'fake-apiserver/main.js'), urlFile, nodesFile], {
      log: path.join(this.lab.stateDir, 'apiserver.log'),
    });
    await waitUntil(proc, 'serving', () => fs.existsSync(urlFile), 20_000);
    const url = fs.readFileSync(urlFile, 'utf8').trim();
    const kubeconfig = writeKubeconfig(path.join(this.lab.stateDir, 'kubeconfig'), url, { name: this.lab.plan.spec.prefix });
    this.apiserver = { url, kubeconfig, process: proc };
  }

  agent(node: LabNode | string): LabAgent {
    const name = typeof node === 'string' ? node : node.name;
    const a = this.agents.find((x) => x.node.name === name);
    if (!a) throw new Error(`no lab node ${name}`);
    return a;
  }

  /** The agent's configuration file for a node (flannel-style net-conf, the node's underlay address, a private CNI dir). */
  writeConfig(a: LabAgent): void {
    fs.mkdirSync(a.dir, { recursive: true, mode: 0o700 });
    const store = this.subnetSource === 'etcd' ? this.etcd!.endpoint : this.apiserver!.kubeconfig;
    fs.writeFileSync(a.config, agentConfigText(this.plan, a, { ...this.opts, subnetSource: this.subnetSource, store }), { mode: 0o600 });
  }

  private spawnAgent(a: LabAgent): void {
    if (!fs.existsSync(a.config)) this.writeConfig(a);
    // A fresh log per start: readiness is "agent ready" in it.
    fs.writeFileSync(a.log, '', { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { ...this.lab.nodeEnv(a.node), SWITCHYARD_LOG_LEVEL: process.env.SWITCHYARD_LOG_LEVEL ?? 'info' };
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.SWITCHYARD_AGENT_SOCKET;
    a.process = startProcess(
      `agent ${a.node.name}`,
      [process.execPath, this.cliMain, '--dataplane', 'linux', 'agent', '--config', a.config],
      {
        env,
        log: a.log,
      },
    );
  }

  async waitReady(a: LabAgent, timeoutMs = 60_000): Promise<void> {
    await waitUntil(a.process!, 'ready', () => /"agent ready"/.test(fs.readFileSync(a.log, 'utf8')), timeoutMs);
  }

  /** Starts (or restarts) a node's agent and waits until it reports ready. */
  async startAgent(node: LabNode | string): Promise<LabAgent> {
    const a = this.agent(node);
    if (a.process && isRunning(a.process)) throw new Error(`agent ${a.node.name} is already running (pid ${a.process.pid})`);
    this.spawnAgent(a);
    await this.waitReady(a);
    return a;
  }

  /** Stops a node's agent (SIGTERM: a clean stop; SIGKILL: a crash). Its network and pods stay. */
  async stopAgent(node: LabNode | string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const a = this.agent(node);
    if (a.process) await stopProcess(a.process, signal);
  }

  /** The node's pod subnet as its agent learned it (subnet.env's FLANNEL_SUBNET, network address). */
  subnet(node: LabNode | string): string | undefined {
    try {
      const env = fs.readFileSync(path.join(this.agent(node).dir, 'subnet.env'), 'utf8');
      const m = /^FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.\d+\/(\d+)$/m.exec(env);
      return m ? `${m[1]}.0/${m[2]}` : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A node leaves the cluster: its agent stops and its membership goes (etcd: the lease key is deleted;
   * kubernetes: the Node object is deleted), as when a node is drained and removed.
   */
  async leave(node: LabNode | string): Promise<void> {
    const a = this.agent(node);
    const subnet = this.subnet(a.node);
    await this.stopAgent(a.node);
    if (this.etcd) {
      if (!subnet) throw new Error(`node ${a.node.name} has no lease to delete (no subnet.env)`);
      const { Etcd3 } = require('etcd3') as typeof import('etcd3');
      const client = new Etcd3({ hosts: this.etcd.endpoint });
      try {
        await client.delete().key(`${ETCD_PREFIX}/subnets/${subnet.replace('/', '-')}`);
      } finally {
        client.close();
      }
    } else if (this.apiserver) {
      const r = await fetch(`${this.apiserver.url}/api/v1/nodes/${a.node.name}`, { method: 'DELETE' });
      if (!r.ok) throw new Error(`delete Node ${a.node.name}: HTTP ${r.status}`);
    }
  }

  /** The conflist the node's agent wrote, flattened into the single-plugin config a runtime hands the plugin. */
  netConf(node: LabNode | string): { type: string; [k: string]: unknown } {
    const a = this.agent(node);
    const dir = path.join(a.dir, 'net.d');
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.conflist'));
    if (!file) throw new Error(`agent ${a.node.name} wrote no conflist in ${dir}`);
    const list = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { cniVersion: string; name: string; plugins: object[] };
    return { cniVersion: list.cniVersion, name: list.name, ...(list.plugins[0] as { type: string }) };
  }

  /** Runs the CNI entrypoint as a runtime would (stdin: the conf, CNI_* env), through the node agent's socket. */
  cni(node: LabNode | string, command: string, env: Record<string, string>): { code: number; out: string; err: string } {
    const a = this.agent(node);
    const conf = this.netConf(a.node);
    const callEnv: NodeJS.ProcessEnv = {
      ...this.lab.nodeEnv(a.node),
      SWITCHYARD_DATAPLANE: 'linux',
      SWITCHYARD_AGENT_SOCKET: a.socket,
      CNI_COMMAND: command,
      CNI_PATH: [this.cniBinDir, '/usr/lib/cni'].join(':'),
      ...env,
    };
    delete callEnv.NODE_EXTRA_CA_CERTS;
    const r = spawnSync(path.join(this.cniBinDir, conf.type), [], {
      input: JSON.stringify(conf),
      env: callEnv,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status ?? -1, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  }

  /** A pod: a new namespace and a CNI ADD for it; returns its address and gateway from the CNI result. */
  addPod(node: LabNode | string, name: string, env: Record<string, string> = {}): LabPodRuntime {
    const a = this.agent(node);
    const netns = this.lab.addNetns(name);
    const containerId = `lab-${name}`;
    const r = this.cni(a.node, 'ADD', { ...env, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: 'eth0' });
    if (r.code !== 0) throw new Error(`CNI ADD of pod ${name} on ${a.node.name} failed (exit ${r.code}): ${r.out}${r.err}`);
    const result = JSON.parse(r.out) as { ips?: { address: string; gateway?: string }[] };
    const ip = result.ips?.[0]?.address.split('/')[0];
    if (!ip) throw new Error(`CNI ADD of pod ${name} returned no address: ${r.out}`);
    const pod = { name, node: a.node, containerId, ip, ...(result.ips?.[0]?.gateway ? { gateway: result.ips[0].gateway } : {}) };
    this.pods.push(pod);
    return pod;
  }

  /** CNI DEL of a pod, then its namespace is removed. */
  delPod(pod: LabPodRuntime): void {
    const r = this.cni(pod.node, 'DEL', { CNI_CONTAINERID: pod.containerId, CNI_NETNS: nsPath(pod.name), CNI_IFNAME: 'eth0' });
    if (r.code !== 0) throw new Error(`CNI DEL of pod ${pod.name} failed (exit ${r.code}): ${r.out}${r.err}`);
    this.forgetPod(pod);
  }

  /** A pod gone without CNI DEL (a node reboot): its namespace is removed, its reservations stay behind. */
  forgetPod(pod: LabPodRuntime): void {
    this.lab.removeNetns(pod.name);
    this.pods.splice(this.pods.indexOf(pod), 1);
  }

  exec(ns: string, argv: string[], opts?: { timeoutMs?: number }): string {
    return this.lab.exec(ns, argv, opts);
  }

  ok(ns: string, argv: string[], timeoutMs?: number): boolean {
    return this.lab.ok(ns, argv, timeoutMs);
  }

  processes(): LabProcess[] {
    return [
      ...this.agents.flatMap((a) => (a.process ? [a.process] : [])),
      ...(this.apiserver ? [this.apiserver.process] : []),
      ...(this.etcd ? [this.etcd.process] : []),
    ];
  }

  /** Leaves everything running and records it for `lab down` / `lab list`; returns the record's path. */
  detach(): string {
    const extra: AgentLabRecord = {
      subnetSource: this.subnetSource,
      store: this.store,
      processes: this.processes(),
      agents: this.agents.filter((a) => a.process).map((a) => ({ node: a.node.name, socket: a.socket, subnet: this.subnet(a.node) })),
    };
    return this.lab.record(extra);
  }

  /** Stops the agents, then the store, then removes the namespaces and the state dir (etcd data, sockets, logs). */
  async down(): Promise<void> {
    for (const a of this.agents) if (a.process) await stopProcess(a.process).catch(() => undefined);
    if (this.apiserver) await stopProcess(this.apiserver.process).catch(() => undefined);
    if (this.etcd) await stopProcess(this.etcd.process).catch(() => undefined);
    if (this.underlayUp || fs.existsSync(this.lab.stateDir)) await this.lab.down();
  }
}
