/**
 * The reconciler's vocabulary: desired HCN documents, what a data plane reports, and the plan between them.
 * Identity: Name for networks and endpoints; for namespaces (HCN gives them no name) the Name when a caller
 * gives one, else the ID, else "the HostDefault namespace"; for load balancers the Name, else frontend VIPs +
 * protocol + external port; for policies their type + key settings (compare.ts).
 */
import type { HostComputeEndpoint } from '../hns/endpoint';
import type { HostComputeLoadBalancer } from '../hns/loadbalancer';
import type { HostComputeNamespace } from '../hns/namespace';
import type { HostComputeNetwork } from '../hns/network';
import type { EndpointPolicy, NetworkPolicy } from '../hns/policy';

export type ObjectKind = 'Network' | 'Endpoint' | 'Namespace' | 'LoadBalancer';

export interface DesiredNetwork {
  /** Name is required. Policies are the ones that must be present; HNS may hold more. */
  doc: HostComputeNetwork;
  /**
   * Policy types this caller owns on the network: a live policy of these types that is not desired is
   * removed (the agent owns RemoteSubnetRoute; `apply -f` owns nothing and only adds).
   */
  ownedPolicyTypes?: readonly string[];
}

/** A namespace named by a caller: a desired namespace's key, an existing one's ID or Name, or the host's own. */
export type NamespaceRef = { hostDefault: true } | { ref: string };

export interface DesiredEndpoint {
  /** Name is required; HostComputeNetwork is the network's Name (desired or existing) or ID. */
  doc: HostComputeEndpoint;
  attachTo?: NamespaceRef;
  /**
   * An existing endpoint whose fields differ is deleted and created again (only for endpoints the caller owns
   * outright, e.g. the agent's host endpoint); otherwise the difference is a conflict.
   */
  replaceOnDrift?: boolean;
}

export interface DesiredNamespace {
  /** Identity: Name, else ID, else Type HostDefault (the host's own namespace, never created). */
  doc: HostComputeNamespace;
  /** Endpoints to attach: names (desired or existing) or IDs. */
  endpoints?: string[];
}

export interface DesiredLoadBalancer {
  /** HostComputeEndpoints are endpoint names (desired or existing) or IDs. */
  doc: HostComputeLoadBalancer;
}

export interface DesiredState {
  networks?: DesiredNetwork[];
  endpoints?: DesiredEndpoint[];
  namespaces?: DesiredNamespace[];
  loadBalancers?: DesiredLoadBalancer[];
}

export interface LiveState {
  networks: HostComputeNetwork[];
  endpoints: HostComputeEndpoint[];
  namespaces: HostComputeNamespace[];
  loadBalancers: HostComputeLoadBalancer[];
}

/** An existing object's ID, or the key of a desired object an earlier step creates. */
export type ObjectRef = { id: string } | { pending: string };

interface StepBase {
  kind: ObjectKind;
  /** The desired object's key (`Network/cbr0`, `Namespace/<id>`), or a live object's for deletes. */
  key: string;
  /** Why, for logs: "RemoteSubnetRoute 10.244.3.0/24 missing". */
  reason: string;
}

export type Step =
  | (StepBase & { op: 'create'; kind: 'Network'; doc: HostComputeNetwork })
  | (StepBase & { op: 'modify'; kind: 'Network'; target: string; change: { policies: 'Add' | 'Remove'; list: NetworkPolicy[] } })
  | (StepBase & { op: 'create'; kind: 'Endpoint'; doc: HostComputeEndpoint; network: ObjectRef })
  | (StepBase & { op: 'modify'; kind: 'Endpoint'; target: ObjectRef; change: { policies: 'Add' | 'Remove'; list: EndpointPolicy[] } })
  | (StepBase & { op: 'delete'; kind: 'Endpoint'; target: string; attachedTo?: string })
  | (StepBase & { op: 'create'; kind: 'Namespace'; doc: HostComputeNamespace })
  | (StepBase & { op: 'modify'; kind: 'Namespace'; target: ObjectRef; change: { attach: ObjectRef } })
  | (StepBase & { op: 'create'; kind: 'LoadBalancer'; doc: HostComputeLoadBalancer; endpoints: ObjectRef[] })
  | (StepBase & { op: 'modify'; kind: 'LoadBalancer'; target: string; doc: HostComputeLoadBalancer; endpoints: ObjectRef[] });

/** A desired object that exists with fields HNS cannot change in place. */
export interface Conflict {
  kind: ObjectKind;
  key: string;
  name?: string;
  id?: string;
  fields: string[];
}

/** Every desired object, in plan order, with what was found for it. */
export interface PlannedObject {
  kind: ObjectKind;
  key: string;
  /** The live object it was matched with (absent: it is created). */
  existing?: HostComputeNetwork | HostComputeEndpoint | HostComputeNamespace | HostComputeLoadBalancer;
}

export interface Plan {
  steps: Step[];
  conflicts: Conflict[];
  /** References that resolve to nothing, each naming the field ("Endpoint/web-1: HostComputeNetwork: ..."). */
  problems: string[];
  objects: PlannedObject[];
}

export type ObjectResult = 'created' | 'configured' | 'unchanged';

export interface AppliedObject {
  kind: ObjectKind;
  key: string;
  result: ObjectResult;
  document: HostComputeNetwork | HostComputeEndpoint | HostComputeNamespace | HostComputeLoadBalancer;
}
