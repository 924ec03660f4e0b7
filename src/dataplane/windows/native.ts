/**
 * Loading computenetwork.dll / vmcompute.dll (or the Linux stub that exports the same symbols) through koffi,
 * and the one way every HCN/HNS call is made: on a koffi worker thread (`fn.async`) raced against a timer,
 * so a hung HNS never blocks the event loop; every returned UTF-16 string read and then freed with
 * CoTaskMemFree; a failed HRESULT *or a non-empty error record* (hcsshim checkForErrors) turned into an
 * HnsError naming the call and the subject. A call that returns after its timeout still has its strings
 * freed and its handle closed.
 */
import * as path from 'node:path';
import { DataplaneConfigError } from '../factory';
import { HRESULT, HRESULT_MESSAGES, HnsError } from '../../hns/errors';
import type { ResolvedDataplaneOptions } from '../factory';

// koffi is loaded lazily: the per-pod CNI path on the memory data plane never pays for it.
type Koffi = typeof import('koffi');
let koffiModule: Koffi | undefined;
export function koffi(): Koffi {
  koffiModule ??= require('koffi') as Koffi;
  return koffiModule;
}

export type NativeFn = ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };
export type Pointer = unknown;

/** WINAPI is __stdcall on 32-bit Windows; elsewhere (x64, arm64, the Linux stub) the platform C convention. */
export const WINAPI = process.platform === 'win32' ? '__stdcall ' : '';

export const DEFAULT_TIMEOUT_MS = 60_000;

export interface NativeLibrary {
  readonly path: string;
  /** Declares `proto` (C prototype with `%CC%` where the calling convention goes); cached; missing → unsupported. */
  fn(name: string, proto: string): NativeFn;
  /** CoTaskMemFree for strings this library hands out. */
  readonly free: NativeFn;
}

const libraries = new Map<string, NativeLibrary>();

function systemDll(name: string, env: NodeJS.ProcessEnv): string {
  return path.join(env.SystemRoot ?? 'C:\\Windows', 'System32', name);
}

function loadLibrary(file: string, what: string): NativeLibrary {
  const cached = libraries.get(file);
  if (cached) return cached;
  const k = koffi();
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = k.load(file);
  } catch (e) {
    throw new DataplaneConfigError(`cannot load ${what} from ${file}: ${(e as Error).message}`);
  }
  const fns = new Map<string, NativeFn>();
  const fn = (name: string, proto: string): NativeFn => {
    let f = fns.get(name);
    if (!f) {
      try {
        f = lib.func(proto.replace('%CC%', WINAPI)) as unknown as NativeFn;
      } catch (e) {
        // hcsshim resolves every Hcn* export lazily and turns a missing one into an error, not a crash.
        throw new HnsError(
          HRESULT.E_NOTIMPL,
          `${file} does not export ${name} (${(e as Error).message}); this Windows build predates it`,
          { call: name },
          'unsupported',
        );
      }
      fns.set(name, f);
    }
    return f;
  };
  let freeFn: NativeFn;
  if (process.platform === 'win32') {
    freeFn = k.load(systemDll('ole32.dll', process.env)).func(`void ${WINAPI}CoTaskMemFree(void *pv)`) as unknown as NativeFn;
  } else {
    // The stub library exports its own CoTaskMemFree (tracked, so tests can assert nothing leaked).
    freeFn = lib.func('void CoTaskMemFree(void *pv)') as unknown as NativeFn;
  }
  const out: NativeLibrary = { path: file, fn, free: freeFn };
  libraries.set(file, out);
  return out;
}

/** computenetwork.dll on Windows, or the library SWITCHYARD_HCN_LIBRARY names (the stub on Linux). */
export function hcnLibrary(options: ResolvedDataplaneOptions): NativeLibrary {
  if (options.hcnLibrary) return loadLibrary(path.resolve(options.hcnLibrary), 'the HCN library');
  if (process.platform === 'win32') return loadLibrary(systemDll('computenetwork.dll', options.env), 'computenetwork.dll');
  throw new DataplaneConfigError(
    'the hcn data plane needs computenetwork.dll (Windows Server 2019 or later); on this OS set SWITCHYARD_HCN_LIBRARY to the stub library (native/build/libhcnstub.so)',
  );
}

/** vmcompute.dll on Windows (HNSCall), or SWITCHYARD_VMCOMPUTE_LIBRARY, or the HCN stub (it exports HNSCall too). */
export function vmcomputeLibrary(options: ResolvedDataplaneOptions): NativeLibrary {
  const file = options.vmcomputeLibrary ?? (process.platform === 'win32' ? undefined : options.hcnLibrary);
  if (file) return loadLibrary(path.resolve(file), 'the HNS v1 library');
  if (process.platform === 'win32') return loadLibrary(systemDll('vmcompute.dll', options.env), 'vmcompute.dll');
  throw new DataplaneConfigError(
    'the hns-v1 data plane needs vmcompute.dll; on this OS set SWITCHYARD_VMCOMPUTE_LIBRARY (or SWITCHYARD_HCN_LIBRARY) to the stub library (native/build/libhcnstub.so)',
  );
}

