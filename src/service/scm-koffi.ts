/**
 * ScmApi over advapi32.dll through koffi: one Win32 call per method, nothing else. Strings are UTF-16
 * (`str16`); lpDependencies is a double-NUL-terminated list; QueryServiceConfigW is called twice (size, then
 * data). SWITCHYARD_ADVAPI32_LIBRARY loads these functions (and GetLastError) from another library instead:
 * on Linux, native/build/libadvapi-stub.so, which decodes the same structures in C so tests run this adapter.
 */
import { ScmError, type FailureActions, type ScmApi, type ScmHandle, type ServiceConfig, type ServiceStatusInfo } from './scm';

const SC_MANAGER_ALL_ACCESS = 0xf003f;
const SERVICE_ALL_ACCESS = 0xf01ff;
const SERVICE_NO_CHANGE = 0xffffffff;
const SERVICE_CONFIG_DESCRIPTION = 1;
const SERVICE_CONFIG_FAILURE_ACTIONS = 2;
const SERVICE_CONFIG_FAILURE_ACTIONS_FLAG = 4;
const SC_STATUS_PROCESS_INFO = 0;
const ERROR_INSUFFICIENT_BUFFER = 122;
const ERROR_SERVICE_DOES_NOT_EXIST = 1060;

type Fn = (...args: unknown[]) => any;

/** Encodes a string list as REG_MULTI_SZ-style UTF-16: each entry NUL-terminated, then one more NUL. */
export function multiSz(items: string[]): Buffer {
  return Buffer.from(items.map((s) => s + '\0').join('') + '\0', 'utf16le');
}

// koffi registers structure names process-wide, so each library is bound once.
const bound = new Map<string, ScmApi>();

export function openKoffiScm(env: NodeJS.ProcessEnv = process.env): ScmApi {
  const key = env.SWITCHYARD_ADVAPI32_LIBRARY ?? 'advapi32.dll';
  let api = bound.get(key);
  if (!api) {
    api = bind(env);
    bound.set(key, api);
  }
  return api;
}

