/**
 * The agent as a systemd unit. install renders manifests/systemd/switchyard-agent.service with this
 * installation's paths (node, the CLI, the configuration), writes it to /etc/systemd/system, and runs
 * systemctl daemon-reload / enable / start (restart when an installed, running unit or its configuration
 * changed) through execFile, never a shell. All paths are under `root` (default /) so tests and image builds
 * can install into a directory; systemctl is found on PATH (tests put a fake there).
 */
import { execFile } from 'node:child_process';
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
import { writeFileAtomicSync } from '../util/atomic-write';

export const UNIT = `${SERVICE_NAME}.service`;

export interface SystemdOptions {
  /** Installation root (default /): the unit, configuration and record are written under it. */
  root?: string;
  /** The systemctl executable (default: `systemctl` on PATH). */
  systemctl?: string;
  /** The unit template (default: manifests/systemd/switchyard-agent.service of this installation). */
  template?: string;
}

export interface SystemdPaths {
  unit: string;
  configDir: string;
  config: string;
  record: string;
}

/** Host paths (as the unit sees them), independent of the installation root. */
export const HOST_PATHS: SystemdPaths = {
  unit: `/etc/systemd/system/${UNIT}`,
  configDir: '/etc/switchyard',
  config: '/etc/switchyard/agent.yaml',
  record: '/etc/switchyard/service-install.json',
};

/**
 * One ExecStart word: systemd splits on blanks and honours C-style quotes; `%` starts a specifier and `$` a
 * variable, so both are doubled. A line break cannot be carried.
 */
