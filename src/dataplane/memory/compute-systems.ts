/**
 * The emulated host's HCS (vmcompute.dll compute systems), as far as the apiVersion-1 container attach needs
 * it: a registry of containers' compute systems in the state file, handles from open to close, and the one
 * modify request hcsshim sends for a network hot-add/remove (HotAttachEndpoint / HotDetachEndpoint →
 * modifyNetworkEndpoint: {"ResourceType":"Network","RequestType":"Add"|"Remove","Settings":"<endpoint id>"}).
 * The answers are those of the stub's hcs.c (docs/windows.md "HCS"), so the attach path behaves the same on
 * both: a missing compute system is HCS_E_SYSTEM_NOT_FOUND, a hot-add records the container in the endpoint's
 * SharedContainers (v1 State 2), a hot-remove takes it out.
 */
import { HRESULT, HnsError } from '../../hns';
import { networkModifyRequest, type HcsApi, type HcsRequestType } from '../windows/hcs/request';
import { endpointIn } from './lookup';
import type { EmulatorState, StateStore } from './state';

/** A compute system the emulated host runs (what a container runtime creates before CNI ADD). */
export interface ComputeSystemRecord {
  Id: string;
  SystemType: 'Container';
  State: 'Running';
}

/** HCS's own wording (hcsshim internal/hcs/errors.go). */
const NOT_FOUND_TEXT = 'A virtual machine or container with the specified identifier does not exist.';

function hcsError(hr: number, call: string, subject: string, message: string): HnsError {
  // The record is HCS's result document, as the binding reads it ({Error, ErrorMessage}).
  return new HnsError(hr, message, { call, subject, record: JSON.stringify({ Error: hr | 0, ErrorMessage: message }) });
}

const systemsOf = (s: EmulatorState): ComputeSystemRecord[] => (s.ComputeSystems ??= []);
const findSystem = (s: EmulatorState, id: string) => (s.ComputeSystems ?? []).find((c) => c.Id.toLowerCase() === id.toLowerCase());

/** Adds or removes `container` in the endpoint's SharedContainers; Add of a present one and Remove of an absent one change nothing (as the stub). */
function setAttached(s: EmulatorState, endpointId: string, container: string, add: boolean, call: string, subject: string): void {
  let ep;
  try {
    ep = endpointIn(s, endpointId, { call, subject });
  } catch {
    // HCS reports any endpoint it cannot resolve (unknown or not a GUID) as HNS's "Element not found.", as the stub does.
    throw hcsError(HRESULT.ERROR_NOT_FOUND, call, subject, 'Element not found.');
  }
  const list = (ep.Health?.Extra?.SharedContainers ?? []).filter((c) => c.toLowerCase() !== container.toLowerCase());
  if (add) list.push(container);
  ep.Health ??= {};
  ep.Health.Extra ??= {};
  if (list.length) ep.Health.Extra.SharedContainers = list;
  else delete ep.Health.Extra.SharedContainers;
  if (!Object.keys(ep.Health.Extra).length) delete ep.Health.Extra;
  if (!Object.keys(ep.Health).length) delete ep.Health;
}

