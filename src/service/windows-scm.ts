/**
 * The agent as a Windows service, through the SCM API (scm.ts): the service runs the native service host
 * (native/service-host, switchyard-service.exe) with `--conf <ProgramData>\Switchyard\service-host.conf`; that
 * file names node, the CLI and the agent's arguments one per line, so nothing is ever split or spliced. install
 * creates or updates the service (automatic start, LocalSystem, after `hns` when it exists), sets recovery
 * (restart after 5 s, 3 times, reset after a day, also on a non-zero exit), adds the service to kubelet's
 * DependOnService when kubelet is a service (appending, never removing), and starts or restarts it.
 * uninstall stops and deletes it and takes it out of kubelet's dependencies again.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  SERVICE_NAME,
  ServiceUsageError,
  packageRoot,
  readConfigSource,
  readRecord,
  removeDirIfEmpty,
  writeFile,
  type InstallRecord,
  type InstallRequest,
  type Plan,
  type ServiceBackend,
  type ServiceStatus,
  type UninstallRequest,
} from './common';
import type { AgentCleanup } from './purge';
import { windowsCommandLine } from './quote';
import {
  SC_ACTION_RESTART,
  SERVICE_AUTO_START,
  SERVICE_CONTROL_STOP,
  SERVICE_ERROR_NORMAL,
  SERVICE_RUNNING,
  SERVICE_STOPPED,
  SERVICE_WIN32_OWN_PROCESS,
  START_TYPE_NAMES,
  STATE_NAMES,
  ScmError,
  type FailureActions,
  type ScmApi,
  type ScmHandle,
  type ServiceConfig,
} from './scm';
import { writeFileAtomicSync } from '../util/atomic-write';

const w = path.win32;
export const DISPLAY_NAME = 'Switchyard node agent';
export const DESCRIPTION =
  'Pod network for Kubernetes (Switchyard): the cluster network, the CNI configuration and the service proxy. kubelet depends on it.';
export const RECOVERY: FailureActions = {
  resetPeriodSec: 86400,
  actions: [
    { type: SC_ACTION_RESTART, delayMs: 5000 },
    { type: SC_ACTION_RESTART, delayMs: 5000 },
    { type: SC_ACTION_RESTART, delayMs: 5000 },
  ],
};

export interface WindowsOptions {
  scm: ScmApi;
  /** Maps Windows paths under this Linux directory (tests, dry runs elsewhere); unset on Windows. */
  root?: string;
  /** %ProgramData% (default C:\ProgramData). */
  programData?: string;
  /** The service host executable (default: native/build/switchyard-service.exe of this installation). */
  hostExe?: string;
  /** How long start/stop wait for the service to reach its state. */
  waitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export function windowsPaths(programData: string) {
  const dir = w.join(programData, 'Switchyard');
  return {
    dir,
    config: w.join(dir, 'agent.yaml'),
    hostConf: w.join(dir, 'service-host.conf'),
    logs: w.join(dir, 'logs'),
    hostLog: w.join(dir, 'logs', 'service-host.log'),
    agentLog: w.join(dir, 'logs', 'agent.log'),
    record: w.join(dir, 'service-install.json'),
  };
}

