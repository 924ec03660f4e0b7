/**
 * The agent's composition root: opens the data plane, the subnet source, the log and the metrics endpoint,
 * starts the Agent, and gives back one `stop()` that every host calls (the CLI on SIGTERM/SIGINT, the Windows
 * service host on a stop request), and the local API (status, and the CNI fast path the native entrypoints use).
 */
import { openDataplane } from '../dataplane/factory';
import type { DataplaneKind, HostNetworkService } from '../dataplane/types';
import { Agent, type ReconcileReport } from './agent';
import { AgentConfigError, type AgentConfig } from './config';
import { createAgentLogger, type AgentLogger } from './log';
import { AgentMetrics, startMetricsServer, type MetricsServer } from './metrics';
import { interfaceAddress, interfaceMtu, platformTraits } from './platform';
import { createSubnetSource } from './subnet';
import { writeSubnetEnv } from './subnet/subnet-env';
import { startApiServer } from './api/server';
import { cniHandler } from './api/cni-handler';
import type { ApiServer, CniReply, CniRequest } from './api/types';
import type { SubnetSource } from './subnet/types';
import type { RunningProxy } from './proxy';

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** A source built by the caller (tests, benchmarks); default: the one the configuration names. */
  source?: SubnetSource;
  /** A data plane opened by the caller (it stays open after stop). */
  svc?: HostNetworkService;
  log?: AgentLogger;
  periodic?: boolean;
}

export interface RunningAgent {
  agent: Agent;
  metrics: AgentMetrics;
  source: SubnetSource;
  /** The bound metrics address (port 0 resolved), when enabled. */
  metricsAddress?: string;
  /** The local API's socket or pipe, when enabled. */
  apiAddress?: string;
  /** The service proxy, with --proxy. */
  proxy?: RunningProxy;
  boot: ReconcileReport;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, opts: StartOptions = {}): Promise<RunningAgent> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? createAgentLogger({ file: config.logFile, level: env.SWITCHYARD_LOG_LEVEL });
  const publicIp = config.publicIp ?? interfaceAddress(config.iface);
  if (!publicIp)
    throw new AgentConfigError([
      config.iface
        ? `--iface: interface ${config.iface} has no IPv4 address`
        : '--public-ip: no IPv4 interface found on this node: give --public-ip or --iface',
    ]);
  // The source first: a source this build lacks is a configuration error, found before anything is opened.
  const source = opts.source ?? createSubnetSource({ config, log });
  const svc = opts.svc ?? (await openDataplane({ kind: config.dataplane as DataplaneKind | undefined, statePath: config.state, env }));
  const metrics = new AgentMetrics();
  const agent = new Agent({ config, svc, source, log, metrics, traits: platformTraits(svc), publicIp, periodic: opts.periodic });
  let server: MetricsServer | undefined;
  let api: ApiServer | undefined;
  let proxy: RunningProxy | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // The API first: a CNI call arriving now is refused by the closed socket and the entrypoint falls back to
      // running the plugin itself, rather than being cut off half-way by the data plane closing under it.
      await api?.close();
      await proxy?.stop();
      await agent.stop();
      await server?.close();
      if (!opts.svc) await svc.close();
      if (!opts.log) await log.close();
    })());
  try {
    if (config.metricsAddress) server = await startMetricsServer(config.metricsAddress, metrics, agent);
    log.info('agent starting', {
      node: config.node,
      dataplane: svc.kind,
      source: source.kind,
      backend: config.netConf.backend.type,
      metrics: server?.address ?? 'disabled',
    });
    // Reconcile on start (reads never repair): what a crash or reboot left is put right before the agent reads.
    if (svc.repair) for (const action of (await svc.repair()).actions) log.info('repaired', { action });
    const boot = await agent.start();
    writeFlannelSubnetEnv(config, agent, publicIp, log);
    if (config.proxy.enabled) {
      const { startProxy } = require('./proxy') as typeof import('./proxy');
      proxy = await startProxy({
        config,
        settings: config.proxy,
        svc,
        facts: { networkName: agent.networkName, sourceVip: () => agent.status().sourceVip?.ip },
        nodeIp: publicIp,
        log,
        registry: metrics.registry,
        env,
      });
    }
    if (config.socket)
      api = await startApiServer({
        socketPath: config.socket,
        handlers: { status: agent.statusHandler, cni: fastPath(config, svc, metrics, env) },
        log,
      });
    const r = agent.readiness();
    log.info(r.ready ? 'agent ready' : 'agent started, not ready', { missing: r.missing, problems: agent.status().problems });
    return {
      agent,
      metrics,
      source,
      boot,
      stop,
      ...(server ? { metricsAddress: server.address } : {}),
      ...(api ? { apiAddress: api.address } : {}),
      ...(proxy ? { proxy } : {}),
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

/**
 * The CNI fast path: calls forwarded by the native entrypoints run in this process against the agent's own
 * data-plane selection (the call's SWITCHYARD_* variables still win, as for a standalone plugin), and each
 * one is counted in the CNI metrics.
 */
function fastPath(
  config: AgentConfig,
  svc: HostNetworkService,
  metrics: AgentMetrics,
  env: NodeJS.ProcessEnv,
): (req: CniRequest) => Promise<CniReply> {
  const run = cniHandler(
    {
      ...env,
      SWITCHYARD_DATAPLANE: config.dataplane ?? svc.kind,
      ...(config.state !== undefined ? { SWITCHYARD_STATE: config.state } : {}),
    },
    svc,
  );
  return async (req) => {
    const started = process.hrtime.bigint();
    const reply = await run(req);
    metrics.recordCniCall(
      req.env.CNI_COMMAND ?? 'unknown',
      reply.exitCode === 0 ? 'ok' : 'error',
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    return reply;
  };
}

/** flannel's subnet.env, for tools and meta-plugins that read it; a failure is logged, never fatal. */
function writeFlannelSubnetEnv(config: AgentConfig, agent: Agent, publicIp: string, log: AgentLogger): void {
  const subnet = agent.status().subnet;
  if (!config.subnetEnv || !subnet) return;
  try {
    // flannel's FLANNEL_MTU: the uplink's, less the 50 bytes of VXLAN encapsulation on the vxlan backend.
    const uplink = interfaceMtu(publicIp) ?? 1500;
    const mtu = config.netConf.backend.type === 'vxlan' ? uplink - 50 : uplink;
    if (writeSubnetEnv(config.subnetEnv, { network: config.netConf.network, subnet, mtu, ipMasq: true })) {
      agent.noteCreatedFile(config.subnetEnv);
      log.info('subnet.env written', { file: config.subnetEnv, subnet });
    }
  } catch (e) {
    log.warn('subnet.env not written', { file: config.subnetEnv, error: (e as Error).message });
  }
}
