/**
 * Call log: wraps any HostNetworkService so each call it receives (v2 methods and v1 HNSCall paths)
 * appends one JSON line to a file. Tests and benchmarks read it back to say how many HNS calls an
 * operation costs ("CNI ADD = 4 calls"), across every process that shares the file.
 *
 * Each line is written with a single write(2) on an O_APPEND descriptor, so lines from concurrent
 * processes interleave whole; a process killed mid-write can at worst leave a final unterminated line,
 * which readCallLog ignores.
 */
import * as fs from 'node:fs';
import { stringifyHnsJson } from '../hns/json';
import { isHnsError } from '../hns/errors';
import type { CallRecord, HnsV1Api, HostNetworkService, HostRouteTable, HttpMethod } from './types';
import { batchCalls, type LoadBalancerBatch, type LoadBalancerBatchResult } from './lb-batch';

type V2Method = Exclude<keyof HostNetworkService, 'kind' | 'capabilities' | 'v1' | 'close' | 'recordsOwnCalls' | 'hostRoutes'>;

/** Which argument of each v2 method is the object ID and which is the body worth recording. */
const V2_METHODS: Record<V2Method, { id?: number; body?: number }> = {
  version: {},
  features: {},
  listNetworks: { body: 0 },
  getNetwork: { id: 0 },
  createNetwork: { body: 0 },
  modifyNetwork: { id: 0, body: 1 },
  deleteNetwork: { id: 0 },
  listEndpoints: { body: 0 },
  getEndpoint: { id: 0 },
  createEndpoint: { id: 0, body: 1 },
  modifyEndpoint: { id: 0, body: 1 },
  deleteEndpoint: { id: 0 },
  endpointStats: { id: 0 },
  repair: { body: 0 },
  listNamespaces: { body: 0 },
  getNamespace: { id: 0 },
  createNamespace: { body: 0 },
  modifyNamespace: { id: 0, body: 1 },
  deleteNamespace: { id: 0 },
  attachEndpoint: { id: 0, body: 1 },
  detachEndpoint: { id: 0, body: 1 },
  listLoadBalancers: { body: 0 },
  getLoadBalancer: { id: 0 },
  createLoadBalancer: { body: 0 },
  modifyLoadBalancer: { id: 0, body: 1 },
  deleteLoadBalancer: { id: 0 },
  // Recorded as the per-LB calls it stands for (logBatch), not as one line.
  applyLoadBalancers: {},
};

export const LOGGED_V2_METHODS = Object.keys(V2_METHODS) as V2Method[];

export class CallLogWriter {
  private fd?: number;

  constructor(readonly file: string) {}

