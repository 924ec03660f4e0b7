/**
 * The kubernetes subnet source (flannel's kube subnet manager, `--kube-subnet-mgr`): the node's subnet is
 * its Node's spec.podCIDR(s), assigned by the controller-manager; the node announces itself with flannel's
 * annotations on its own Node (a strategic merge patch of nodes/status, as flanneld sends it, so flannel's
 * RBAC is enough); peers are the other Nodes that carry those annotations — real flannel nodes and
 * Switchyard agents alike.
 *
 * Nodes are followed with one @kubernetes/client-node informer (list, then watch from the list's
 * resourceVersion). A 410 Gone makes the informer re-list by itself; any other watch or list failure stops
 * it, so it is restarted here with capped exponential backoff. Every resyncMs (flannel's 5 min) the cache
 * is re-evaluated: peers recomputed and this node's annotations re-asserted if someone changed them. There
 * is no polling of the API server.
 *
 * Start-up follows flanneld: wait for the first list (flannel: up to 10 min), then up to 30 s for this
 * node to appear in it, then fail at once if it has no IPv4 pod CIDR (flannel: "pod cidr not assigned";
 * the service manager restarts it) or if the pod CIDR lies outside the net-conf Network.
 */
import * as k8s from '@kubernetes/client-node';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getLogger, type Logger } from '../../util/log';
import { cidrContains } from './allocate';
import { annotationNames, desiredAnnotations, leaseFromNode, nodePodCidr, normalizeMac, type AnnotationNames } from './flannel';
import type { ClusterNetConf, LocalAnnouncement, NodeLease, SubnetSource } from './types';

export interface KubernetesSourceOptions {
  /** kubeconfig path; when absent the in-cluster service account is used (running in a pod). */
  kubeconfig?: string;
  /** The cluster network (net-conf.json): the node's pod CIDR must lie inside `network`. */
  netConf: ClusterNetConf;
  /** flannel's `--kube-annotation-prefix`, default flannel.alpha.coreos.com. */
  annotationPrefix?: string;
  /** How long to wait for the first successful list of Nodes (flannel: 10 min). */
  syncTimeoutMs?: number;
  /** How long to wait for this node to appear after the first list (flannel: 30 s). */
  nodeWaitMs?: number;
  /** How long to keep retrying the annotation patch at start (flannel: 30 s). */
  patchTimeoutMs?: number;
  /** Cache re-evaluation period (flannel's informer resync: 5 min). */
  resyncMs?: number;
  /** Cap of the restart backoff after a watch/list failure. */
  retryMaxMs?: number;
  log?: Logger;
}

type NodeInformer = k8s.Informer<k8s.V1Node> & k8s.ObjectCache<k8s.V1Node>;

/**
 * Where the service account files are: a Windows HostProcess container sees its volume mounts under
 * CONTAINER_SANDBOX_MOUNT_POINT (unless the runtime also binds them at their usual paths), so look there first.
 */
function inClusterPathPrefix(env: NodeJS.ProcessEnv): string {
  const root = env.CONTAINER_SANDBOX_MOUNT_POINT;
  if (root && fs.existsSync(path.join(root, 'var/run/secrets/kubernetes.io/serviceaccount/token'))) return root.replace(/[\\/]+$/, '');
  return '';
}