function bind(env: NodeJS.ProcessEnv): ScmApi {
  const override = env.SWITCHYARD_ADVAPI32_LIBRARY;
  if (process.platform !== 'win32' && !override) {
    throw new Error('the Windows service control manager is only reachable on Windows (SWITCHYARD_SCM=memory:FILE selects the emulator)');
  }
  const koffi = require('koffi') as typeof import('koffi');
  const advapi = koffi.load(override ?? 'advapi32.dll');
  const kernel = override ? advapi : koffi.load('kernel32.dll');
  // lpsaActions points at an SC_ACTION array ({ uint32 Type; uint32 Delay; } each), passed as a Buffer.
  const SERVICE_FAILURE_ACTIONSW = koffi.struct('SERVICE_FAILURE_ACTIONSW', {
    dwResetPeriod: 'uint32',
    lpRebootMsg: 'str16',
    lpCommand: 'str16',
    cActions: 'uint32',
    lpsaActions: 'void *',
  });
  const SERVICE_DESCRIPTIONW = koffi.struct('SERVICE_DESCRIPTIONW', { lpDescription: 'str16' });
  const SERVICE_FAILURE_ACTIONS_FLAG = koffi.struct('SERVICE_FAILURE_ACTIONS_FLAG', { fFailureActionsOnNonCrashFailures: 'int32' });
  // Registered by name: the ControlService prototype below refers to it.
  koffi.struct('SERVICE_STATUS', {
    dwServiceType: 'uint32',
    dwCurrentState: 'uint32',
    dwControlsAccepted: 'uint32',
    dwWin32ExitCode: 'uint32',
    dwServiceSpecificExitCode: 'uint32',
    dwCheckPoint: 'uint32',
    dwWaitHint: 'uint32',
  });
  const SERVICE_STATUS_PROCESS = koffi.struct('SERVICE_STATUS_PROCESS', {
    dwServiceType: 'uint32',
    dwCurrentState: 'uint32',
    dwControlsAccepted: 'uint32',
    dwWin32ExitCode: 'uint32',
    dwServiceSpecificExitCode: 'uint32',
    dwCheckPoint: 'uint32',
    dwWaitHint: 'uint32',
    dwProcessId: 'uint32',
    dwServiceFlags: 'uint32',
  });
  const QUERY_SERVICE_CONFIGW = koffi.struct('QUERY_SERVICE_CONFIGW', {
    dwServiceType: 'uint32',
    dwStartType: 'uint32',
    dwErrorControl: 'uint32',
    lpBinaryPathName: 'void *',
    lpLoadOrderGroup: 'void *',
    dwTagId: 'uint32',
    lpDependencies: 'void *',
    lpServiceStartName: 'void *',
    lpDisplayName: 'void *',
  });
  // __stdcall only matters on 32-bit Windows; the Linux stub uses the platform's C convention.
  const cc = process.platform === 'win32' ? '__stdcall' : '';
  const f = (lib: typeof advapi, proto: string): Fn => lib.func(proto.replace('%CC% ', cc ? cc + ' ' : '')) as Fn;
  const GetLastError = f(kernel, 'uint32 %CC% GetLastError()');
  const OpenSCManagerW = f(advapi, 'void * %CC% OpenSCManagerW(str16 machine, str16 database, uint32 access)');
  const OpenServiceW = f(advapi, 'void * %CC% OpenServiceW(void *manager, str16 name, uint32 access)');
  const CreateServiceW = f(
    advapi,
    'void * %CC% CreateServiceW(void *manager, str16 name, str16 display, uint32 access, uint32 type, uint32 start, uint32 error, str16 path, str16 group, _Out_ uint32 *tag, void *deps, str16 account, str16 password)',
  );
  const ChangeServiceConfigW = f(
    advapi,
    'int %CC% ChangeServiceConfigW(void *service, uint32 type, uint32 start, uint32 error, str16 path, str16 group, _Out_ uint32 *tag, void *deps, str16 account, str16 password, str16 display)',
  );
  // One declaration per info level, so koffi marshals each structure by pointer.
  const config2 = (info: unknown): Fn => {
    const params = ['void *', 'uint32', koffi.pointer(info as never)];
    return (cc ? advapi.func(cc, 'ChangeServiceConfig2W', 'int', params) : advapi.func('ChangeServiceConfig2W', 'int', params)) as Fn;
  };
  const SetDescription = config2(SERVICE_DESCRIPTIONW);
  const SetFailureActions = config2(SERVICE_FAILURE_ACTIONSW);
  const SetFailureActionsFlag = config2(SERVICE_FAILURE_ACTIONS_FLAG);
  const QueryServiceConfigW = f(advapi, 'int %CC% QueryServiceConfigW(void *service, void *buf, uint32 size, _Out_ uint32 *needed)');
  const StartServiceW = f(advapi, 'int %CC% StartServiceW(void *service, uint32 argc, void *argv)');
  const ControlService = f(advapi, 'int %CC% ControlService(void *service, uint32 control, _Out_ SERVICE_STATUS *status)');
  const QueryServiceStatusEx = f(
    advapi,
    'int %CC% QueryServiceStatusEx(void *service, uint32 level, _Out_ SERVICE_STATUS_PROCESS *buf, uint32 size, _Out_ uint32 *needed)',
  );
  const DeleteService = f(advapi, 'int %CC% DeleteService(void *service)');
  const CloseServiceHandle = f(advapi, 'int %CC% CloseServiceHandle(void *handle)');

  const fail = (call: string, code = GetLastError() as number): never => {
    throw new ScmError(call, code, messages[code] ?? 'failed');
  };
  const h = (raw: unknown): ScmHandle => ({ scmHandle: raw });
  const raw = (x: ScmHandle) => x.scmHandle;
  const wstr = (p: unknown) => (p ? (koffi.decode(p, 'char16_t', -1) as string) : '');
  const wmulti = (p: unknown): string[] => {
    const out: string[] = [];
    if (!p) return out;
    for (let off = 0; ;) {
      const s = koffi.decode(p, off, 'char16_t', -1) as string;
      if (s === '') return out;
      out.push(s);
      off += (s.length + 1) * 2;
    }
  };

  return {
    openManager() {
      const m = OpenSCManagerW(null, null, SC_MANAGER_ALL_ACCESS);
      if (!m) fail('OpenSCManagerW');
      return h(m);
    },
    openService(m, name) {
      const s = OpenServiceW(raw(m), name, SERVICE_ALL_ACCESS);
      if (!s) {
        const code = GetLastError() as number;
        if (code === ERROR_SERVICE_DOES_NOT_EXIST) return undefined;
        fail(`OpenServiceW(${name})`, code);
      }
      return h(s);
    },
    createService(m, name, c) {
      const s = CreateServiceW(
        raw(m),
        name,
        c.displayName,
        SERVICE_ALL_ACCESS,
        c.serviceType,
        c.startType,
        c.errorControl,
        c.binaryPath,
        null,
        null,
        c.dependencies.length ? multiSz(c.dependencies) : null,
        null,
        null,
      );
      if (!s) fail(`CreateServiceW(${name})`);
      return h(s);
    },
    queryConfig(s) {
      const needed = [0];
      if (!QueryServiceConfigW(raw(s), null, 0, needed)) {
        const code = GetLastError() as number;
        if (code !== ERROR_INSUFFICIENT_BUFFER) fail('QueryServiceConfigW', code);
      }
      const buf = Buffer.alloc(needed[0]);
      if (!QueryServiceConfigW(raw(s), buf, buf.length, needed)) fail('QueryServiceConfigW');
      const c = koffi.decode(buf, QUERY_SERVICE_CONFIGW) as Record<string, unknown>;
      return {
        serviceType: c.dwServiceType as number,
        startType: c.dwStartType as number,
        errorControl: c.dwErrorControl as number,
        binaryPath: wstr(c.lpBinaryPathName),
        displayName: wstr(c.lpDisplayName),
        dependencies: wmulti(c.lpDependencies),
      };
    },
    changeConfig(s, c: Partial<ServiceConfig>) {
      const ok = ChangeServiceConfigW(
        raw(s),
        c.serviceType ?? SERVICE_NO_CHANGE,
        c.startType ?? SERVICE_NO_CHANGE,
        c.errorControl ?? SERVICE_NO_CHANGE,
        c.binaryPath ?? null,
        null,
        null,
        c.dependencies ? multiSz(c.dependencies) : null,
        null,
        null,
        c.displayName ?? null,
      );
      if (!ok) fail('ChangeServiceConfigW');
    },
    setDescription(s, text) {
      if (!SetDescription(raw(s), SERVICE_CONFIG_DESCRIPTION, { lpDescription: text }))
        fail('ChangeServiceConfig2W(SERVICE_CONFIG_DESCRIPTION)');
    },
    setFailureActions(s, a: FailureActions) {
      const actions = Buffer.alloc(8 * a.actions.length);
      a.actions.forEach((x, i) => {
        actions.writeUInt32LE(x.type, i * 8);
        actions.writeUInt32LE(x.delayMs, i * 8 + 4);
      });
      const info = {
        dwResetPeriod: a.resetPeriodSec,
        lpRebootMsg: null,
        lpCommand: null,
        cActions: a.actions.length,
        lpsaActions: actions,
      };
      if (!SetFailureActions(raw(s), SERVICE_CONFIG_FAILURE_ACTIONS, info)) fail('ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS)');
    },
    setFailureActionsFlag(s, on) {
      const info = { fFailureActionsOnNonCrashFailures: on ? 1 : 0 };
      if (!SetFailureActionsFlag(raw(s), SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, info))
        fail('ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS_FLAG)');
    },
    start(s) {
      if (!StartServiceW(raw(s), 0, null)) fail('StartServiceW');
    },
    control(s, control) {
      const st: Record<string, number> = {};
      if (!ControlService(raw(s), control, st)) fail('ControlService');
      return { state: st.dwCurrentState, pid: 0, win32ExitCode: st.dwWin32ExitCode, serviceSpecificExitCode: st.dwServiceSpecificExitCode };
    },
    queryStatus(s): ServiceStatusInfo {
      const st: Record<string, number> = {};
      if (!QueryServiceStatusEx(raw(s), SC_STATUS_PROCESS_INFO, st, koffi.sizeof(SERVICE_STATUS_PROCESS), [0]))
        fail('QueryServiceStatusEx');
      return {
        state: st.dwCurrentState,
        pid: st.dwProcessId,
        win32ExitCode: st.dwWin32ExitCode,
        serviceSpecificExitCode: st.dwServiceSpecificExitCode,
      };
    },
    delete(s) {
      if (!DeleteService(raw(s))) fail('DeleteService');
    },
    close(x) {
      CloseServiceHandle(raw(x));
    },
  };
}

const messages: Record<number, string> = {
  5: 'Access is denied (run as Administrator)',
  1056: 'An instance of the service is already running',
  1060: 'The specified service does not exist as an installed service',
  1062: 'The service has not been started',
  1072: 'The specified service has been marked for deletion',
  1073: 'The specified service already exists',
  1075: 'The dependency service does not exist or has been marked for deletion',
};
