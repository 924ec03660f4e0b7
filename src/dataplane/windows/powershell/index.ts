/**
 * The powershell data plane: HostNetworkService through a persistent PowerShell session running the
 * project's ps-modules/Switchyard.Hns module (fallback and diagnostics on Windows). Each call sends one
 * constant command (command.ts) and reads back one JSON envelope {Success, Output | Error, ErrorCode, Call,
 * Record}. A call that does not answer in time kills the session; the next call starts a fresh one.
 */
import { withHcsMessage } from '../hcs/request';
import { parseEndpointStats, type EndpointStats } from '../../../hns/endpoint-stats';
import { createSettingsObject, endpointOnNetwork } from '../v1-schema';
import { checkNetworkAsHcsshim } from '../../../hns/client-checks';
import { WINDOWS_CAPABILITIES } from '../../capabilities';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttachOptions, HnsV1Api, HostNetworkService, HostRoute, HostRouteTable, HttpMethod } from '../../types';
import { applyLoadBalancersOneByOne, type LoadBalancerBatch, type LoadBalancerBatchResult } from '../../lb-batch';
import { DataplaneConfigError, type ResolvedDataplaneOptions } from '../../factory';
import type {
  HostComputeEndpoint,
  HostComputeLoadBalancer,
  HostComputeNamespace,
  HostComputeNetwork,
  HostComputeQuery,
  ModifyEndpointRequest,
  ModifyNamespaceRequest,
  ModifyNetworkRequest,
} from '../../../hns';
import { HRESULT, HnsError } from '../../../hns/errors';
import { canonicalNetworkType, getCI, normalizeKeys, parseHnsJson, stringifyHnsJson } from '../../../hns/json';
import { buildQuery } from '../../../hns/query';
import { namespaceEndpointRequest } from '../../../hns/modify';
import type { HnsV1Response } from '../../../hns/v1';
import { featuresFor, type HnsFeatures, type HnsVersion } from '../../../hns/version';
import { CallRecorder } from '../../call-log';
import {
  endpointNeeds,
  endpointRequestNeeds,
  loadBalancerNeeds,
  networkNeeds,
  networkRequestNeeds,
  requireFeatures,
  type FeatureNeed,
} from '../../../hns/features';
import { VersionReader } from '../version-reader';
import { parseGuid } from '../guid';
import { KeyedQueue } from '../keyed-queue';
import { DEFAULT_TIMEOUT_MS, timeoutError } from '../native';
import { buildCommand, importCommand, type PsOperation, type PsPayload } from './command';
import { nodePowerShell, type PsShell } from './shell';

export interface PowerShellDataplaneOptions {
  /** Starts a session (a real node-powershell one by default; tests pass a fake). */
  shell: () => PsShell;
  /** Switchyard.Hns.psd1 to import into each new session. */
  modulePath: string;
  timeoutMs: number;
  callLog?: string;
  /** The executable, for error messages (e.g. `pwsh`). */
  shellName?: string;
}

interface Envelope {
  Success: boolean;
  Output?: unknown;
  Error?: string;
  ErrorCode?: number;
  Call?: string;
  Record?: string | null;
}

export class PowerShellDataplane implements HostNetworkService {
  readonly kind = 'powershell' as const;
  readonly capabilities = WINDOWS_CAPABILITIES;
  /** Logs each native call itself (see CallRecorder). */
  readonly recordsOwnCalls = true;
  readonly v1: HnsV1Api;
  private session?: Promise<PsShell>;
  private readonly writes = new KeyedQueue();
  private readonly log: CallRecorder;
  private readonly versionReader = new VersionReader(() => this.run('GetVersion', {}));

  /**
   * The host's route table through NetTCPIP's Get-NetRoute / New-NetRoute / Remove-NetRoute, each route passed
   * as data (the payload's Settings), never as script text.
   */
  readonly hostRoutes: HostRouteTable = {
    list: () =>
      this.track('listHostRoutes', undefined, undefined, async () => (await this.run<HostRoute[] | null>('ListHostRoutes', {})) ?? []),
    add: (r) =>
      this.track(
        'addHostRoute',
        undefined,
        r,
        async () => void (await this.run('NewHostRoute', { Settings: JSON.stringify(r) }, r.destinationPrefix)),
      ),
    delete: (r) =>
      this.track(
        'deleteHostRoute',
        undefined,
        r,
        async () => void (await this.run('RemoveHostRoute', { Settings: JSON.stringify(r) }, r.destinationPrefix)),
      ),
  };

