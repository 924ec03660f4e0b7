/**
 * What this agent created on the node, recorded as it happens, so `switchyard agent cleanup` removes exactly
 * that and nothing it merely adopted (a network flannel or an operator made, a conflist or subnet.env it
 * found identical, entrypoints already in place). One JSON file per network beside the IPAM store the agent
 * reserves in (`<cni.ipamDataDir>/.switchyard-agent/<network>.json`), which is per node, written atomically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readFileNoFollow, writeFileAtomicSync } from '../../util/atomic-write';
import { getCI } from '../../hns/json';
import type { NetworkPolicy } from '../../hns/policy';
import type { AppliedObject } from '../../reconcile';

export interface CreatedObject {
  name: string;
  id: string;
}

export interface CreatedRecord {
  version: 1;
  /** The cluster network, only when this agent created it (an adopted one is never listed). */
  network?: CreatedObject;
  /** The Windows placeholder network, only when this agent created it. */
  placeholder?: CreatedObject;
  /** Host and source-VIP endpoints this agent created. */
  endpoints: CreatedObject[];
  /** Peer RemoteSubnetRoute policies this agent added to the network (their DestinationPrefix). */
  peerPolicies: string[];
  /** Peer host routes this agent added (DestinationPrefix → NextHop), where the data plane has host routes. */
  hostRoutes: { destinationPrefix: string; nextHop: string; interfaceAlias?: string }[];
  /** Files this agent wrote (conflist, subnet.env) or copied (CNI entrypoints), absolute paths. */
  files: string[];
}

export function createdRecordPath(ipamDataDir: string, network: string): string {
  return path.join(ipamDataDir, '.switchyard-agent', `${network}.json`);
}

export function emptyRecord(): CreatedRecord {
  return { version: 1, endpoints: [], peerPolicies: [], hostRoutes: [], files: [] };
}

/** The record, or undefined when this agent never recorded anything here. A damaged file is an error naming it. */
export function readCreated(file: string): CreatedRecord | undefined {
  let text: string;
  try {
    text = readFileNoFollow(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`agent record ${file}: ${(e as Error).message}`);
  }
  let v: Partial<CreatedRecord>;
  try {
    v = JSON.parse(text) as Partial<CreatedRecord>;
  } catch (e) {
    throw new Error(`agent record ${file} is not JSON: ${(e as Error).message}`);
  }
  if (v.version !== 1) throw new Error(`agent record ${file}: version ${String(v.version)} is not 1`);
  return { ...emptyRecord(), ...v } as CreatedRecord;
}

/** Keeps the record of one agent run in memory and on disk (written only when it changes). */
export class CreatedLedger {
  private rec: CreatedRecord;
  private written: string;

  constructor(readonly file: string) {
    let loaded: CreatedRecord | undefined;
    try {
      loaded = readCreated(file);
    } catch {
      // A damaged record is replaced by what this run observes; cleanup then removes only that.
    }
    this.rec = loaded ?? emptyRecord();
    this.written = loaded ? JSON.stringify(loaded) : '';
  }

  get record(): Readonly<CreatedRecord> {
    return this.rec;
  }

  setNetwork(kind: 'network' | 'placeholder', obj: CreatedObject): void {
    this.rec[kind] = obj;
  }

  /** A network was adopted under this name: an older record of a network by that name (another ID) no longer holds. */
  adoptedNetwork(kind: 'network' | 'placeholder', name: string, id: string): void {
    const had = this.rec[kind];
    if (had && had.name === name && had.id.toLowerCase() !== id.toLowerCase()) delete this.rec[kind];
  }

  addEndpoint(obj: CreatedObject): void {
    this.rec.endpoints = [...this.rec.endpoints.filter((e) => e.name !== obj.name), obj];
  }

  setPeerPolicies(prefixes: string[]): void {
    this.rec.peerPolicies = [...new Set(prefixes)].sort();
  }

  setHostRoutes(routes: CreatedRecord['hostRoutes']): void {
    this.rec.hostRoutes = [...routes].sort((a, b) => a.destinationPrefix.localeCompare(b.destinationPrefix));
  }

  addFile(file: string): void {
    const abs = path.resolve(file);
    if (!this.rec.files.includes(abs)) this.rec.files = [...this.rec.files, abs].sort();
  }

  /** What a reconcile pass applied: the network and the agent's endpoints it created, the peer policies it holds. */
  recordApplied(applied: AppliedObject[], network: string, endpointNames: string[], policies: NetworkPolicy[]): void {
    for (const a of applied) {
      const id = a.document?.ID;
      const name = (a.document as { Name?: string } | undefined)?.Name;
      if (!id || !name) continue;
      if (a.kind === 'Network' && name === network) {
        if (a.result === 'created') this.setNetwork('network', { name, id });
        else this.adoptedNetwork('network', name, id);
      }
      if (a.kind === 'Endpoint' && endpointNames.includes(name) && a.result === 'created') this.addEndpoint({ name, id });
    }
    this.setPeerPolicies(
      policies.filter((p) => p.Type === 'RemoteSubnetRoute').map((p) => String(getCI(p.Settings, 'DestinationPrefix') ?? '')),
    );
  }

  /** Writes the record when it changed; a failure is returned (the caller logs it), never thrown. */
  flush(): string | undefined {
    const text = JSON.stringify(this.rec);
    if (text === this.written) return undefined;
    try {
      writeFileAtomicSync(this.file, JSON.stringify(this.rec, null, 2) + '\n', 0o600);
      this.written = text;
      return undefined;
    } catch (e) {
      return `agent record ${this.file} not written: ${(e as Error).message}`;
    }
  }
}

export function removeRecord(file: string): void {
  fs.rmSync(file, { force: true });
}
