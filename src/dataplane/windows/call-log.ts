/**
 * The optional call log (SWITCHYARD_CALL_LOG): one JSON line per HNS call, so tests and benchmarks can count
 * and inspect what a data plane sent. Appends synchronously (a line is small and the log is opt-in).
 */
import * as fs from 'node:fs';
import type { CallRecord } from '../types';
import { stringifyHnsJson } from '../../hns/json';

export class CallLog {
  constructor(private readonly file: string | undefined) {}

  get enabled(): boolean {
    return !!this.file;
  }

  record(entry: Omit<CallRecord, 'pid'>): void {
    if (!this.file) return;
    fs.appendFileSync(this.file, stringifyHnsJson({ ...entry, pid: process.pid }) + '\n');
  }

  /** Times `fn` and records it, success or failure. */
  async track<T>(api: 'v1' | 'v2', op: string, id: string | undefined, body: unknown, fn: () => Promise<T>): Promise<T> {
    if (!this.file) return fn();
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    try {
      const out = await fn();
      this.record({ api, op, id, body, ok: true, ms: ms() });
      return out;
    } catch (e) {
      const hresult = (e as { hresult?: number }).hresult;
      this.record({ api, op, id, body, ok: false, hresult, ms: ms() });
      throw e;
    }
  }
}