/** Reads a CoTaskMem UTF-16 string and frees it, whatever happens while reading. */
export function takeString(lib: NativeLibrary, ptr: Pointer): string | undefined {
  if (ptr === null || ptr === undefined || ptr === 0n) return undefined;
  try {
    return koffi().decode(ptr, 'char16_t', -1) as string;
  } finally {
    lib.free(ptr);
  }
}

export interface InvokeSpec {
  /** Exported function name, e.g. HcnOpenNetwork (named in errors). */
  name: string;
  /** What the call is about, e.g. `network 5A1F...` or `network "cbr0"`. */
  subject?: string;
  args: unknown[];
  /** Out slot receiving a CoTaskMem string result (Enumerate/Query), if any. */
  result?: [Pointer];
  /** Out slot receiving the error record, if the function has one. */
  record?: [Pointer];
  /** Out slot receiving a handle, and how to close it if the call fails late or after a timeout. */
  handle?: [Pointer];
  closeHandle?: (h: Pointer) => void;
  /**
   * A create that succeeds after its timeout made something the caller was told failed: undo it
   * (gets the handle; responsible for closing it). Without it the handle is just closed.
   */
  onLateSuccess?: (h: Pointer) => void;
  timeoutMs: number;
}

export interface InvokeResult {
  hr: number;
  result?: string;
  handle?: Pointer;
}

/** Turns an HRESULT + error record into the HnsError callers classify (HCN §1.6, §6). */
export function hcnError(name: string, subject: string | undefined, hr: number, record: string | undefined): HnsError {
  let message = HRESULT_MESSAGES[hr >>> 0] ?? `${name} failed`;
  let code = hr;
  if (record) {
    try {
      const doc = JSON.parse(record) as { Error?: unknown; ErrorCode?: unknown };
      if (typeof doc.Error === 'string' && doc.Error.trim()) message = doc.Error;
      // S_OK with a non-empty record is ERROR_GEN_FAILURE whatever the record says (hcsshim checkForErrors; the C#
      // binding of ps-modules does the same), so every route classifies it alike.
      if (hr >= 0) code = HRESULT.ERROR_GEN_FAILURE;
    } catch {
      message = record;
      if (hr >= 0) code = HRESULT.ERROR_GEN_FAILURE;
    }
  }
  return new HnsError(code, message.trim(), { call: name, subject, record });
}

export function timeoutError(name: string, subject: string | undefined, ms: number): HnsError {
  return new HnsError(
    HRESULT.ERROR_TIMEOUT,
    `${name} did not return within ${ms} ms: the Host Networking Service is not answering (check "Get-Service hns" and the Host-Network-Service event log); raise SWITCHYARD_HNS_TIMEOUT_MS if this host is just slow`,
    { call: name, subject },
    'timeout',
  );
}

export function invoke(lib: NativeLibrary, fn: NativeFn, spec: InvokeSpec): Promise<InvokeResult> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(timeoutError(spec.name, spec.subject, spec.timeoutMs));
    }, spec.timeoutMs);
    const collect = (): { result?: string; record?: string } => {
      let result: string | undefined;
      let record: string | undefined;
      try {
        result = spec.result ? takeString(lib, spec.result[0]) : undefined;
      } finally {
        record = spec.record ? takeString(lib, spec.record[0]) : undefined;
      }
      return { result, record };
    };
    const dropHandle = () => {
      const h = spec.handle?.[0];
      if (h !== null && h !== undefined && spec.closeHandle) spec.closeHandle(h);
    };
    const done = (err: unknown, ret: unknown) => {
      if (timedOut) {
        // The call came back after we gave up on it: release what it handed out.
        let ok = !err && (Number(ret) | 0) >= 0;
        try {
          ok = !collect().record && ok;
        } catch {
          ok = false;
        }
        const h = spec.handle?.[0];
        if (ok && h !== null && h !== undefined && spec.onLateSuccess) spec.onLateSuccess(h);
        else dropHandle();
        return;
      }
      clearTimeout(timer);
      if (err) {
        reject(
          new HnsError(HRESULT.E_FAIL, `${spec.name} could not be called: ${(err as Error).message ?? String(err)}`, {
            call: spec.name,
            subject: spec.subject,
          }),
        );
        return;
      }
      const hr = Number(ret) | 0;
      let strings: { result?: string; record?: string };
      try {
        strings = collect();
      } catch (e) {
        dropHandle();
        reject(e);
        return;
      }
      if (hr < 0 || (strings.record !== undefined && strings.record.length > 0)) {
        dropHandle();
        reject(hcnError(spec.name, spec.subject, hr, strings.record));
        return;
      }
      resolve({ hr, result: strings.result, handle: spec.handle?.[0] });
    };
    try {
      fn.async(...spec.args, done);
    } catch (e) {
      // koffi refuses synchronously when its async queue is full (max_async_calls) or an argument is invalid.
      clearTimeout(timer);
      reject(
        new HnsError(HRESULT.E_FAIL, `${spec.name} could not be called: ${(e as Error).message}`, {
          call: spec.name,
          subject: spec.subject,
        }),
      );
    }
  });
}
