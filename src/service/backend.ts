/**
 * Picks the service manager: systemd on Linux, the SCM on Windows. SWITCHYARD_SERVICE_PLATFORM=linux|windows
 * overrides the OS (with --root, to prepare or test the other OS's installation), and SWITCHYARD_SCM=memory:FILE
 * replaces the real SCM by the emulator in scm-memory.ts (state in FILE). SWITCHYARD_SERVICE_ROOT is the default
 * for --root (image builds, and the tests that run docs/install.md's commands).
 */
import type { ServiceBackend } from './common';
import { ServiceUsageError } from './common';

export type ServicePlatform = 'linux' | 'windows';

export interface BackendOptions {
  root?: string;
  hostExe?: string;
  env?: NodeJS.ProcessEnv;
}

export function servicePlatform(env: NodeJS.ProcessEnv = process.env): ServicePlatform {
  const p = env.SWITCHYARD_SERVICE_PLATFORM;
  if (p === 'linux' || p === 'windows') return p;
  if (p) throw new ServiceUsageError(`SWITCHYARD_SERVICE_PLATFORM: "${p}" must be linux or windows`);
  if (process.platform === 'win32') return 'windows';
  if (process.platform === 'linux') return 'linux';
  throw new ServiceUsageError(`switchyard service: ${process.platform} has neither systemd nor the Windows SCM`);
}

export function openBackend(opts: BackendOptions = {}): ServiceBackend {
  const env = opts.env ?? process.env;
  opts = { ...opts, root: opts.root ?? (env.SWITCHYARD_SERVICE_ROOT || undefined) };
  if (servicePlatform(env) === 'linux') {
    const { SystemdBackend } = require('./systemd') as typeof import('./systemd');
    return new SystemdBackend({ root: opts.root, systemctl: env.SWITCHYARD_SYSTEMCTL });
  }
  const { WindowsScmBackend } = require('./windows-scm') as typeof import('./windows-scm');
  const scmSpec = env.SWITCHYARD_SCM;
  let scm;
  if (scmSpec?.startsWith('memory:')) {
    const { MemoryScm } = require('./scm-memory') as typeof import('./scm-memory');
    scm = new MemoryScm(scmSpec.slice('memory:'.length));
  } else if (scmSpec) {
    throw new ServiceUsageError(`SWITCHYARD_SCM: "${scmSpec}" must be memory:FILE (or unset for the real SCM)`);
  } else {
    const { openKoffiScm } = require('./scm-koffi') as typeof import('./scm-koffi');
    scm = openKoffiScm(env);
  }
  return new WindowsScmBackend({
    scm,
    root: opts.root,
    hostExe: opts.hostExe ?? env.SWITCHYARD_SERVICE_HOST_EXE,
    programData: env.ProgramData,
  });
}