  constructor(private readonly opts: PowerShellDataplaneOptions) {
    this.log = new CallRecorder(opts.callLog);
    this.v1 = {
      call: <T>(method: HttpMethod, p: string, body?: unknown) => this.v1Call<T>(method, p, body),
      modifyContainerNetwork: async (containerId, endpointId, request) => {
        await this.run(
          'ModifyContainerNetwork',
          { ContainerId: containerId, Id: PowerShellDataplane.id(endpointId, 'endpoint'), Request: request },
          `container ${containerId}`,
        ).catch((e) => {
          // HCS's own words from its result document, as the koffi binding reports them.
          throw withHcsMessage(e);
        });
      },
    };
  }

  private shell(): Promise<PsShell> {
    this.session ??= (async () => {
      const sh = this.opts.shell();
      try {
        await this.withTimeout(sh.invoke(importCommand(this.opts.modulePath)), 'Import-Module Switchyard.Hns', undefined, sh);
      } catch (e) {
        await sh.dispose().catch(() => undefined);
        throw this.sessionError(e, 'Import-Module Switchyard.Hns');
      }
      return sh;
    })();
    this.session.catch(() => {
      this.session = undefined;
    });
    return this.session;
  }

  /** A shell that cannot start or died is "unavailable", naming the executable and what to do. */
  private sessionError(e: unknown, call: string): HnsError {
    if (e instanceof HnsError) return e;
    const detail = String((e as Error)?.message ?? e)
      .replace(/\s+/g, ' ')
      .trim();
    return new HnsError(
      HRESULT.E_FAIL,
      `PowerShell (${this.opts.shellName ?? 'powershell'}) is not usable: ${detail}; install it or set SWITCHYARD_POWERSHELL to its executable`,
      { call },
      'unavailable',
    );
  }