export function quoteSystemdArg(arg: string): string {
  if (/[\r\n]/.test(arg)) throw new ServiceUsageError(`${JSON.stringify(arg)}: a line break cannot appear in a systemd command line`);
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (arg.length > 0 && /^[A-Za-z0-9_\-./:=+,@%$]+$/.test(arg)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The unit for this installation: the template with ExecStart, TimeoutStopSec and ProtectHome filled in. */
export function renderUnit(template: string, req: InstallRequest, configPath: string): string {
  const exec = [req.nodePath, req.cliPath, 'agent', '--config', configPath].map(quoteSystemdArg).join(' ');
  let unit = template;
  const header =
    '# Written by `switchyard service install` from manifests/systemd/switchyard-agent.service;\n' +
    '# run `switchyard service install` again to change it rather than editing it here.\n';
  unit = header + unit.replace(/^(#[^\n]*\n)+/, '');
  if (!/^ExecStart=.*$/m.test(unit)) throw new Error('the unit template has no ExecStart= line');
  unit = unit.replace(/^ExecStart=.*$/m, `ExecStart=${exec}`);
  unit = unit.replace(/^TimeoutStopSec=.*$/m, `TimeoutStopSec=${req.stopTimeoutSec}`);
  // ProtectHome=yes hides /home, /root and /run/user: a node or CLI installed there must stay readable.
  if ([req.nodePath, req.cliPath, configPath].some((p) => /^\/(home|root|run\/user)(\/|$)/.test(p))) {
    unit = unit.replace(/^ProtectHome=yes$/m, 'ProtectHome=read-only');
  }
  return unit;
}

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

export class SystemdBackend implements ServiceBackend {
  private readonly root: string;
  private readonly systemctlBin: string;
  private readonly template: string;

  constructor(opts: SystemdOptions = {}) {
    this.root = path.resolve(opts.root ?? '/');
    this.systemctlBin = opts.systemctl ?? 'systemctl';
    this.template = opts.template ?? path.join(packageRoot(), 'manifests/systemd/switchyard-agent.service');
  }

  /** A host path inside the installation root. */
  at(hostPath: string): string {
    return path.join(this.root, hostPath);
  }

  private systemctl(args: string[]): Promise<Exec> {
    return new Promise((resolve) => {
      execFile(this.systemctlBin, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (e && e.code === 'ENOENT') resolve({ code: 127, stdout: '', stderr: `${this.systemctlBin} not found on PATH` });
        else resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
      });
    });
  }

  private async systemctlOk(args: string[]): Promise<string> {
    const r = await this.systemctl(args);
    if (r.code !== 0) throw new Error(`systemctl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  private async isActive(): Promise<boolean> {
    return (await this.systemctl(['is-active', '--quiet', UNIT])).code === 0;
  }

  private installed(): boolean {
    return fs.existsSync(this.at(HOST_PATHS.unit));
  }

  async install(req: InstallRequest, plan: Plan): Promise<void> {
    // Everything that can be refused is checked before the first change.
    const source = path.resolve(req.configFile);
    const content = readConfigSource(source);
    const configPath = req.configInPlace ? source : HOST_PATHS.config;
    if (req.configInPlace) plan.note(`config: ${source} used in place`);
    let template: string;
    try {
      template = fs.readFileSync(this.template, 'utf8');
    } catch (e) {
      throw new Error(`the unit template ${this.template} cannot be read: ${(e as Error).message}`);
    }
    const unit = renderUnit(template, req, configPath);
    const previous = readRecord(this.at(HOST_PATHS.record));

    let changed = false;
    if (!req.configInPlace) {
      changed = (await writeFile(plan, 'config', this.at(HOST_PATHS.config), HOST_PATHS.config, content, 0o600)) !== 'unchanged' || changed;
    } else if (previous?.configCopied) {
      plan.note(`config: ${HOST_PATHS.config} from an earlier install is no longer used (kept; remove it with uninstall --purge)`);
    }
    const unitChange = await writeFile(plan, 'unit', this.at(HOST_PATHS.unit), HOST_PATHS.unit, unit, 0o644);
    changed = changed || unitChange !== 'unchanged';
    const record: InstallRecord = {
      version: 1,
      service: UNIT,
      configPath,
      configCopied: !req.configInPlace || Boolean(previous?.configCopied),
      files: [HOST_PATHS.unit],
    };
    if (!plan.dryRun) writeFileAtomicSync(this.at(HOST_PATHS.record), JSON.stringify(record, null, 2) + '\n', 0o600);

    if (unitChange !== 'unchanged') await plan.step('run systemctl daemon-reload', () => this.systemctlOk(['daemon-reload']));
    await plan.step(`run systemctl enable ${UNIT}`, () => this.systemctlOk(['enable', UNIT]));
    if (await this.isActive()) {
      if (changed)
        await plan.step(`run systemctl restart ${UNIT} (the unit or its configuration changed)`, () => this.systemctlOk(['restart', UNIT]));
      else plan.note(`${UNIT}: running, nothing changed`);
    } else {
      await plan.step(`run systemctl start ${UNIT}`, () => this.systemctlOk(['start', UNIT]));
    }
  }

  async uninstall(req: UninstallRequest, plan: Plan, cleanup: AgentCleanup): Promise<void> {
    const record = readRecord(this.at(HOST_PATHS.record));
    const configPath = record?.configPath ?? HOST_PATHS.config;
    if (req.purge) {
      const why = await cleanup.unavailable();
      if (why) throw new ServiceUsageError(`--purge: ${why}; nothing was changed (uninstall without --purge keeps the network)`);
    }
    if (!this.installed() && !record) {
      plan.note(`${UNIT}: not installed`);
      return;
    }
    if (this.installed()) {
      await plan.step(`run systemctl stop ${UNIT}`, () => this.systemctlOk(['stop', UNIT]));
      await plan.step(`run systemctl disable ${UNIT}`, () => this.systemctlOk(['disable', UNIT]));
    }
    if (req.purge) {
      await plan.step(`remove the pod network: ${cleanup.describe(configPath).join(' ')}`, async () => {
        const out = await cleanup.run(configPath === HOST_PATHS.config ? this.at(configPath) : configPath);
        if (out.trim()) plan.note(out.trim());
      });
    } else {
      plan.note('pod network: left as it is (uninstall --purge removes it)');
    }
    if (this.installed()) {
      await plan.step(`remove unit ${HOST_PATHS.unit}`, () => fs.rmSync(this.at(HOST_PATHS.unit)));
      await plan.step('run systemctl daemon-reload', () => this.systemctlOk(['daemon-reload']));
    }
    if (req.purge && record?.configCopied && fs.existsSync(this.at(HOST_PATHS.config))) {
      await plan.step(`remove config ${HOST_PATHS.config}`, () => fs.rmSync(this.at(HOST_PATHS.config)));
    } else if (record?.configCopied) {
      plan.note(`config ${HOST_PATHS.config}: kept (uninstall --purge removes it)`);
    }
    if (record) {
      await plan.step(`remove install record ${HOST_PATHS.record}`, () => {
        fs.rmSync(this.at(HOST_PATHS.record), { force: true });
        removeDirIfEmpty(this.at(HOST_PATHS.configDir));
      });
    }
  }

  async start(plan: Plan): Promise<void> {
    if (!this.installed()) throw new ServiceUsageError(`${UNIT} is not installed: run \`switchyard service install --config FILE\` first`);
    await plan.step(`run systemctl start ${UNIT}`, () => this.systemctlOk(['start', UNIT]));
  }

  async stop(plan: Plan): Promise<void> {
    if (!this.installed()) throw new ServiceUsageError(`${UNIT} is not installed`);
    await plan.step(`run systemctl stop ${UNIT}`, () => this.systemctlOk(['stop', UNIT]));
  }

  async status(): Promise<ServiceStatus> {
    if (!this.installed()) return { installed: false, state: 'not installed', details: {} };
    const props = ['LoadState', 'ActiveState', 'SubState', 'MainPID', 'ExecMainStatus', 'UnitFileState', 'NRestarts'];
    const out = await this.systemctlOk(['show', UNIT, `--property=${props.join(',')}`]);
    const details: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) details[line.slice(0, eq)] = line.slice(eq + 1);
    }
    const state =
      (
        { active: 'running', inactive: 'stopped', activating: 'starting', deactivating: 'stopping', failed: 'failed' } as Record<
          string,
          string
        >
      )[details.ActiveState] ??
      details.ActiveState ??
      'unknown';
    const pid = Number(details.MainPID);
    return {
      installed: true,
      state,
      pid: pid > 0 ? pid : undefined,
      exitCode: details.ExecMainStatus !== undefined && details.ExecMainStatus !== '' ? Number(details.ExecMainStatus) : undefined,
      startType: details.UnitFileState,
      details,
    };
  }
}
