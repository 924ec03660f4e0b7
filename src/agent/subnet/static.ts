/**
 * The static subnet source: this node's pod CIDR and its peers come from configuration, for clusters with
 * neither Kubernetes nor etcd (labs, tests, fixed fleets). Peers can be replaced at run time (the agent does
 * so when its config file is reloaded), which is what makes joins and leaves observable without a cluster.
 */
import type { LocalAnnouncement, NodeLease, SubnetSource } from './types';

export class StaticSubnetSource implements SubnetSource {
  readonly kind = 'static' as const;
  private current: NodeLease[];
  private listeners: (() => void)[] = [];
  private self?: string;

  constructor(
    private readonly podCidr: string,
    peers: NodeLease[] = [],
  ) {
    this.current = [...peers];
  }

  async start(self: LocalAnnouncement): Promise<NodeLease> {
    this.self = self.node;
    return {
      node: self.node,
      subnet: this.podCidr,
      publicIp: self.publicIp,
      backendType: self.backendType,
      ...(self.vni !== undefined ? { vni: self.vni } : {}),
      ...(self.vtepMac ? { vtepMac: self.vtepMac } : {}),
    };
  }

  async publish(): Promise<void> {
    // Nothing to publish: the other nodes' configuration describes this one.
  }

  peers(): NodeLease[] {
    return this.current.filter((p) => p.node !== this.self).map((p) => ({ ...p }));
  }

  /** Replaces the peer set (config reload, tests, benchmarks) and tells the listeners. */
  setPeers(peers: NodeLease[]): void {
    this.current = [...peers];
    for (const l of this.listeners) l();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.listeners = [];
  }
}
