/**
 * The test-only side of native/build/libhcnstub.so: allocation and handle counters, reset, and the switch that
 * releases calls blocked by HCNSTUB_HANG. The data planes load the same file, so they share its state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const STUB_LIBRARY = path.resolve(__dirname, '../../../native/build/libhcnstub.so');

export interface StubControl {
  outstandingAllocations(): number;
  badFrees(): number;
  openHandles(): number;
  reset(): void;
  releaseHang(): number;
  hangingCalls(): number;
  maxConcurrentWrites(): number;
  lastGuid(): Buffer;
  /** The stub's HCS registry: a container's compute system exists until removed (or HcnStubReset). */
  createComputeSystem(id: string): boolean;
  removeComputeSystem(id: string): boolean;
}

let control: StubControl | undefined;

export function stub(): StubControl {
  if (control) return control;
  if (!fs.existsSync(STUB_LIBRARY)) throw new Error(`${STUB_LIBRARY} is missing: run the build (make -C native)`);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load(STUB_LIBRARY);
  const outstanding = lib.func('long HcnStubOutstandingAllocations(void)');
  const bad = lib.func('long HcnStubBadFrees(void)');
  const handles = lib.func('int HcnStubOpenHandles(void)');
  const reset = lib.func('void HcnStubReset(void)');
  const release = lib.func('int HcnStubReleaseHang(void)');
  const hanging = lib.func('int HcnStubHangingCalls(void)');
  const maxWrites = lib.func('int HcnStubMaxConcurrentWrites(void)');
  const lastGuid = lib.func('void HcnStubLastGuid(_Out_ uint8_t *out)');
  const createCs = lib.func('int HcsStubCreateComputeSystem(const char *id)');
  const removeCs = lib.func('int HcsStubRemoveComputeSystem(const char *id)');
  control = {
    createComputeSystem: (id) => Number(createCs(id)) === 1,
    removeComputeSystem: (id) => Number(removeCs(id)) === 1,
    outstandingAllocations: () => Number(outstanding()),
    badFrees: () => Number(bad()),
    openHandles: () => Number(handles()),
    reset: () => reset(),
    releaseHang: () => Number(release()),
    hangingCalls: () => Number(hanging()),
    maxConcurrentWrites: () => Number(maxWrites()),
    lastGuid: () => {
      const b = Buffer.alloc(16);
      lastGuid(b);
      return b;
    },
  };
  return control;
}

/** Waits (event-loop turns, bounded) until `cond` holds; for effects of calls that finish on worker threads. */
export async function eventually(cond: () => boolean, what: string, turns = 2000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never happened: ${what}`);
}

/** Sets stub switches for the duration of a test; returns the undo. */
export function withEnv(vars: Record<string, string>): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** The leak checks every abi test ends with. */
export function assertNoLeaks(): void {
  const s = stub();
  const leaks = s.outstandingAllocations();
  const bad = s.badFrees();
  const handles = s.openHandles();
  if (leaks !== 0 || bad !== 0 || handles !== 0) {
    throw new Error(`stub reports ${leaks} unfreed string(s), ${bad} bad CoTaskMemFree call(s), ${handles} open handle(s)`);
  }
}
