/** What the agent reports: one reconcile pass, and its status (the local API's `status`, `switchyard agent` logs). */
import type { CniSummary } from './metrics';

export interface ReconcileReport {
  reason: string;
  at: string;
  durationMs: number;
  /** What was done, one line per step (`modify Network/cbr0: RemoteSubnetRoute 10.244.3.0/24 missing`). */
  steps: string[];
  /** Steps that repaired drift (something the agent had programmed was gone or changed). */
  repairs: string[];
  error?: string;
}

export interface AgentStatus {
  node: string;
  subnetSource: string;
  subnet?: string;
  backend: { type: string; vni?: number; port?: number };
  network: { name: string; id?: string; type: string; ready: boolean };
  hostEndpoint?: { name: string; ip: string; id?: string; ready: boolean };
  sourceVip?: { ip: string; endpoint: string; id?: string };
  vtepMac?: string;
  cniConfig: { file: string; written: boolean };
  peers: { node: string; subnet: string; publicIp: string; state: string; reason?: string }[];
  lastReconcile?: ReconcileReport;
  reconciles: number;
  problems: string[];
  ready: boolean;
  missing: string[];
  /** Drift repairs since start, and CNI calls served through the local API (added by the API's handler). */
  driftRepairs?: number;
  cni?: CniSummary;
}
