/**
 * An emulated service control manager: the services' configuration, recovery settings and state, optionally in
 * a JSON file so several CLI runs see one SCM (`SWITCHYARD_SCM=memory:FILE`). Start makes a service running
 * (with a fake pid) and a stop control makes it stopped, immediately. Every call is appended to `calls` with
 * its parameters, so tests assert exactly what the installer asked of the SCM. Errors are the Win32 codes the
 * real SCM returns (1060 does not exist, 1073 exists, 1056 already running, 1062 not active, 1072 marked for
 * delete, 1075 dependency does not exist at start).
 */
import * as fs from 'node:fs';
import { writeFileAtomicSync } from '../util/atomic-write';
import {
  ERROR_SERVICE_ALREADY_RUNNING,
  ERROR_SERVICE_DOES_NOT_EXIST,
  ERROR_SERVICE_MARKED_FOR_DELETE,
  ERROR_SERVICE_NOT_ACTIVE,
  SERVICE_CONTROL_STOP,
  SERVICE_RUNNING,
  SERVICE_STOPPED,
  ScmError,
  type FailureActions,
  type ScmApi,
  type ScmHandle,
  type ServiceConfig,
  type ServiceStatusInfo,
} from './scm';

export interface MemoryService {
  config: ServiceConfig;
  description?: string;
  failureActions?: FailureActions;
  failureActionsOnNonCrashFailures?: boolean;
  status: ServiceStatusInfo;
}

export interface MemoryScmState {
  services: Record<string, MemoryService>;
  nextPid: number;
}

export interface ScmCall {
  op: string;
  service?: string;
  args?: unknown;
}

export class MemoryScm implements ScmApi {
  state: MemoryScmState;
  readonly calls: ScmCall[] = [];
  private handles = new Map<unknown, string | null>();
  private nextHandle = 1;