/** Loads the kubeconfig the way flanneld does: the given file, else the in-cluster configuration. */
export function loadKubeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file) {
    if (!fs.existsSync(file)) throw new Error(`kubeconfig ${file}: no such file`);
    try {
      kc.loadFromFile(file);
    } catch (e) {
      throw new Error(`kubeconfig ${file}: ${(e as Error).message}`);
    }
  } else if (env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster(inClusterPathPrefix(env));
  } else {
    throw new Error(
      'kubernetes subnet source: no kubeconfig given and not running in a pod (KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig',
    );
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${file ?? '(in-cluster)'}: no current cluster`);
  return kc;
}

/** A readable message for a client-node failure: HTTP code and the Status message when there is one. */
export function describeApiError(e: unknown): string {
  const err = e as { code?: number; statusCode?: number; body?: unknown; message?: string };
  const code = err.code ?? err.statusCode;
  let msg = err.message ?? String(e);
  if (typeof err.body === 'string') {
    try {
      const s = JSON.parse(err.body) as { message?: string };
      if (s.message) msg = s.message;
    } catch {
      /* not a Status body */
    }
  } else if (err.body && typeof err.body === 'object' && 'message' in err.body) {
    msg = String((err.body as { message: unknown }).message);
  }
  return typeof code === 'number' && code >= 100 ? `HTTP ${code}: ${msg}` : msg;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const leaseKey = (l: NodeLease) => JSON.stringify([l.node, l.subnet, l.publicIp, l.backendType, l.vni ?? null, l.vtepMac ?? null]);

export class KubernetesSubnetSource implements SubnetSource {
  readonly kind = 'kubernetes' as const;
  private readonly opts: Required<Omit<KubernetesSourceOptions, 'kubeconfig' | 'log' | 'annotationPrefix'>> & KubernetesSourceOptions;
  private readonly names: AnnotationNames;
  private readonly log: Logger;
  private api?: k8s.CoreV1Api;
  private informer?: NodeInformer;
  private self?: LocalAnnouncement;
  private readonly peerMap = new Map<string, NodeLease>();
  private readonly notPeers = new Map<string, string>();
  private readonly listeners: (() => void)[] = [];
  private readonly wakers = new Set<() => void>();
  private synced = false;
  private closed = false;
  private backoffMs = 500;
  private restartTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private patching?: Promise<void>;
  private patchAgain = false;
  /** The last list/watch failure, for status output; cleared by the next successful list. */
  lastError?: string;

  constructor(opts: KubernetesSourceOptions) {
    this.opts = { syncTimeoutMs: 600_000, nodeWaitMs: 30_000, patchTimeoutMs: 30_000, resyncMs: 300_000, retryMaxMs: 30_000, ...opts };
    this.names = annotationNames(opts.annotationPrefix);
    this.log = opts.log ?? getLogger('agent.subnet.kubernetes');
  }

  async start(self: LocalAnnouncement): Promise<NodeLease> {
    if (this.informer) throw new Error('kubernetes subnet source: already started');
    desiredAnnotations(self, this.names); // validates the announcement before anything is sent
    this.self = { ...self };
    const kc = loadKubeConfig(this.opts.kubeconfig);
    const server = kc.getCurrentCluster()?.server;
    const api = kc.makeApiClient(k8s.CoreV1Api);
    this.api = api;
    const informer = k8s.makeInformer<k8s.V1Node>(kc, '/api/v1/nodes', async () => {
      const list = await api.listNode();
      // The informer applies the list right after this promise settles; mark the cache synced after that.
      setImmediate(() => this.onListed());
      return list;
    });
    this.informer = informer;
    informer.on(k8s.ADD, (n) => this.onNode(n, false));
    informer.on(k8s.UPDATE, (n) => this.onNode(n, false));
    informer.on(k8s.DELETE, (n) => this.onNode(n, true));
    informer.on(k8s.ERROR, (err) => this.onInformerError(err));
    try {
      await informer.start();
      await this.waitFor(
        () => this.synced,
        this.opts.syncTimeoutMs,
        () => `cannot list Nodes from ${server}${this.lastError ? `: ${this.lastError}` : ''}`,
      );
      await this.waitFor(
        () => !!informer.get(self.node),
        this.opts.nodeWaitMs,
        () => `node ${self.node} not found at ${server} (is --node the Node's name?)`,
      );
      const node = informer.get(self.node)!;
      const subnet = nodePodCidr(node);
      if (!subnet) {
        throw new Error(
          `node ${self.node} has no spec.podCIDR: the controller-manager assigns one when it runs with --allocate-node-cidrs (kubeadm --pod-network-cidr); flannel refuses to start the same way`,
        );
      }
      if (!cidrContains(this.opts.netConf.network, subnet)) {
        throw new Error(`node ${self.node}: spec.podCIDR ${subnet} is not inside the net-conf Network ${this.opts.netConf.network}`);
      }
      await this.assertAnnotations(this.opts.patchTimeoutMs);
      this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs);
      this.resyncTimer.unref?.();
      const published = informer.get(self.node)?.metadata?.annotations?.[this.names.publicIp] ?? self.publicIp;
      return {
        node: self.node,
        subnet,
        publicIp: published,
        backendType: self.backendType,
        ...(self.backendType === 'vxlan' ? { vni: self.vni, ...(self.vtepMac ? { vtepMac: normalizeMac(self.vtepMac) } : {}) } : {}),
      };
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  async publish(self: LocalAnnouncement): Promise<void> {
    if (!this.self) throw new Error('kubernetes subnet source: publish before start');
    if (self.node !== this.self.node)
      throw new Error(`kubernetes subnet source: started as node ${this.self.node}, cannot publish as ${self.node}`);
    desiredAnnotations(self, this.names);
    this.self = { ...self };
    await this.assertAnnotations(this.opts.patchTimeoutMs);
  }

  peers(): NodeLease[] {
    return [...this.peerMap.values()].sort((a, b) => a.node.localeCompare(b.node));
  }

  unusable(): { node: string; why: string }[] {
    return [...this.notPeers].map(([node, why]) => ({ node, why })).sort((a, b) => a.node.localeCompare(b.node));
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.resyncTimer);
    for (const w of this.wakers) w();
    await this.informer?.stop();
  }

  // ---------------------------------------------------------------------------------------------------

  private onListed(): void {
    this.synced = true;
    this.backoffMs = 500;
    this.lastError = undefined;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Resolves when `ready()` holds, re-checked on every informer event (no timer polling); rejects after `ms`. */
  private waitFor(ready: () => boolean, ms: number, why: () => string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.closed) done(new Error('kubernetes subnet source closed while starting'));
        else if (ready()) done();
      };
      const timer = setTimeout(() => done(new Error(`${why()} (waited ${Math.round(ms / 1000)} s)`)), ms);
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.wakers.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.wakers.add(check);
      check();
    });
  }

  private onNode(node: k8s.V1Node, deleted: boolean): void {
    this.backoffMs = 500;
    const name = node.metadata?.name ?? '';
    if (this.self && name === this.self.node) {
      if (!deleted && this.synced && this.resyncTimer) this.reassert();
      this.wake();
      return;
    }
    const changed = this.updatePeer(name, deleted ? undefined : node);
    this.wake();
    if (changed) this.emit();
  }

  /** Updates one node's entry; returns whether the peer set changed. */
  private updatePeer(name: string, node: k8s.V1Node | undefined): boolean {
    const before = this.peerMap.get(name);
    let after: NodeLease | undefined;
    if (node) {
      const r = leaseFromNode(node, this.names);
      if ('lease' in r) {
        after = r.lease;
        this.notPeers.delete(name);
      } else if (this.notPeers.get(name) !== r.why) {
        this.notPeers.set(name, r.why);
        this.log.info('node is not a peer (yet)', { node: name, why: r.why });
      }
    } else {
      this.notPeers.delete(name);
    }
    if (after) this.peerMap.set(name, after);
    else this.peerMap.delete(name);
    return (before ? leaseKey(before) : '') !== (after ? leaseKey(after) : '');
  }

  private emit(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.log.error('subnet change listener failed', { error: (e as Error).message });
      }
    }
  }

  private onInformerError(err: unknown): void {
    if (this.closed) return;
    this.lastError = describeApiError(err);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.retryMaxMs);
    this.log.warn('node watch failed; restarting', { error: this.lastError, retryInMs: delay });
    this.wake();
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.closed) this.informer?.start().catch((e) => this.onInformerError(e));
    }, delay);
  }

  /** Level-triggered pass over the cache: peers rebuilt from it, own annotations re-asserted. */
  private resync(): void {
    if (!this.informer || this.closed) return;
    const seen = new Set<string>();
    let changed = false;
    for (const n of this.informer.list()) {
      const name = n.metadata?.name ?? '';
      if (name === this.self?.node) continue;
      seen.add(name);
      changed = this.updatePeer(name, n) || changed;
    }
    for (const name of [...this.peerMap.keys()]) if (!seen.has(name)) changed = this.updatePeer(name, undefined) || changed;
    if (changed) this.emit();
    this.reassert();
  }

  private reassert(): void {
    this.assertAnnotations(0).catch((e) =>
      this.log.error('cannot restore the flannel annotations on this node', { node: this.self?.node, error: (e as Error).message }),
    );
  }

  /**
   * Patches this node's flannel annotations where they differ from what it announces (only the differing
   * keys, as flannel's two-way strategic merge patch). Serialized: a request made while one is in flight
   * runs once more after it, against the then-current cache. Retries until `retryForMs` has passed.
   */
  private assertAnnotations(retryForMs: number): Promise<void> {
    if (this.patching) {
      this.patchAgain = true;
      return this.patching;
    }
    const run = async () => {
      do {
        this.patchAgain = false;
        await this.patchOnce(retryForMs);
      } while (this.patchAgain && !this.closed);
    };
    this.patching = run().finally(() => {
      this.patching = undefined;
    });
    return this.patching;
  }

  private async patchOnce(retryForMs: number): Promise<void> {
    const self = this.self!;
    const deadline = Date.now() + retryForMs;
    for (let delay = 500; ; delay = Math.min(delay * 2, 4000)) {
      const node = this.informer?.get(self.node);
      if (!node || this.closed) return;
      const have = node.metadata?.annotations ?? {};
      const want = desiredAnnotations(self, this.names, have[this.names.publicIpOverwrite]);
      const diff = Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
      if (Object.keys(diff).length === 0) return;
      try {
        const updated = await this.api!.patchNodeStatus(
          { name: self.node, body: { metadata: { annotations: diff } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
        );
        this.log.info('flannel annotations written', { node: self.node, annotations: diff });
        // The watch will deliver this too; applying it now lets a following check see the new state.
        const cached = this.informer?.get(self.node);
        if (cached && updated?.metadata?.annotations) cached.metadata = { ...cached.metadata, annotations: updated.metadata.annotations };
        return;
      } catch (e) {
        const msg = `cannot patch the flannel annotations of node ${self.node}: ${describeApiError(e)}`;
        if (Date.now() + delay > deadline || this.closed) throw new Error(msg);
        this.log.warn(msg, { retryInMs: delay });
        await sleep(delay);
      }
    }
  }
}
