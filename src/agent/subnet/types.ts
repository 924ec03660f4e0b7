/**
 * Subnet sources: where a node learns its own pod subnet and its peers' (flannel's "subnet managers").
 * Every source (static, kubernetes, etcd) implements this one interface; the agent's peer programming and
 * reconcile loop see only NodeLease values, so a peer running real flannel and another Switchyard agent
 * look the same.
 */

/** flannel's backend types; Switchyard realizes host-gw as L2Bridge and vxlan as Overlay. */
export type BackendType = 'host-gw' | 'vxlan';

/** flannel's net-conf.json, parsed and defaulted (VNI 4096, Port 4789 for vxlan). */
export interface ClusterNetConf {
  /** Cluster pod CIDR (`Network`), e.g. 10.244.0.0/16. */
  network: string;
  /** Prefix length of each node's subnet (`SubnetLen`, default 24). */
  subnetLen: number;
  /** First/last subnet the etcd source may lease (`SubnetMin`/`SubnetMax`; flannel skips the first subnet). */
  subnetMin?: string;
  subnetMax?: string;
  backend: {
    type: BackendType;
    /** VXLAN network identifier (`VNI`); flannel's Windows default is 4096. */
    vni: number;
    /** VXLAN UDP port (`Port`); 4789 by default. */
    port: number;
    /** vxlan with host-gw routes to peers on the same L2 (`DirectRouting`). */
    directRouting: boolean;
    /** `Backend.Name`: the HNS network name (default cbr0 for host-gw, flannel.<VNI> for vxlan). */
    name?: string;
  };
}

/** What a node publishes about itself and reads of every other node (flannel annotations / lease values). */
export interface NodeLease {
  node: string;
  /** The node's pod subnet, CIDR. */
  subnet: string;
  /** flannel.alpha.coreos.com/public-ip, etcd lease `PublicIP`. */
  publicIp: string;
  backendType: BackendType;
  /** vxlan only: backend-data `VNI`. */
  vni?: number;
  /** vxlan only: backend-data `VtepMAC` (the node's distributed-router / VTEP MAC, aa:bb:cc:dd:ee:ff). */
  vtepMac?: string;
}

/** What this node announces when it starts (its subnet comes back from the source). */
export interface LocalAnnouncement {
  node: string;
  publicIp: string;
  backendType: BackendType;
  vni?: number;
  vtepMac?: string;
}

export interface SubnetSource {
  /** 'static' | 'kubernetes' | 'etcd': for status output and logs. */
  readonly kind: 'static' | 'kubernetes' | 'etcd';
  /**
   * Acquires (etcd: leases or renews; kubernetes: reads spec.podCIDR and patches the flannel annotations;
   * static: the configured CIDR) this node's lease and starts watching peers. Resolves once the node's own
   * subnet is known; rejects with a message naming what is missing (e.g. "node w1 has no spec.podCIDR").
   */
  start(self: LocalAnnouncement): Promise<NodeLease>;
  /**
   * Publishes changed local data after start (e.g. the VtepMAC once the overlay network exists). Sources that
   * publish nothing (static) resolve at once.
   */
  publish(self: LocalAnnouncement): Promise<void>;
  /** Every other node's current lease (never this node's own), as last seen. */
  peers(): NodeLease[];
  /**
   * Other nodes seen in the cluster but not usable as peers, with the reason (no flannel annotations or pod
   * CIDR yet, a backend type Switchyard does not program, an unreadable lease), for status and events.
   */
  unusable?(): { node: string; why: string }[];
  /** Called after any change to the peer set or a peer's lease (coalescing is the caller's business). */
  onChange(listener: () => void): void;
  /** Stops watches and renewals. Does not delete this node's lease (it is kept across restarts). */
  close(): Promise<void>;
}