  write(rec: CallRecord): void {
    let line: string;
    try {
      line = stringifyHnsJson(rec) + '\n';
    } catch {
      line = JSON.stringify({ ...rec, body: '[unserializable]' }) + '\n';
    }
    this.fd ??= fs.openSync(this.file, 'a', 0o600);
    fs.writeSync(this.fd, line);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Returns a HostNetworkService that logs every call to `file` and forwards it to `service`. */
export function withCallLog(service: HostNetworkService, file: string): HostNetworkService {
  const writer = new CallLogWriter(file);
  async function logged<T>(api: 'v1' | 'v2', op: string, id: string | undefined, body: unknown, run: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    const rec: CallRecord = { api, op, ok: true, pid: process.pid, ms: 0 };
    if (id !== undefined) rec.id = id;
    if (body !== undefined) rec.body = body;
    try {
      const result = await run();
      // A create's ID is only known afterwards; record it so the log can be joined on IDs.
      if (rec.id === undefined && result && typeof result === 'object' && typeof (result as { ID?: unknown }).ID === 'string')
        rec.id = (result as unknown as { ID: string }).ID;
      return result;
    } catch (e) {
      rec.ok = false;
      if (isHnsError(e)) rec.hresult = e.hresult;
      throw e;
    } finally {
      rec.ms = Number(process.hrtime.bigint() - start) / 1e6;
      writer.write(rec);
    }
  }

  const wrapper: Record<string, unknown> = {
    kind: service.kind,
    capabilities: service.capabilities,
    close: async () => {
      writer.close();
      await service.close();
    },
  };
  for (const name of LOGGED_V2_METHODS) {
    const spec = V2_METHODS[name];
    if (typeof service[name] !== 'function') continue; // optional methods the data plane does not have stay absent
    if (name === 'applyLoadBalancers') {
      wrapper[name] = (batch: LoadBalancerBatch) => logBatch(writer, batch, () => service.applyLoadBalancers(batch));
      continue;
    }
    wrapper[name] = (...args: unknown[]) => {
      const id = spec.id !== undefined ? (args[spec.id] as string | undefined) : undefined;
      let body = spec.body !== undefined ? args[spec.body] : undefined;
      if (name === 'attachEndpoint' || name === 'detachEndpoint') body = { EndpointId: args[1], ...(args[2] ? (args[2] as object) : {}) };
      const fn = (service[name] as (...a: unknown[]) => Promise<unknown>).bind(service);
      return logged('v2', name, id, body, () => fn(...args));
    };
  }
  const inner = service.v1;
  if (inner) {
    const v1: HnsV1Api = {
      call: <T>(method: HttpMethod, path: string, body?: unknown) =>
        logged<T>('v1', `${method} ${path}`, undefined, body, () => inner.call<T>(method, path, body)),
    };
    const modify = inner.modifyContainerNetwork?.bind(inner);
    if (modify) {
      v1.modifyContainerNetwork = (containerId, endpointId, request) =>
        logged('v1', `HcsModifyComputeSystem ${request}`, endpointId, { ContainerId: containerId }, () =>
          modify(containerId, endpointId, request),
        );
    }
    wrapper.v1 = v1;
  }
  const routes = service.hostRoutes;
  if (routes) {
    const table: HostRouteTable = {
      list: () => logged('v2', 'listHostRoutes', undefined, undefined, () => routes.list()),
      add: (r) => logged('v2', 'addHostRoute', undefined, r, () => routes.add(r)),
      delete: (r) => logged('v2', 'deleteHostRoute', undefined, r, () => routes.delete(r)),
    };
    wrapper.hostRoutes = table;
  }
  return wrapper as unknown as HostNetworkService;
}

/**
 * A load-balancer batch as the per-LB calls HNS would have received (one line each, with its own outcome), so
 * "one endpoint change = one modifyLoadBalancer" reads the same whether the caller batched or not.
 */
async function logBatch(
  writer: CallLogWriter,
  batch: LoadBalancerBatch,
  run: () => Promise<LoadBalancerBatchResult>,
): Promise<LoadBalancerBatchResult> {
  const start = process.hrtime.bigint();
  const calls = batchCalls(batch);
  let outcomes: LoadBalancerBatchResult['created'] = [];
  try {
    const result = await run();
    outcomes = [...result.deleted, ...result.created, ...result.modified];
    return result;
  } catch (e) {
    outcomes = calls.map(() => ({ ok: false, error: e as Error }));
    throw e;
  } finally {
    const ms = Number(process.hrtime.bigint() - start) / 1e6 / Math.max(1, calls.length);
    calls.forEach((c, i) => {
      const o = outcomes[i];
      const rec: CallRecord = { api: 'v2', op: c.op, ok: o?.ok ?? false, pid: process.pid, ms };
      const id = c.id ?? (o?.ok ? o.loadBalancer?.ID : undefined);
      if (id !== undefined) rec.id = id;
      if (c.body !== undefined) rec.body = c.body;
      if (o && !o.ok && isHnsError(o.error)) rec.hresult = o.error.hresult;
      writer.write(rec);
    });
  }
}

/** The records in a call log, oldest first; `fromOffset` (a byte offset from callLogSize) skips earlier ones. */
export function readCallLog(file: string, fromOffset = 0): CallRecord[] {
  let text: string;
  try {
    const buf = fs.readFileSync(file);
    text = buf.subarray(fromOffset).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const lines = text.split('\n');
  // The last element is '' after a complete log; anything else is a line cut short by a killed process.
  lines.pop();
  return lines
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as CallRecord;
      } catch {
        throw new Error(`call log ${file}: line ${i + 1} is not JSON: ${l.slice(0, 120)}`);
      }
    });
}

/** Current size of the log, to count only the calls made after this point. */
export function callLogSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export interface CallFilter {
  api?: 'v1' | 'v2';
  /** Exact op name, or a pattern such as /^create/. */
  op?: string | RegExp;
  ok?: boolean;
  pid?: number;
}

export function countCalls(records: CallRecord[], filter: CallFilter = {}): number {
  return records.filter(
    (r) =>
      (filter.api === undefined || r.api === filter.api) &&
      (filter.ok === undefined || r.ok === filter.ok) &&
      (filter.pid === undefined || r.pid === filter.pid) &&
      (filter.op === undefined || (typeof filter.op === 'string' ? r.op === filter.op : filter.op.test(r.op))),
  ).length;
}

/** `{ "v2 createEndpoint": 1, "v1 GET /networks/": 2, ... }` */
export function summarizeCalls(records: CallRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[`${r.api} ${r.op}`] = (out[`${r.api} ${r.op}`] ?? 0) + 1;
  return out;
}

/** Counts the calls made while `fn` runs (by any process writing to the log). */
export async function countCallsDuring<T>(file: string, fn: () => Promise<T>): Promise<{ result: T; records: CallRecord[] }> {
  const offset = callLogSize(file);
  const result = await fn();
  return { result, records: readCallLog(file, offset) };
}

/**
 * Native-level recorder for data planes that log their own calls (hcn: each Hcn* function; hns-v1: each
 * HNSCall; powershell: each cmdlet invocation). Those report `recordsOwnCalls`, so the factory does not
 * also wrap them and every line in the log is one call that actually crossed to HNS.
 */
export class CallRecorder {
  private readonly writer?: CallLogWriter;

  constructor(file: string | undefined) {
    if (file) this.writer = new CallLogWriter(file);
  }

  get enabled(): boolean {
    return this.writer !== undefined;
  }

  record(entry: Omit<CallRecord, 'pid'>): void {
    this.writer?.write({ ...entry, pid: process.pid });
  }

  /** Times `fn` and records it, success or failure. */
  async track<T>(api: 'v1' | 'v2', op: string, id: string | undefined, body: unknown, fn: () => Promise<T>): Promise<T> {
    if (!this.writer) return fn();
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