/** The service host's configuration file (format in native/service-host/conf.h). */
export function renderHostConf(req: InstallRequest, configPath: string, p: ReturnType<typeof windowsPaths>): string {
  const fields: [string, string][] = [
    ['program', req.nodePath],
    ['arg', req.cliPath],
    ['arg', 'agent'],
    ['arg', '--config'],
    ['arg', configPath],
    ['log', p.hostLog],
    ['output', p.agentLog],
    ['stop-timeout-ms', String(req.stopTimeoutSec * 1000)],
  ];
  for (const [k, v] of fields) {
    if (/[\r\n\0]/.test(v))
      throw new ServiceUsageError(
        `${k === 'program' ? '--node' : k === 'arg' ? 'path' : k} ${JSON.stringify(v)}: a line break or NUL cannot be passed to the service host`,
      );
  }
  if (req.nodePath.includes('"'))
    throw new ServiceUsageError(`--node ${JSON.stringify(req.nodePath)}: a Windows program path cannot contain a quote`);
  return (
    '# Written by `switchyard service install`: the command the service host (switchyard-service.exe) runs.\r\n' +
    '# One argument per arg= line; the host quotes each by the Windows rules. Run install again to change it.\r\n' +
    fields.map(([k, v]) => `${k}=${v}\r\n`).join('')
  );
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class WindowsScmBackend implements ServiceBackend {
  private readonly scm: ScmApi;
  private readonly paths: ReturnType<typeof windowsPaths>;
  private readonly hostExe: string;
  private readonly waitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: WindowsOptions) {
    this.scm = opts.scm;
    this.paths = windowsPaths(opts.programData ?? process.env.ProgramData ?? 'C:\\ProgramData');
    this.hostExe = opts.hostExe ?? w.join(packageRoot(), 'native', 'build', 'switchyard-service.exe');
    this.waitMs = opts.waitMs ?? 60_000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Where a Windows path is on this machine's file system. */
  fsPath(winPath: string): string {
    if (!this.opts.root) return winPath;
    const m = /^([A-Za-z]):[\\/]?(.*)$/.exec(winPath);
    if (!m) return winPath; // not a Windows path (a test's own file)
    return path.join(this.opts.root, m[1].toUpperCase(), ...m[2].split(/[\\/]/).filter(Boolean));
  }

  private withManager<T>(fn: (m: ScmHandle) => Promise<T>): Promise<T> {
    const m = this.scm.openManager();
    return fn(m).finally(() => this.scm.close(m));
  }

  private async waitFor(svc: ScmHandle, state: number, what: string): Promise<void> {
    for (const end = Date.now() + this.waitMs; ;) {
      const s = this.scm.queryStatus(svc);
      if (s.state === state) return;
      if (state === SERVICE_RUNNING && s.state === SERVICE_STOPPED) {
        throw new Error(
          `${SERVICE_NAME} stopped while starting (Win32 exit ${s.win32ExitCode}, service exit ${s.serviceSpecificExitCode}); see ${this.paths.hostLog}`,
        );
      }
      if (Date.now() > end)
        throw new Error(`${SERVICE_NAME} did not become ${what} within ${this.waitMs} ms (state ${STATE_NAMES[s.state] ?? s.state})`);
      await this.sleep(250);
    }
  }

  private async stopService(plan: Plan, svc: ScmHandle): Promise<void> {
    await plan.step(`stop service ${SERVICE_NAME}`, async () => {
      try {
        this.scm.control(svc, SERVICE_CONTROL_STOP);
      } catch (e) {
        if (!(e instanceof ScmError && e.code === 1062)) throw e;
      }
      await this.waitFor(svc, SERVICE_STOPPED, 'stopped');
    });
  }

  async install(req: InstallRequest, plan: Plan): Promise<void> {
    const p = this.paths;
    const content = readConfigSource(req.configFile);
    const configPath = req.configInPlace
      ? path.isAbsolute(req.configFile) || w.isAbsolute(req.configFile)
        ? req.configFile
        : path.resolve(req.configFile)
      : p.config;
    if (!fs.existsSync(this.fsPath(this.hostExe))) {
      throw new ServiceUsageError(
        `--host-exe: the service host ${this.hostExe} does not exist (build it with \`npm run build\` where mingw-w64 is installed)`,
      );
    }
    const hostConf = renderHostConf(req, configPath, p);
    const imagePath = windowsCommandLine([this.hostExe, '--conf', p.hostConf]);
    const previous = readRecord(this.fsPath(p.record));

    let filesChanged = false;
    if (process.platform === 'win32' && !this.opts.root && !fs.existsSync(p.dir)) {
      // Only SYSTEM and Administrators may write where the service's command and configuration live.
      await plan.step(`create ${p.dir} writable only by SYSTEM and Administrators`, () => {
        fs.mkdirSync(p.dir, { recursive: true });
        execFileSync('icacls', [p.dir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'], {
          stdio: 'ignore',
        });
      });
    }
    if (!plan.dryRun) fs.mkdirSync(this.fsPath(p.logs), { recursive: true });
    if (!req.configInPlace)
      filesChanged = (await writeFile(plan, 'config', this.fsPath(p.config), p.config, content, 0o600)) !== 'unchanged';
    else plan.note(`config: ${configPath} used in place`);
    filesChanged =
      (await writeFile(plan, 'service host configuration', this.fsPath(p.hostConf), p.hostConf, hostConf, 0o600)) !== 'unchanged' ||
      filesChanged;

    await this.withManager(async (m) => {
      const hns = this.scm.openService(m, 'hns');
      if (hns) this.scm.close(hns);
      const dependencies = hns ? ['hns'] : [];
      const wanted: ServiceConfig = {
        serviceType: SERVICE_WIN32_OWN_PROCESS,
        startType: SERVICE_AUTO_START,
        errorControl: SERVICE_ERROR_NORMAL,
        binaryPath: imagePath,
        displayName: DISPLAY_NAME,
        dependencies,
      };
      let svc = this.scm.openService(m, SERVICE_NAME);
      let serviceChanged = false;
      try {
        if (!svc) {
          serviceChanged = true;
          await plan.step(
            `create service ${SERVICE_NAME} (automatic start, LocalSystem${dependencies.length ? ', after ' + dependencies.join(', ') : ''}): ${imagePath}`,
            () => {
              svc = this.scm.createService(m, SERVICE_NAME, wanted);
            },
          );
        } else {
          const have = this.scm.queryConfig(svc);
          const change: Partial<ServiceConfig> = {};
          if (have.binaryPath !== wanted.binaryPath) change.binaryPath = wanted.binaryPath;
          if (have.startType !== wanted.startType) change.startType = wanted.startType;
          if (have.displayName !== wanted.displayName) change.displayName = wanted.displayName;
          if (have.dependencies.join('\0').toLowerCase() !== wanted.dependencies.join('\0').toLowerCase())
            change.dependencies = wanted.dependencies;
          const keys = Object.keys(change) as (keyof ServiceConfig)[];
          if (keys.length === 0) plan.note(`service ${SERVICE_NAME}: configuration unchanged`);
          else {
            serviceChanged = true;
            const what = keys.map((k) => `${k} ${JSON.stringify(have[k])} → ${JSON.stringify(wanted[k])}`).join('; ');
            await plan.step(`update service ${SERVICE_NAME}: ${what}`, () => this.scm.changeConfig(svc!, change));
          }
        }
        await plan.step(
          `set ${SERVICE_NAME} description and recovery: restart after 5 s, 3 times, reset after 1 day, also on a non-zero exit`,
          () => {
            this.scm.setDescription(svc!, DESCRIPTION);
            this.scm.setFailureActions(svc!, RECOVERY);
            this.scm.setFailureActionsFlag(svc!, true);
          },
        );
        await this.addKubeletDependency(plan, m);

        const record: InstallRecord = {
          version: 1,
          service: SERVICE_NAME,
          configPath,
          configCopied: !req.configInPlace || Boolean(previous?.configCopied),
          files: [p.hostConf],
        };
        if (!plan.dryRun) writeFileAtomicSync(this.fsPath(p.record), JSON.stringify(record, null, 2) + '\n', 0o600);

        const running = svc ? this.scm.queryStatus(svc).state !== SERVICE_STOPPED : false;
        if (running && (filesChanged || serviceChanged)) {
          await this.stopService(plan, svc!);
          await plan.step(`start service ${SERVICE_NAME} (its configuration changed)`, async () => {
            this.scm.start(svc!);
            await this.waitFor(svc!, SERVICE_RUNNING, 'running');
          });
        } else if (running) {
          plan.note(`service ${SERVICE_NAME}: running, nothing changed`);
        } else {
          await plan.step(`start service ${SERVICE_NAME}`, async () => {
            this.scm.start(svc!);
            await this.waitFor(svc!, SERVICE_RUNNING, 'running');
          });
        }
      } finally {
        if (svc) this.scm.close(svc);
      }
    });
  }

  /** kubelet must not start before the pod network exists: append our service to its DependOnService. */
  private async addKubeletDependency(plan: Plan, m: ScmHandle): Promise<void> {
    const kubelet = this.scm.openService(m, 'kubelet');
    if (!kubelet) {
      plan.note('kubelet: not installed as a service, so no dependency to add');
      return;
    }
    try {
      const deps = this.scm.queryConfig(kubelet).dependencies;
      if (deps.some((d) => sameName(d, SERVICE_NAME))) plan.note(`kubelet: already depends on ${SERVICE_NAME}`);
      else {
        const next = [...deps, SERVICE_NAME];
        await plan.step(`add ${SERVICE_NAME} to kubelet's dependencies (${next.join(', ')})`, () =>
          this.scm.changeConfig(kubelet, { dependencies: next }),
        );
      }
    } finally {
      this.scm.close(kubelet);
    }
  }

  private async removeKubeletDependency(plan: Plan, m: ScmHandle): Promise<void> {
    const kubelet = this.scm.openService(m, 'kubelet');
    if (!kubelet) return;
    try {
      const deps = this.scm.queryConfig(kubelet).dependencies;
      if (!deps.some((d) => sameName(d, SERVICE_NAME))) return;
      const next = deps.filter((d) => !sameName(d, SERVICE_NAME));
      await plan.step(`remove ${SERVICE_NAME} from kubelet's dependencies (${next.join(', ') || 'none left'})`, () =>
        this.scm.changeConfig(kubelet, { dependencies: next }),
      );
    } finally {
      this.scm.close(kubelet);
    }
  }

  async uninstall(req: UninstallRequest, plan: Plan, cleanup: AgentCleanup): Promise<void> {
    const p = this.paths;
    const record = readRecord(this.fsPath(p.record));
    const configPath = record?.configPath ?? p.config;
    if (req.purge) {
      const why = await cleanup.unavailable();
      if (why) throw new ServiceUsageError(`--purge: ${why}; nothing was changed (uninstall without --purge keeps the network)`);
    }
    await this.withManager(async (m) => {
      const svc = this.scm.openService(m, SERVICE_NAME);
      if (!svc && !record) {
        plan.note(`service ${SERVICE_NAME}: not installed`);
        return;
      }
      try {
        if (svc && this.scm.queryStatus(svc).state !== SERVICE_STOPPED) await this.stopService(plan, svc);
        await this.removeKubeletDependency(plan, m);
        if (req.purge) {
          await plan.step(`remove the pod network: ${cleanup.describe(configPath).join(' ')}`, async () => {
            const out = await cleanup.run(this.fsPath(configPath));
            if (out.trim()) plan.note(out.trim());
          });
        } else {
          plan.note('pod network: left as it is (uninstall --purge removes it)');
        }
        if (svc) await plan.step(`delete service ${SERVICE_NAME}`, () => this.scm.delete(svc));
      } finally {
        if (svc) this.scm.close(svc);
      }
    });
    if (fs.existsSync(this.fsPath(p.hostConf))) await plan.step(`remove ${p.hostConf}`, () => fs.rmSync(this.fsPath(p.hostConf)));
    if (req.purge && record?.configCopied && fs.existsSync(this.fsPath(p.config))) {
      await plan.step(`remove config ${p.config}`, () => fs.rmSync(this.fsPath(p.config)));
    } else if (record?.configCopied) {
      plan.note(`config ${p.config}: kept (uninstall --purge removes it)`);
    }
    if (record) await plan.step(`remove install record ${p.record}`, () => fs.rmSync(this.fsPath(p.record), { force: true }));
    if (req.purge && !plan.dryRun) {
      removeDirIfEmpty(this.fsPath(p.logs));
      removeDirIfEmpty(this.fsPath(p.dir));
    }
  }

  async start(plan: Plan): Promise<void> {
    await this.withManager(async (m) => {
      const svc = this.scm.openService(m, SERVICE_NAME);
      if (!svc)
        throw new ServiceUsageError(`service ${SERVICE_NAME} is not installed: run \`switchyard service install --config FILE\` first`);
      try {
        if (this.scm.queryStatus(svc).state === SERVICE_RUNNING) plan.note(`service ${SERVICE_NAME}: already running`);
        else
          await plan.step(`start service ${SERVICE_NAME}`, async () => {
            this.scm.start(svc);
            await this.waitFor(svc, SERVICE_RUNNING, 'running');
          });
      } finally {
        this.scm.close(svc);
      }
    });
  }

  async stop(plan: Plan): Promise<void> {
    await this.withManager(async (m) => {
      const svc = this.scm.openService(m, SERVICE_NAME);
      if (!svc) throw new ServiceUsageError(`service ${SERVICE_NAME} is not installed`);
      try {
        if (this.scm.queryStatus(svc).state === SERVICE_STOPPED) plan.note(`service ${SERVICE_NAME}: already stopped`);
        else await this.stopService(plan, svc);
      } finally {
        this.scm.close(svc);
      }
    });
  }

  async status(): Promise<ServiceStatus> {
    return this.withManager(async (m): Promise<ServiceStatus> => {
      const svc = this.scm.openService(m, SERVICE_NAME);
      if (!svc) return { installed: false, state: 'not installed', details: {} };
      try {
        const s = this.scm.queryStatus(svc);
        const c = this.scm.queryConfig(svc);
        return {
          installed: true,
          state: STATE_NAMES[s.state] ?? String(s.state),
          pid: s.pid || undefined,
          exitCode: s.win32ExitCode === 1066 ? s.serviceSpecificExitCode : s.win32ExitCode,
          startType: START_TYPE_NAMES[c.startType] ?? String(c.startType),
          details: {
            ImagePath: c.binaryPath,
            DependOnService: c.dependencies.join(','),
            Win32ExitCode: String(s.win32ExitCode),
            ServiceSpecificExitCode: String(s.serviceSpecificExitCode),
            HostLog: this.paths.hostLog,
            AgentLog: this.paths.agentLog,
          },
        };
      } finally {
        this.scm.close(svc);
      }
    });
  }
}
