/**
 * The linux data plane's record of the HCN documents it realized, and of the kernel names it chose, kept in
 * one JSON file written atomically under a lock (so concurrent CNI processes on one node serialize).
 */
import type { HostComputeEndpoint, HostComputeLoadBalancer, HostComputeNamespace, HostComputeNetwork } from '../../hns';
import { parseHnsJson, stringifyHnsJson } from '../../hns/json';
import { mkdirPrivate, writeFileAtomic, writeFileAtomicSync } from '../../util/atomic-write';
import { withFileLock } from '../../util/file-lock';

export interface NetworkRecord {
  doc: HostComputeNetwork;
  type: 'L2Bridge' | 'Overlay' | 'NAT' | 'Transparent';
  bridge?: string;
  vxlan?: string;
  uplink?: string;
  subnet?: string;
  gateway?: string;
  mtu: number;
  vni?: number;
  port?: number;
  providerAddress?: string;
  drMac?: string;
}

export interface EndpointRecord {
  doc: HostComputeEndpoint;
  /** Host end of the veth (bridge networks). */
  veth?: string;
  netns?: string;
  ifname?: string;
  /** Set before links are created for an attach, cleared when it completes: a crash leaves it behind for reconcile. */
  attaching?: { netns: string; ifname: string };
  attached?: boolean;
  /** Attached to the host namespace: the endpoint's address is on the network's bridge (host.ts). */
  host?: boolean;
}

export interface NamespaceRecord {
  doc: HostComputeNamespace;
  path: string;
  created?: boolean;
}

export interface LinuxState {
  networks: Record<string, NetworkRecord>;
  endpoints: Record<string, EndpointRecord>;
  namespaces: Record<string, NamespaceRecord>;
  loadBalancers: Record<string, HostComputeLoadBalancer>;
  /** The last nftables ruleset applied, so unchanged documents cost no nft run. */
  ruleset?: string;
  /** What each load balancer put in the `ip switchyard-lb` table (lb-nft.ts), by LB key; lbTable: the table exists. */
  lbNft?: Record<string, import('./lb-nft').LbRecord>;
  lbTable?: boolean;
}

/** The state file cannot be used as it is (malformed JSON or entries); the message names the file and the fix. */
export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateFileError';
  }
}

export const emptyState = (): LinuxState => ({ networks: {}, endpoints: {}, namespaces: {}, loadBalancers: {} });

/**
 * The state as every reader sees it: the snapshot file with its journal's records applied
 * (state-journal.ts). A read: nothing is written, a torn journal tail included.
 */
export function loadState(file: string): LinuxState {
  return (require('./state-journal') as typeof import('./state-journal')).readStateFiles(file).state;
}

/** The state from the file's text (empty text: an empty state); `file` names it in the error. */
export function parseState(text: string, file: string): LinuxState {
  if (!text.trim()) return emptyState();
  let parsed: unknown;
  try {
    parsed = parseHnsJson<unknown>(text);
  } catch (e) {
    throw new StateFileError(`linux data plane state ${file} is not valid JSON (${(e as Error).message}); move it away to start empty`);
  }
  return checkState(file, parsed);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A malformed entry (`null`, a record without its document) is refused, naming the file and the entry, by
 * every command alike (reads and writes), and the file is left as it is: never carried forward by a write.
 */
function checkState(file: string, parsed: unknown): LinuxState {
  if (!isObject(parsed)) throw bad(file, 'the file must hold a JSON object');
  for (const field of CHECKED_TABLES) {
    const table = parsed[field];
    if (table === undefined) continue;
    if (!isObject(table)) throw bad(file, `"${field}" must be an object keyed by ID`);
    for (const [k, rec] of Object.entries(table)) checkEntry(file, field, k, rec);
  }
  return { ...emptyState(), ...(parsed as Partial<LinuxState>) };
}

const CHECKED_TABLES = ['networks', 'endpoints', 'namespaces', 'loadBalancers'] as const;

const bad = (file: string, what: string) => new StateFileError(`linux data plane state ${file}: ${what}; fix or remove that entry`);

/** One entry of a table as checkState checks it (the journal's records are checked alike). */
export function checkEntry(file: string, field: string, k: string, rec: unknown): void {
  if (!(CHECKED_TABLES as readonly string[]).includes(field)) return;
  const entry = `entry ${field}["${k}"]`;
  if (!isObject(rec)) throw bad(file, `${entry} must be an object, not ${rec === null ? 'null' : typeof rec}`);
  const doc = field === 'loadBalancers' ? rec : rec.doc;
  if (!isObject(doc) || typeof doc.ID !== 'string') throw bad(file, `${entry} has no document with a string "ID"`);
}

/** The file's bytes for a state (saveState writes exactly these). */
export function serializeState(s: LinuxState): string {
  return stringifyHnsJson(s, 1);
}

/**
 * Durability (docs/linux.md "State file"): the new file is fsynced before the rename, so the name never
 * points at unwritten data; the directory is not synced, since a power loss can then only bring back the
 * previous complete state, and the kernel objects it describes do not survive a reboot either (reconcile
 * repairs both on the next open). A SIGKILL never needs either: rename is atomic on the live filesystem.
 */
export function saveState(file: string, s: LinuxState): void {
  writeFileAtomicSync(file, stringifyHnsJson(s, 1), 0o600, { syncDir: false });
}

/** saveState off the event loop (the same bytes and guarantees), for writes at the end of a mutation. */
export function saveStateAsync(file: string, s: LinuxState): Promise<void> {
  return writeFileAtomic(file, stringifyHnsJson(s, 1), 0o600, { syncDir: false });
}

export function withStateLock<T>(file: string, fn: () => Promise<T> | T): Promise<T> {
  mkdirPrivate(require('node:path').dirname(file));
  return withFileLock(`${file}.lock`, fn);
}

export const key = (id: string) => id.toLowerCase();
