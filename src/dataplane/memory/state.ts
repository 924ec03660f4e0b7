/**
 * The emulator's state: one JSON file shared by every process that opens the memory data plane (CLI,
 * CNI entrypoints, agent). Mutations take an exclusive lock on `<state>.lock`, re-read the file, change it
 * and replace it atomically, so concurrent processes never lose an update and a killed process leaves
 * either the old or the new file. Reads take no lock: the file is only ever replaced whole.
 */
import type { HostRoute } from '../types';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acquireLock, LockTimeoutError, type FileLock } from '../../util/file-lock';
import { mkdirPrivate, readFileNoFollow, writeFileAtomic } from '../../util/atomic-write';
import { parseHnsJson, stringifyHnsJson } from '../../hns/json';
import type {
  HnsV1PolicyList,
  HnsVersion,
  HostComputeEndpoint,
  HostComputeLoadBalancer,
  HostComputeNamespace,
  HostComputeNetwork,
} from '../../hns';
import type { ComputeSystemRecord } from './compute-systems';

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

/** What a mutation needs besides the state: the host facts in effect for this process. */
export interface MutationEnv {
  version: HnsVersion;
  host: EmulatedHost;
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
  /** HCS compute systems (containers) of the emulated host; absent in files written before it existed. */
  ComputeSystems?: ComputeSystemRecord[];
  /** The host's IPv4 route table (routes.ts); absent in files written before it existed. */
  HostRoutes?: HostRoute[];
}

export class EmulatorStateError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
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

/** JSON.parse unless the text holds an integer literal long enough to lose precision (then bigint-safe). */
function parseState(text: string): unknown {
  return parseHnsJson(text);
}

/** One object per line inside each top-level array: greppable and diffable, and cheap to write. */
function serializeState(state: EmulatorState): string {
  const enc = (v: unknown): string => {
    try {
      return JSON.stringify(v);
    } catch (e) {
      // Only bigint (uint64 beyond 2^53) makes JSON.stringify throw here; take the slower exact path.
      if (e instanceof TypeError) return stringifyHnsJson(v);
      throw e;
    }
  };
  const parts = Object.entries(state).map(([k, v]) => {
    if (Array.isArray(v)) return `${JSON.stringify(k)}: [${v.length ? '\n' + v.map(enc).join(',\n') + '\n' : ''}]`;
    return `${JSON.stringify(k)}: ${enc(v)}`;
  });
  return `{\n${parts.join(',\n')}\n}\n`;
}

/**
 * Windows refuses to rename over a file that another process has open at that instant (a reader of this
 * very state), with EPERM/EBUSY/EACCES; those clear within milliseconds, so the write is retried there.
 */
async function writeReplacing(file: string, text: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // The file is fsynced before the rename, the directory not: a power loss can at worst bring back the
      // previous complete state (docs/linux.md "State file durability"); a killed process leaves old or new.
      // Off the event loop, so an agent keeps serving other calls while this one waits for the disk.
      await writeFileAtomic(file, text, 0o600, { syncDir: false });
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (process.platform !== 'win32' || !['EPERM', 'EBUSY', 'EACCES'].includes(code) || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 5 * attempt));
    }
  }
}