  constructor(
    private readonly file?: string,
    initial?: MemoryScmState,
  ) {
    this.state =
      initial ??
      (file && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as MemoryScmState) : { services: {}, nextPid: 1000 });
  }

  /** Adds a service as if installed by someone else (kubelet, hns) for tests. */
  seed(name: string, config: Partial<ServiceConfig> = {}, running = true): void {
    this.state.services[name] = {
      config: {
        serviceType: 0x10,
        startType: 2,
        errorControl: 1,
        binaryPath: `C:\\k\\${name}.exe`,
        displayName: name,
        dependencies: [],
        ...config,
      },
      status: {
        state: running ? SERVICE_RUNNING : SERVICE_STOPPED,
        pid: running ? this.state.nextPid++ : 0,
        win32ExitCode: 0,
        serviceSpecificExitCode: 0,
      },
    };
    this.save();
  }

  private save(): void {
    if (this.file) writeFileAtomicSync(this.file, JSON.stringify(this.state, null, 2) + '\n', 0o644);
  }

  private handle(name: string | null): ScmHandle {
    const h = { scmHandle: this.nextHandle++ };
    this.handles.set(h.scmHandle, name);
    return h;
  }

  private svc(h: ScmHandle, call: string): [string, MemoryService] {
    const name = this.handles.get(h.scmHandle);
    if (name === undefined || name === null) throw new ScmError(call, 6, 'The handle is invalid');
    const s = this.state.services[name];
    if (!s) throw new ScmError(call, ERROR_SERVICE_MARKED_FOR_DELETE, 'The specified service has been marked for deletion');
    return [name, s];
  }

  private find(name: string): string | undefined {
    return Object.keys(this.state.services).find((n) => n.toLowerCase() === name.toLowerCase());
  }

  openManager(): ScmHandle {
    this.calls.push({ op: 'OpenSCManagerW' });
    return this.handle(null);
  }

  openService(_m: ScmHandle, name: string): ScmHandle | undefined {
    this.calls.push({ op: 'OpenServiceW', service: name });
    const found = this.find(name);
    return found ? this.handle(found) : undefined;
  }

  createService(_m: ScmHandle, name: string, config: ServiceConfig): ScmHandle {
    this.calls.push({ op: 'CreateServiceW', service: name, args: structuredClone(config) });
    if (this.find(name)) throw new ScmError('CreateServiceW', 1073, 'The specified service already exists');
    this.state.services[name] = {
      config: structuredClone(config),
      status: { state: SERVICE_STOPPED, pid: 0, win32ExitCode: 0, serviceSpecificExitCode: 0 },
    };
    this.save();
    return this.handle(name);
  }

  queryConfig(h: ScmHandle): ServiceConfig {
    const [name, s] = this.svc(h, 'QueryServiceConfigW');
    this.calls.push({ op: 'QueryServiceConfigW', service: name });
    return structuredClone(s.config);
  }

  changeConfig(h: ScmHandle, change: Partial<ServiceConfig>): void {
    const [name, s] = this.svc(h, 'ChangeServiceConfigW');
    this.calls.push({ op: 'ChangeServiceConfigW', service: name, args: structuredClone(change) });
    Object.assign(s.config, structuredClone(change));
    this.save();
  }

  setDescription(h: ScmHandle, description: string): void {
    const [name, s] = this.svc(h, 'ChangeServiceConfig2W');
    this.calls.push({ op: 'ChangeServiceConfig2W(SERVICE_CONFIG_DESCRIPTION)', service: name, args: description });
    s.description = description;
    this.save();
  }

  setFailureActions(h: ScmHandle, actions: FailureActions): void {
    const [name, s] = this.svc(h, 'ChangeServiceConfig2W');
    this.calls.push({ op: 'ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS)', service: name, args: structuredClone(actions) });
    s.failureActions = structuredClone(actions);
    this.save();
  }

  setFailureActionsFlag(h: ScmHandle, on: boolean): void {
    const [name, s] = this.svc(h, 'ChangeServiceConfig2W');
    this.calls.push({ op: 'ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS_FLAG)', service: name, args: on });
    s.failureActionsOnNonCrashFailures = on;
    this.save();
  }

  start(h: ScmHandle): void {
    const [name, s] = this.svc(h, 'StartServiceW');
    this.calls.push({ op: 'StartServiceW', service: name });
    if (s.status.state !== SERVICE_STOPPED)
      throw new ScmError('StartServiceW', ERROR_SERVICE_ALREADY_RUNNING, 'An instance of the service is already running');
    const missing = s.config.dependencies.filter((d) => !d.startsWith('+') && !this.find(d));
    if (missing.length) throw new ScmError('StartServiceW', 1075, `The dependency service does not exist: ${missing.join(', ')}`);
    s.status = { state: SERVICE_RUNNING, pid: this.state.nextPid++, win32ExitCode: 0, serviceSpecificExitCode: 0 };
    this.save();
  }

  control(h: ScmHandle, control: number): ServiceStatusInfo {
    const [name, s] = this.svc(h, 'ControlService');
    this.calls.push({ op: 'ControlService', service: name, args: control });
    if (control !== SERVICE_CONTROL_STOP) throw new ScmError('ControlService', 1052, 'The requested control is not valid for this service');
    if (s.status.state === SERVICE_STOPPED)
      throw new ScmError('ControlService', ERROR_SERVICE_NOT_ACTIVE, 'The service has not been started');
    s.status = { state: SERVICE_STOPPED, pid: 0, win32ExitCode: 0, serviceSpecificExitCode: 0 };
    this.save();
    return structuredClone(s.status);
  }

  queryStatus(h: ScmHandle): ServiceStatusInfo {
    const [name, s] = this.svc(h, 'QueryServiceStatusEx');
    this.calls.push({ op: 'QueryServiceStatusEx', service: name });
    return structuredClone(s.status);
  }

  delete(h: ScmHandle): void {
    const [name] = this.svc(h, 'DeleteService');
    this.calls.push({ op: 'DeleteService', service: name });
    delete this.state.services[name];
    this.save();
  }

  close(h: ScmHandle): void {
    this.handles.delete(h.scmHandle);
  }
}

export { ERROR_SERVICE_DOES_NOT_EXIST };