  private async withTimeout<T>(p: Promise<T>, call: string, subject: string | undefined, sh: PsShell): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A hung session cannot be reused: kill it so the next call starts clean.
        this.session = undefined;
        void sh.dispose().catch(() => undefined);
        reject(timeoutError(call, subject, this.opts.timeoutMs));
      }, this.opts.timeoutMs);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one operation; returns the envelope's Output or throws the HnsError it describes. */
  private async run<T>(operation: PsOperation, payload: PsPayload, subject?: string): Promise<T> {
    const sh = await this.shell();
    const call = `Invoke-SwitchyardHnsOperation ${operation}`;
    let raw: string;
    try {
      raw = await this.withTimeout(sh.invoke(buildCommand(operation, payload)), call, subject, sh);
    } catch (e) {
      if (!(e instanceof HnsError)) {
        // The process died under us: forget the session so the next call starts a new one.
        this.session = undefined;
        void sh.dispose().catch(() => undefined);
      }
      throw this.sessionError(e, call);
    }
    const line = raw
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.startsWith('{'))
      .pop();
    if (!line)
      throw new HnsError(HRESULT.E_FAIL, `no result from PowerShell (output: ${JSON.stringify(raw.slice(0, 200))})`, { call, subject });
    let env: Envelope;
    try {
      env = parseHnsJson<Envelope>(line);
    } catch {
      throw new HnsError(HRESULT.E_FAIL, `PowerShell wrote something that is not the result envelope: ${line.slice(0, 200)}`, {
        call,
        subject,
      });
    }
    if (env.Success !== true) {
      const code = typeof env.ErrorCode === 'number' ? env.ErrorCode : HRESULT.E_FAIL;
      let message = env.Error ?? 'PowerShell operation failed';
      if (env.Record) {
        try {
          const rec = JSON.parse(env.Record) as { Error?: string };
          if (rec.Error) message = `${env.Call ?? operation} failed: ${rec.Error}`;
        } catch {
          /* keep the exception message */
        }
      }
      throw new HnsError(code, message, { call: env.Call ?? call, subject, record: env.Record ?? undefined });
    }
    return env.Output as T;
  }

  private track<T>(op: string, id: string | undefined, body: unknown, fn: () => Promise<T>): Promise<T> {
    return this.log.track('v2', op, id, body, fn);
  }

  private async v1Call<T>(method: HttpMethod, p: string, body?: unknown): Promise<T> {
    const request = body === undefined ? '' : typeof body === 'string' ? body : stringifyHnsJson(body);
    const env = await this.run<HnsV1Response<T>>('V1Request', { Method: method, Path: p, Request: request }, `${method} ${p}`);
    if (getCI(env, 'Success') !== true) {
      const text = String(getCI(env, 'Error') ?? 'unknown error');
      const code = getCI<number>(env, 'ErrorCode');
      const ctx = { call: `HNSCall ${method} ${p}` };
      throw typeof code === 'number' && code !== 0
        ? new HnsError(code, `hns failed with error : ${text}`, ctx)
        : HnsError.fromV1Text(text, ctx);
    }
    return getCI<T>(env, 'Output') as T;
  }

  version(): Promise<HnsVersion> {
    return this.versionReader.get();
  }

  async features(): Promise<HnsFeatures> {
    return featuresFor(await this.version());
  }

  private async gate(needs: FeatureNeed[], call: string, subject: string): Promise<void> {
    if (needs.length) requireFeatures(await this.version(), needs, call, subject);
  }

  private static docs<T>(out: unknown): T[] {
    return (Array.isArray(out) ? out : []).map((d) => normalizeKeys(d as T));
  }
  private static net(d: unknown): HostComputeNetwork {
    const n = normalizeKeys(d as HostComputeNetwork);
    return { ...n, Type: canonicalNetworkType(n.Type) };
  }
  private static id(id: string, what: string): string {
    parseGuid(id, `${what} ID`);
    return id;
  }
  private static query(q?: HostComputeQuery): string {
    return stringifyHnsJson(q ?? buildQuery());
  }
  private static settings(doc: unknown): string {
    return stringifyHnsJson(createSettingsObject(doc as object));
  }

  // ---- networks ----
  listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]> {
    return this.track('listNetworks', undefined, query, async () =>
      (await this.run<unknown[]>('ListNetworks', { Query: PowerShellDataplane.query(query) })).map(PowerShellDataplane.net),
    );
  }
  getNetwork(id: string): Promise<HostComputeNetwork> {
    return this.track('getNetwork', id, undefined, async () =>
      PowerShellDataplane.net(await this.run('GetNetwork', { Id: PowerShellDataplane.id(id, 'network') }, `network ${id}`)),
    );
  }
  createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork> {
    return this.track('createNetwork', doc.ID, doc, async () => {
      const subject = `network ${JSON.stringify(doc.Name ?? '')}`;
      checkNetworkAsHcsshim(doc, 'HcnCreateNetwork', subject);
      await this.gate(networkNeeds(doc), 'HcnCreateNetwork', subject);
      const payload: PsPayload = { Settings: PowerShellDataplane.settings(doc) };
      if (doc.ID) payload.Id = PowerShellDataplane.id(doc.ID, 'network');
      return this.writes.run(`network:${doc.Name ?? ''}`, async () =>
        PowerShellDataplane.net(await this.run('NewNetwork', payload, subject)),
      );
    });
  }
  modifyNetwork(id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork> {
    return this.track('modifyNetwork', id, request, async () => {
      PowerShellDataplane.id(id, 'network');
      await this.gate(networkRequestNeeds(request), 'HcnModifyNetwork', `network ${id}`);
      return this.writes.run(id, async () =>
        PowerShellDataplane.net(await this.run('SetNetwork', { Id: id, Request: stringifyHnsJson(request) }, `network ${id}`)),
      );
    });
  }
  deleteNetwork(id: string): Promise<void> {
    return this.track('deleteNetwork', id, undefined, async () => {
      await this.writes.run(PowerShellDataplane.id(id, 'network'), () => this.run('RemoveNetwork', { Id: id }, `network ${id}`));
    });
  }

  // ---- endpoints ----
  listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]> {
    return this.track('listEndpoints', undefined, query, async () =>
      PowerShellDataplane.docs<HostComputeEndpoint>(await this.run('ListEndpoints', { Query: PowerShellDataplane.query(query) })),
    );
  }
  getEndpoint(id: string): Promise<HostComputeEndpoint> {
    return this.track('getEndpoint', id, undefined, async () =>
      normalizeKeys(await this.run<HostComputeEndpoint>('GetEndpoint', { Id: PowerShellDataplane.id(id, 'endpoint') }, `endpoint ${id}`)),
    );
  }
  createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    return this.track('createEndpoint', networkId, doc, async () => {
      const subject = `endpoint ${JSON.stringify(doc.Name ?? '')} on network ${networkId}`;
      PowerShellDataplane.id(networkId, 'network');
      await this.gate(endpointNeeds(doc), 'HcnCreateEndpoint', subject);
      const payload: PsPayload = {
        NetworkId: networkId,
        Settings: PowerShellDataplane.settings(endpointOnNetwork(doc, networkId)),
      };
      if (doc.ID) payload.Id = PowerShellDataplane.id(doc.ID, 'endpoint');
      return this.writes.run(networkId, async () => normalizeKeys(await this.run<HostComputeEndpoint>('NewEndpoint', payload, subject)));
    });
  }
  modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
    return this.track('modifyEndpoint', id, request, async () => {
      PowerShellDataplane.id(id, 'endpoint');
      await this.gate(endpointRequestNeeds(request), 'HcnModifyEndpoint', `endpoint ${id}`);
      return normalizeKeys(
        await this.run<HostComputeEndpoint>('SetEndpoint', { Id: id, Request: stringifyHnsJson(request) }, `endpoint ${id}`),
      );
    });
  }
  /** HNSCall GET /endpointstats/<id> through the module (hcsshim GetHNSEndpointStats), as the hcn plane reads them. */
  endpointStats(id: string): Promise<EndpointStats> {
    return this.track('endpointStats', id, undefined, async () =>
      parseEndpointStats(await this.v1Call('GET', `/endpointstats/${PowerShellDataplane.id(id, 'endpoint')}`), id),
    );
  }
  deleteEndpoint(id: string): Promise<void> {
    return this.track('deleteEndpoint', id, undefined, async () => {
      await this.run('RemoveEndpoint', { Id: PowerShellDataplane.id(id, 'endpoint') }, `endpoint ${id}`);
    });
  }

  // ---- namespaces ----
  listNamespaces(query?: HostComputeQuery): Promise<HostComputeNamespace[]> {
    return this.track('listNamespaces', undefined, query, async () =>
      PowerShellDataplane.docs<HostComputeNamespace>(await this.run('ListNamespaces', { Query: PowerShellDataplane.query(query) })),
    );
  }
  getNamespace(id: string): Promise<HostComputeNamespace> {
    return this.track('getNamespace', id, undefined, async () =>
      normalizeKeys(
        await this.run<HostComputeNamespace>('GetNamespace', { Id: PowerShellDataplane.id(id, 'namespace') }, `namespace ${id}`),
      ),
    );
  }
  createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace> {
    return this.track('createNamespace', doc.ID, doc, async () => {
      const payload: PsPayload = { Settings: PowerShellDataplane.settings({ Type: 'Host', ...doc }) };
      if (doc.ID) payload.Id = PowerShellDataplane.id(doc.ID, 'namespace');
      return normalizeKeys(await this.run<HostComputeNamespace>('NewNamespace', payload, 'namespace'));
    });
  }
  modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace> {
    return this.track('modifyNamespace', id, request, async () =>
      normalizeKeys(
        await this.run<HostComputeNamespace>(
          'SetNamespace',
          { Id: PowerShellDataplane.id(id, 'namespace'), Request: stringifyHnsJson(request) },
          `namespace ${id}`,
        ),
      ),
    );
  }
  deleteNamespace(id: string): Promise<void> {
    return this.track('deleteNamespace', id, undefined, async () => {
      await this.run('RemoveNamespace', { Id: PowerShellDataplane.id(id, 'namespace') }, `namespace ${id}`);
    });
  }
  async attachEndpoint(namespaceId: string, endpointId: string, _options?: AttachOptions): Promise<void> {
    await this.modifyNamespace(namespaceId, namespaceEndpointRequest('Add', endpointId));
  }
  async detachEndpoint(namespaceId: string, endpointId: string): Promise<void> {
    await this.modifyNamespace(namespaceId, namespaceEndpointRequest('Remove', endpointId));
  }

  // ---- load balancers ----
  listLoadBalancers(query?: HostComputeQuery): Promise<HostComputeLoadBalancer[]> {
    return this.track('listLoadBalancers', undefined, query, async () =>
      PowerShellDataplane.docs<HostComputeLoadBalancer>(await this.run('ListLoadBalancers', { Query: PowerShellDataplane.query(query) })),
    );
  }
  getLoadBalancer(id: string): Promise<HostComputeLoadBalancer> {
    return this.track('getLoadBalancer', id, undefined, async () =>
      normalizeKeys(
        await this.run<HostComputeLoadBalancer>(
          'GetLoadBalancer',
          { Id: PowerShellDataplane.id(id, 'load balancer') },
          `load balancer ${id}`,
        ),
      ),
    );
  }
  createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    return this.track('createLoadBalancer', doc.ID, doc, async () => {
      const subject = `load balancer ${(doc.FrontendVIPs ?? []).join(',') || '(all host addresses)'}`;
      await this.gate(loadBalancerNeeds(doc), 'HcnCreateLoadBalancer', subject);
      const payload: PsPayload = { Settings: PowerShellDataplane.settings(doc) };
      if (doc.ID) payload.Id = PowerShellDataplane.id(doc.ID, 'load balancer');
      return normalizeKeys(await this.run<HostComputeLoadBalancer>('NewLoadBalancer', payload, subject));
    });
  }
  modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    return this.track('modifyLoadBalancer', id, doc, async () => {
      PowerShellDataplane.id(id, 'load balancer');
      const subject = `load balancer ${id}`;
      await this.gate(loadBalancerNeeds(doc), 'HcnModifyLoadBalancer', subject);
      const body = { ...doc, ID: undefined };
      return this.writes.run(`lb:${id}`, async () => {
        if ((await this.features()).ModifyLoadbalancer) {
          return normalizeKeys(
            await this.run<HostComputeLoadBalancer>('SetLoadBalancer', { Id: id, Settings: PowerShellDataplane.settings(body) }, subject),
          );
        }
        await this.run('GetLoadBalancer', { Id: id }, subject);
        await this.run('RemoveLoadBalancer', { Id: id }, subject);
        return normalizeKeys(
          await this.run<HostComputeLoadBalancer>('NewLoadBalancer', { Id: id, Settings: PowerShellDataplane.settings(body) }, subject),
        );
      });
    });
  }
  deleteLoadBalancer(id: string): Promise<void> {
    return this.track('deleteLoadBalancer', id, undefined, async () => {
      await this.run('RemoveLoadBalancer', { Id: PowerShellDataplane.id(id, 'load balancer') }, `load balancer ${id}`);
    });
  }

  /** HNS has no batch call: each change is its own HNS call (and call-log record), in the batch's order. */
  applyLoadBalancers(batch: LoadBalancerBatch): Promise<LoadBalancerBatchResult> {
    return applyLoadBalancersOneByOne(this, batch);
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await (await s.catch(() => undefined))?.dispose();
  }
}