/** Checks hcsshim's network modify document; returns the endpoint and whether it is a hot-add. */
function parseNetworkRequest(configuration: string, call: string, subject: string): { endpoint: string; add: boolean } {
  let doc: unknown;
  try {
    doc = JSON.parse(configuration);
  } catch {
    throw hcsError(HRESULT.HCS_E_INVALID_JSON, call, subject, 'The JSON document is invalid.');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw hcsError(HRESULT.HCS_E_INVALID_JSON, call, subject, 'The JSON document is invalid.');
  const d = doc as Record<string, unknown>;
  const request = typeof d.RequestType === 'string' ? d.RequestType.toLowerCase() : '';
  const ok = String(d.ResourceType ?? '').toLowerCase() === 'network' && (request === 'add' || request === 'remove');
  if (!ok || typeof d.Settings !== 'string' || !d.Settings) {
    throw hcsError(
      HRESULT.E_INVALIDARG,
      call,
      subject,
      'ResourceType must be Network, RequestType Add or Remove, Settings the endpoint ID.',
    );
  }
  return { endpoint: d.Settings, add: request === 'add' };
}

/** A handle from openComputeSystem: valid until closed (a closed or unknown handle is E_HANDLE). */
export type ComputeSystemHandle = number;

export class MemoryHcs implements HcsApi {
  private readonly handles = new Map<ComputeSystemHandle, string>();
  private nextHandle = 1;

  constructor(private readonly store: StateStore) {}

  /** The container runtime's HcsCreateComputeSystem (only the registry entry: nothing runs). */
  async createComputeSystem(id: string): Promise<ComputeSystemRecord> {
    const call = 'HcsCreateComputeSystem';
    if (typeof id !== 'string' || !id.trim())
      throw hcsError(HRESULT.E_INVALIDARG, call, 'compute system', 'the compute system ID is empty');
    return this.store.mutate((s) => {
      if (findSystem(s, id))
        throw hcsError(
          HRESULT.HCS_E_SYSTEM_ALREADY_EXISTS,
          call,
          `container ${id}`,
          'A virtual machine or container with the specified identifier already exists.',
        );
      const rec: ComputeSystemRecord = { Id: id, SystemType: 'Container', State: 'Running' };
      systemsOf(s).push(rec);
      return { ...rec };
    });
  }

  /** The container is gone (HcsTerminate + close); HNS keeps the endpoints' records of it, as on Windows. */
  async removeComputeSystem(id: string): Promise<void> {
    await this.store.mutate((s) => {
      const rec = findSystem(s, id);
      if (!rec) throw hcsError(HRESULT.HCS_E_SYSTEM_NOT_FOUND, 'HcsTerminateComputeSystem', `container ${id}`, NOT_FOUND_TEXT);
      s.ComputeSystems = systemsOf(s).filter((c) => c !== rec);
    });
  }

  async listComputeSystems(): Promise<ComputeSystemRecord[]> {
    return (this.store.read().ComputeSystems ?? []).map((c) => ({ ...c }));
  }

  async openComputeSystem(id: string): Promise<ComputeSystemHandle> {
    if (!findSystem(this.store.read(), id))
      throw hcsError(HRESULT.HCS_E_SYSTEM_NOT_FOUND, 'HcsOpenComputeSystem', `container ${id}`, NOT_FOUND_TEXT);
    const h = this.nextHandle++;
    this.handles.set(h, id);
    return h;
  }

  /** HcsModifyComputeSystem: only the network hot-add/remove hcsshim sends is emulated (anything else is E_INVALIDARG). */
  async modifyComputeSystem(handle: ComputeSystemHandle, configuration: string): Promise<void> {
    const call = 'HcsModifyComputeSystem';
    const id = this.handles.get(handle);
    if (id === undefined) throw hcsError(HRESULT.E_HANDLE, call, `handle ${handle}`, 'The handle is invalid.');
    const subject = `container ${id}`;
    await this.store.mutate((s) => {
      const rec = findSystem(s, id);
      if (!rec) throw hcsError(HRESULT.HCS_E_SYSTEM_NOT_FOUND, call, subject, NOT_FOUND_TEXT);
      const { endpoint, add } = parseNetworkRequest(configuration, call, subject);
      setAttached(s, endpoint, rec.Id, add, call, `${subject}, network endpoint ${endpoint}`);
    });
  }

  async closeComputeSystem(handle: ComputeSystemHandle): Promise<void> {
    if (!this.handles.delete(handle))
      throw hcsError(HRESULT.E_HANDLE, 'HcsCloseComputeSystem', `handle ${handle}`, 'The handle is invalid.');
  }

  /** Open, modify, close: the sequence of hcsshim modifyNetworkEndpoint (and of the vmcompute.dll binding). */
  async modifyNetworkEndpoint(containerId: string, endpointId: string, request: HcsRequestType): Promise<void> {
    const h = await this.openComputeSystem(containerId);
    try {
      await this.modifyComputeSystem(h, networkModifyRequest(endpointId, request));
    } finally {
      await this.closeComputeSystem(h);
    }
  }

  /** Handles not closed yet (tests check that every open was closed). */
  get openHandles(): number {
    return this.handles.size;
  }
}
