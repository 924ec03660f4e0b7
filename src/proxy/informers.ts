/**
 * Services and EndpointSlices from the API server (list + watch, @kubernetes/client-node informers) into the
 * proxy. The selectors are kube-proxy's: Services and slices another proxy is named for
 * (service.kubernetes.io/service-proxy-name) and headless ones are not watched; slices must name their Service.
 * The initial lists are handed over whole (replaceAll) before the proxy starts; afterwards each event is one
 * upsert or delete. A watch that fails is restarted with backoff (a 410 Gone relists, inside client-node).
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1EndpointSlice,
  type V1Service,
} from '@kubernetes/client-node';

export const SERVICE_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';
export const SLICE_SELECTOR = `kubernetes.io/service-name,${SERVICE_SELECTOR}`;

/** What the informers feed: ServiceProxy implements it. */
export interface ProxyInput {
  replaceAll(services: readonly V1Service[], slices: readonly V1EndpointSlice[]): void;
  upsertService(svc: V1Service): void;
  deleteService(svc: V1Service): void;
  upsertSlice(slice: V1EndpointSlice): void;
  deleteSlice(slice: V1EndpointSlice): void;
}

export interface ProxyInformersOptions {
  /** First restart delay after a failed list/watch, doubled up to 30 s (default 1 s). */
  retryMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

type Inf<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export class ProxyInformers {
  private readonly services: Inf<V1Service>;
  private readonly slices: Inf<V1EndpointSlice>;
  private synced = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    kc: KubeConfig,
    private readonly target: ProxyInput,
    private readonly opts: ProxyInformersOptions = {},
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    this.services = makeInformer(
      kc,
      '/api/v1/services',
      () => core.listServiceForAllNamespaces({ labelSelector: SERVICE_SELECTOR }),
      SERVICE_SELECTOR,
    );
    this.slices = makeInformer(
      kc,
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => discovery.listEndpointSliceForAllNamespaces({ labelSelector: SLICE_SELECTOR }),
      SLICE_SELECTOR,
    );
    const live =
      <T>(fn: (o: T) => void) =>
      (o: T) => {
        if (this.synced) fn(o);
      };
    this.services.on(
      'add',
      live((s) => target.upsertService(s)),
    );
    this.services.on(
      'update',
      live((s) => target.upsertService(s)),
    );
    this.services.on(
      'delete',
      live((s) => target.deleteService(s)),
    );
    this.slices.on(
      'add',
      live((s) => target.upsertSlice(s)),
    );
    this.slices.on(
      'update',
      live((s) => target.upsertSlice(s)),
    );
    this.slices.on(
      'delete',
      live((s) => target.deleteSlice(s)),
    );
    this.restartOnError(this.services, 'services');
    this.restartOnError(this.slices, 'endpointslices');
  }

  /** Lists both resources, hands them to the proxy, then starts watching. Rejects when the first list fails. */
  async start(): Promise<void> {
    await Promise.all([startOnce(this.services, 'services'), startOnce(this.slices, 'endpointslices')]);
    this.target.replaceAll(this.services.list(), this.slices.list());
    this.synced = true;
  }

  /** The UID of a watched Service (for events about it), if the informer has it. */
  serviceUid(namespace: string, name: string): string | undefined {
    return this.services.get(name, namespace)?.metadata?.uid;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([this.services.stop(), this.slices.stop()]);
  }

  private restartOnError<T extends KubernetesObject>(inf: Inf<T>, what: string): void {
    let delay = this.opts.retryMs ?? 1000;
    inf.on('connect', () => {
      delay = this.opts.retryMs ?? 1000;
    });
    inf.on('error', (err?: unknown) => {
      if (this.stopped || !this.synced) return;
      this.opts.log?.('warn', `watch of ${what} failed (${(err as Error | undefined)?.message ?? String(err)}); restarting in ${delay} ms`);
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.stopped) void inf.start().catch(() => undefined);
      }, delay);
      this.timers.add(t);
      delay = Math.min(delay * 2, 30_000);
    });
  }
}

/** informer.start() resolves even when the list fails (it reports through 'error'); this one rejects. */
async function startOnce<T extends KubernetesObject>(inf: Inf<T>, what: string): Promise<void> {
  let failure: unknown;
  const onError = (e?: unknown) => {
    failure ??= e ?? new Error('unknown error');
  };
  inf.on('error', onError);
  try {
    await inf.start();
  } finally {
    inf.off('error', onError);
  }
  if (failure !== undefined) {
    await inf.stop();
    const e = failure as { message?: string; code?: number; statusCode?: number };
    throw new Error(
      `proxy: listing ${what} from the API server failed: ${e.message ?? String(failure)}${(e.code ?? e.statusCode) ? ` (HTTP ${e.code ?? e.statusCode})` : ''}`,
    );
  }
}