/** ps-modules/Switchyard.Hns/Switchyard.Hns.psd1 of this installation, or SWITCHYARD_PS_MODULES/Switchyard.Hns. */
export function moduleManifest(env: NodeJS.ProcessEnv): string {
  const candidates = [
    env.SWITCHYARD_PS_MODULES && path.join(env.SWITCHYARD_PS_MODULES, 'Switchyard.Hns', 'Switchyard.Hns.psd1'),
    path.resolve(__dirname, '../../../../../ps-modules/Switchyard.Hns/Switchyard.Hns.psd1'),
    path.resolve(__dirname, '../ps-modules/Switchyard.Hns/Switchyard.Hns.psd1'),
  ].filter((c): c is string => !!c);
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found)
    throw new DataplaneConfigError(
      `the powershell data plane needs ps-modules/Switchyard.Hns; looked in ${candidates.join(', ')} (set SWITCHYARD_PS_MODULES to the ps-modules folder)`,
    );
  return found;
}

/** SWITCHYARD_POWERSHELL, else SWITCHYARD_PWSH (a pwsh built by scripts/setup-pwsh.sh), else powershell (Windows) / pwsh on PATH. */
export function powerShellExecutable(env: NodeJS.ProcessEnv): string {
  return env.SWITCHYARD_POWERSHELL || env.SWITCHYARD_PWSH || (process.platform === 'win32' ? 'powershell' : 'pwsh');
}

export async function open(options: ResolvedDataplaneOptions): Promise<HostNetworkService> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const executable = powerShellExecutable(options.env);
  // The caller's environment overrides this process's (e.g. SWITCHYARD_HCN_LIBRARY given programmatically).
  const env = { ...process.env, ...options.env };
  return new PowerShellDataplane({
    shell: () => nodePowerShell({ executable, timeoutMs, env }),
    shellName: executable,
    modulePath: moduleManifest(options.env),
    timeoutMs,
    callLog: options.callLog,
  });
}
