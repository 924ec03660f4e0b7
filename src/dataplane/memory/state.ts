/**
 * The emulator's state: one JSON file shared by every process that opens the memory data plane (CLI,
 * CNI entrypoints, agent). Mutations take an exclusive lock on `<state>.lock`, re-read the file, change it
 * and replace it atomically, so concurrent processes never lose an update and a killed process leaves
 * either the old or the new file. Reads take no lock: the file is only ever replaced whole.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acquireLock } from '../../util/file-lock';
import { writeFileAtomicSync } from '../../util/atomic-write';
import { parseHnsJson, stringifyHnsJson } from '../../hns/json';
import type {
  HnsV1PolicyList, HnsVersion, HostComputeEndpoint, HostComputeLoadBalancer, HostComputeNamespace, HostComputeNetwork,
} from '../../hns';

export const STATE_KIND = 'switchyard-hns-emulator';
export const STATE_FORMAT = 1;

/** Facts about the emulated Windows host that HNS reports back. */
export interface EmulatedHost {
  Version: HnsVersion;
  /** The host's management address: Overlay/L2Bridge ProviderAddress policy, v1 ManagementIP. */
  ManagementIP: string;
  /** The distributed router MAC HNS publishes on Overlay/L2Bridge networks (DrMacAddress policy). */
  DrMacAddress: string;
  /** Next compartment ID for a new namespace (1 is the host's default compartment). */
  NextNamespaceId: number;
}

export interface EmulatorState {
  Kind: typeof STATE_KIND;
  FormatVersion: number;
  Host: EmulatedHost;
  Networks: HostComputeNetwork[];
  Endpoints: HostComputeEndpoint[];
  Namespaces: HostComputeNamespace[];
  LoadBalancers: HostComputeLoadBalancer[];
  /** v1 policy lists with no v2 counterpart (ROUTE lists); ELB lists live in LoadBalancers. */
  PolicyLists: HnsV1PolicyList[];
}

export class EmulatorStateError extends Error {
  constructor(readonly file: string, message: string) {
    super(`HNS emulator state file ${file}: ${message}`);
    this.name = 'EmulatorStateError';
  }
}

export interface StateStoreOptions {
  file: string;
  /** Host facts used when the file does not exist yet. */
  initialHost: () => EmulatedHost;
  /** The HostDefault namespace every emulated host has. */
  initialNamespaces: (host: EmulatedHost) => HostComputeNamespace[];
  lockTimeoutMs?: number;
}

export class StateStore {
  readonly file: string;
  readonly lockFile: string;

  constructor(private readonly opts: StateStoreOptions) {
    this.file = path.resolve(opts.file);
    this.lockFile = this.file + '.lock';
  }

  private fresh(): EmulatorState {
    const host = this.opts.initialHost();
    return {
      Kind: STATE_KIND,
      FormatVersion: STATE_FORMAT,
      Host: host,
      Networks: [],
      Endpoints: [],
      Namespaces: this.opts.initialNamespaces(host),
      LoadBalancers: [],
      PolicyLists: [],
    };
  }

  /** The current state; a missing file is an empty host. Never resets a file it cannot read. */
  read(): EmulatorState {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') return this.fresh();
      throw new EmulatorStateError(this.file, `cannot be read (${err.code ?? err.message})`);
    }
    let doc: unknown;
    try {
      doc = parseHnsJson(text);
    } catch (e) {
      throw new EmulatorStateError(this.file, `is not valid JSON (${(e as Error).message}); fix or remove it`);
    }
    return this.validate(doc);
  }

  private validate(doc: unknown): EmulatorState {
    const s = doc as Partial<EmulatorState> | null;
    if (!s || typeof s !== 'object' || s.Kind !== STATE_KIND) {
      throw new EmulatorStateError(this.file, `is not an emulator state file (expected "Kind":"${STATE_KIND}")`);
    }
    if (s.FormatVersion !== STATE_FORMAT) {
      throw new EmulatorStateError(this.file, `has format version ${String(s.FormatVersion)}, this build reads ${STATE_FORMAT}`);
    }
    for (const k of ['Networks', 'Endpoints', 'Namespaces', 'LoadBalancers', 'PolicyLists'] as const) {
      if (!Array.isArray(s[k])) throw new EmulatorStateError(this.file, `field "${k}" must be an array`);
    }
    if (!s.Host || typeof s.Host !== 'object') throw new EmulatorStateError(this.file, 'field "Host" is missing');
    return s as EmulatorState;
  }

  /**
   * Lock → read → fn → atomic write → unlock. If fn throws, nothing is written, so a refused request
   * leaves no half-created object behind.
   */
  async mutate<T>(fn: (state: EmulatorState) => T): Promise<T> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const lock = await acquireLock(this.lockFile, this.opts.lockTimeoutMs);
    try {
      const state = this.read();
      const result = fn(state);
      writeFileAtomicSync(this.file, stringifyHnsJson(state, 1) + '\n', 0o600);
      return result;
    } finally {
      lock.release();
    }
  }
}
