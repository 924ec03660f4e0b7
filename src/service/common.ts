/**
 * What `switchyard service` needs on every OS: the request, the lines it prints (each one a change made, or
 * with --dry-run one that would be made), file writes that say whether anything changed, and the install
 * record that tells uninstall what install created (so it never deletes what it did not create).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../util/atomic-write';

export const SERVICE_NAME = 'switchyard-agent';

export interface InstallRequest {
  /** The agent's configuration file (copied, or used where it is with configInPlace). */
  configFile: string;
  configInPlace: boolean;
  /** The node executable that runs the agent (default: the one running this CLI). */
  nodePath: string;
  /** The CLI entry point (dist/src/cli/main.js of this installation). */
  cliPath: string;
  /** Graceful-stop wait before the agent is killed (systemd TimeoutStopSec, the service host's stop-timeout-ms). */
  stopTimeoutSec: number;
}

export interface UninstallRequest {
  purge: boolean;
}

export interface ServiceStatus {
  installed: boolean;
  /** running, stopped, starting, stopping, failed, or the manager's own word. */
  state: string;
  pid?: number;
  exitCode?: number;
  startType?: string;
  details: Record<string, string>;
}

/** Thrown for problems found before anything was changed (CLI exit 2); the message names the option. */
export class ServiceUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Collects the lines the command prints; in dry-run mode actions are described, not done. */
export class Plan {
  readonly lines: string[] = [];
  constructor(
    readonly dryRun: boolean,
    private readonly out: (line: string) => void = () => {},
  ) {}
  /** Records an action; runs `act` unless this is a dry run. */
  async step(description: string, act: () => unknown | Promise<unknown>): Promise<void> {
    this.note(this.dryRun ? `would ${description}` : description);
    if (!this.dryRun) await act();
  }
  note(line: string): void {
    this.lines.push(line);
    this.out(line);
  }
}

export type FileChange = 'create' | 'update' | 'unchanged';

export function fileChange(file: string, content: string | Buffer): FileChange {
  if (!fs.existsSync(file)) return 'create';
  const now = fs.readFileSync(file);
  return now.equals(typeof content === 'string' ? Buffer.from(content) : content) ? 'unchanged' : 'update';
}

/** Writes `content` to `file` atomically if it differs; says what it did (or would do) in the plan. */
export async function writeFile(
  plan: Plan,
  what: string,
  file: string,
  shown: string,
  content: string | Buffer,
  mode: number,
): Promise<FileChange> {
  const change = fileChange(file, content);
  if (change === 'unchanged') plan.note(`${what} ${shown}: unchanged`);
  else await plan.step(`${change} ${what} ${shown}`, () => writeFileAtomicSync(file, content, mode));
  return change;
}

/** What install created, so uninstall --purge removes exactly that. Stored beside the copied config. */
export interface InstallRecord {
  version: 1;
  service: string;
  /** The configuration file the agent reads. */
  configPath: string;
  /** True when install copied the configuration there (and may remove it on --purge). */
  configCopied: boolean;
  /** Further files install wrote (the unit, the service host's configuration). */
  files: string[];
}

export function readRecord(file: string): InstallRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as InstallRecord;
    return r && r.version === 1 ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the configuration file to install, refusing (before any change) what the agent could not use. */
export function readConfigSource(file: string): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new ServiceUsageError(`--config: ${file} does not exist`);
  }
  if (!st.isFile()) throw new ServiceUsageError(`--config: ${file} is not a file`);
  return fs.readFileSync(file);
}

/** Removes a directory only when it is empty (it may hold files install did not create). */
export function removeDirIfEmpty(dir: string): boolean {
  try {
    if (fs.readdirSync(dir).length === 0) {
      fs.rmdirSync(dir);
      return true;
    }
  } catch {
    /* absent */
  }
  return false;
}

/** The package root of this installation (dist/src/service → the checkout or package folder). */
export function packageRoot(): string {
  return path.resolve(__dirname, '../../..');
}

/** One implementation per service manager: systemd (systemd.ts) and the Windows SCM (windows-scm.ts). */
export interface ServiceBackend {
  install(req: InstallRequest, plan: Plan): Promise<void>;
  uninstall(req: UninstallRequest, plan: Plan, cleanup: import('./purge').AgentCleanup): Promise<void>;
  start(plan: Plan): Promise<void>;
  stop(plan: Plan): Promise<void>;
  status(): Promise<ServiceStatus>;
}
