/**
 * The Windows service control manager operations the installer uses, as an interface: scm-koffi.ts is the
 * thin adapter over advapi32 (one call per method), scm-memory.ts an emulator with the same semantics that
 * records every call (tests, and `SWITCHYARD_SCM=memory:FILE` to run the Windows installer anywhere).
 */

export const SERVICE_WIN32_OWN_PROCESS = 0x10;
export const SERVICE_AUTO_START = 2;
export const SERVICE_DEMAND_START = 3;
export const SERVICE_ERROR_NORMAL = 1;
export const SERVICE_CONTROL_STOP = 1;
export const SC_ACTION_RESTART = 1;

export const SERVICE_STOPPED = 1;
export const SERVICE_START_PENDING = 2;
export const SERVICE_STOP_PENDING = 3;
export const SERVICE_RUNNING = 4;

export const ERROR_SERVICE_DOES_NOT_EXIST = 1060;
export const ERROR_SERVICE_NOT_ACTIVE = 1062;
export const ERROR_SERVICE_ALREADY_RUNNING = 1056;
export const ERROR_SERVICE_MARKED_FOR_DELETE = 1072;

export const STATE_NAMES: Record<number, string> = {
  1: 'stopped',
  2: 'starting',
  3: 'stopping',
  4: 'running',
  5: 'continuing',
  6: 'pausing',
  7: 'paused',
};
export const START_TYPE_NAMES: Record<number, string> = { 0: 'boot', 1: 'system', 2: 'automatic', 3: 'manual', 4: 'disabled' };

/** An open SC_HANDLE; opaque to callers. */
export type ScmHandle = { readonly scmHandle: unknown };

export interface ServiceConfig {
  serviceType: number;
  startType: number;
  errorControl: number;
  /** The ImagePath: the command line the SCM starts. */
  binaryPath: string;
  displayName: string;
  /** DependOnService: services (and groups, prefixed with '+') that must run first. */
  dependencies: string[];
}

export interface ServiceStatusInfo {
  state: number;
  pid: number;
  win32ExitCode: number;
  serviceSpecificExitCode: number;
}

export interface FailureActions {
  resetPeriodSec: number;
  actions: { type: number; delayMs: number }[];
}

export class ScmError extends Error {
  constructor(
    readonly call: string,
    readonly code: number,
    detail: string,
  ) {
    super(`${call}: ${detail} (Win32 error ${code})`);
    this.name = 'ScmError';
  }
}

export interface ScmApi {
  /** OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS). */
  openManager(): ScmHandle;
  /** OpenServiceW(SERVICE_ALL_ACCESS); undefined when the service does not exist. */
  openService(manager: ScmHandle, name: string): ScmHandle | undefined;
  /** CreateServiceW (LocalSystem). */
  createService(manager: ScmHandle, name: string, config: ServiceConfig): ScmHandle;
  /** QueryServiceConfigW. */
  queryConfig(service: ScmHandle): ServiceConfig;
  /** ChangeServiceConfigW; fields left out are SERVICE_NO_CHANGE / NULL. */
  changeConfig(service: ScmHandle, change: Partial<ServiceConfig>): void;
  /** ChangeServiceConfig2W(SERVICE_CONFIG_DESCRIPTION). */
  setDescription(service: ScmHandle, description: string): void;
  /** ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS). */
  setFailureActions(service: ScmHandle, actions: FailureActions): void;
  /** ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS_FLAG): recovery also after a non-zero exit. */
  setFailureActionsFlag(service: ScmHandle, onNonCrashFailures: boolean): void;
  /** StartServiceW with no arguments. */
  start(service: ScmHandle): void;
  /** ControlService. */
  control(service: ScmHandle, control: number): ServiceStatusInfo;
  /** QueryServiceStatusEx(SC_STATUS_PROCESS_INFO). */
  queryStatus(service: ScmHandle): ServiceStatusInfo;
  /** DeleteService. */
  delete(service: ScmHandle): void;
  /** CloseServiceHandle. */
  close(handle: ScmHandle): void;
}