export class StateStore {
  readonly file: string;
  readonly lockFile: string;
  /**
   * The last text read or written and its parsed form. Reading the file is cheap, parsing it is not;
   * the file is only ever replaced whole, so equal text means equal state. Callers of read() must not
   * modify what it returns (they clone what they hand out); mutate() owns its copy until it commits.
   */
  private cache?: { text: string; state: EmulatorState };

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
      ComputeSystems: [],
    };
  }

  /**
   * The current state; a missing file is an empty host. Never resets a file it cannot read.
   * The result may be shared with later calls: treat it as read-only.
   */
  read(): EmulatorState {
    let text: string;
    try {
      text = readFileNoFollow(this.file);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') return this.fresh();
      throw new EmulatorStateError(this.file, `cannot be read (${err.code ?? err.message})`);
    }
    if (this.cache && this.cache.text === text) return this.cache.state;
    let doc: unknown;
    try {
      doc = parseState(text);
    } catch (e) {
      throw new EmulatorStateError(this.file, `is not valid JSON (${(e as Error).message}); fix or remove it`);
    }
    const state = this.validate(doc);
    this.cache = { text, state };
    return state;
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
      (s[k] as unknown[]).forEach((entry, i) => this.validateEntry(k, i, entry));
    }
    if (s.ComputeSystems !== undefined && !Array.isArray(s.ComputeSystems)) {
      throw new EmulatorStateError(this.file, 'field "ComputeSystems" must be an array');
    }
    if (s.HostRoutes !== undefined && !Array.isArray(s.HostRoutes))
      throw new EmulatorStateError(this.file, 'field "HostRoutes" must be an array');
    const h = s.Host as Partial<EmulatedHost> | undefined;
    if (!h || typeof h !== 'object') throw new EmulatorStateError(this.file, 'field "Host" is missing');
    if (!h.Version || typeof h.Version.Major !== 'number' || typeof h.Version.Minor !== 'number') {
      throw new EmulatorStateError(this.file, 'field "Host.Version" must be {"Major":n,"Minor":n}');
    }
    if (!Number.isInteger(h.NextNamespaceId)) throw new EmulatorStateError(this.file, 'field "Host.NextNamespaceId" must be an integer');
    for (const k of ['ManagementIP', 'DrMacAddress'] as const) {
      if (typeof h[k] !== 'string') throw new EmulatorStateError(this.file, `field "Host.${k}" must be a string`);
    }
    return s as EmulatorState;
  }

  /**
   * Every stored object is a JSON object with a string ID: an entry like `null` would otherwise make reads
   * fail later with a misleading error and writes carry it forward. Refused here, identically for every
   * command, naming the entry to fix; the file is left as it is.
   */
  private validateEntry(field: string, i: number, entry: unknown): void {
    const what = `entry ${field}[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      const got = entry === null ? 'null' : Array.isArray(entry) ? 'an array' : `a ${typeof entry}`;
      throw new EmulatorStateError(this.file, `${what} must be an object, not ${got}; fix or remove that entry`);
    }
    const id = (entry as { ID?: unknown }).ID;
    if (typeof id !== 'string' || id === '' || id.length > 256)
      throw new EmulatorStateError(this.file, `${what} has no string "ID"; fix or remove that entry`);
  }

  /**
   * Temp files of the atomic write that a killed process left behind. Only called under the lock, when
   * no other process can be writing one, so every match is stale.
   */
  private removeStaleTemps(): void {
    const dir = path.dirname(this.file);
    const prefix = `.${path.basename(this.file)}.`;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith(prefix) && n.endsWith('.tmp')) fs.rmSync(path.join(dir, n), { force: true });
    }
  }

  /**
   * Lock → read → fn → atomic write → unlock. If fn throws, nothing is written, so a refused request
   * leaves no half-created object behind.
   */
  async mutate<T>(fn: (state: EmulatorState) => T): Promise<T> {
    let lock: FileLock;
    try {
      mkdirPrivate(path.dirname(this.file));
      lock = await acquireLock(this.lockFile, this.opts.lockTimeoutMs);
    } catch (e) {
      if (e instanceof LockTimeoutError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new EmulatorStateError(this.file, `cannot be locked (${err.code ?? err.message} on ${this.lockFile})`);
    }
    try {
      this.removeStaleTemps();
      const state = this.read();
      let result: T;
      try {
        result = fn(state);
      } catch (e) {
        // fn may have changed the cached object before refusing: forget it, the file is the truth.
        this.cache = undefined;
        throw e;
      }
      const text = serializeState(state);
      // fn changed the cached object in place: until the new file is in place, a read() in this process
      // (another call of the agent) must parse the file's committed text, not see this uncommitted state.
      this.cache = undefined;
      try {
        await writeReplacing(this.file, text);
      } catch (e) {
        this.cache = undefined;
        throw new EmulatorStateError(this.file, `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      this.cache = { text, state };
      return result;
    } finally {
      lock.release();
    }
  }
}
