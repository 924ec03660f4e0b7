/**
 * The agent's composition root: opens the data plane, the subnet source, the log and the metrics endpoint,
 * starts the Agent, and gives back one `stop()` that every host calls (the CLI on SIGTERM/SIGINT, the Windows
 * service host on a stop request). The local API server is wired by the caller with `agent.statusHandler`.
 */
import { openDataplane } from '../dataplane/factory';
import type { DataplaneKind, HostNetworkService } from '../dataplane/types';
import { Agent, type ReconcileReport } from './agent';
import { AgentConfigError, type AgentConfig } from './config';
import { createAgentLogger, type AgentLogger } from './log';
import { AgentMetrics, startMetricsServer, type MetricsServer } from './metrics';
import { interfaceAddress, platformTraits } from './platform';
import { createSubnetSource } from './subnet';
import type { SubnetSource } from './subnet/types';

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
  boot: ReconcileReport;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, opts: StartOptions = {}): Promise<RunningAgent> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? createAgentLogger({ file: config.logFile, level: env.SWITCHYARD_LOG_LEVEL });
  const publicIp = config.publicIp ?? interfaceAddress(config.iface);
  if (!publicIp) throw new AgentConfigError([config.iface ? `--iface: interface ${config.iface} has no IPv4 address` : '--public-ip: no IPv4 interface found on this node: give --public-ip or --iface']);
  // The source first: a source this build lacks is a configuration error, found before anything is opened.
  const source = opts.source ?? createSubnetSource({ config });
  const svc = opts.svc ?? await openDataplane({ kind: config.dataplane as DataplaneKind | undefined, statePath: config.state, env });
  const metrics = new AgentMetrics();
  const agent = new Agent({ config, svc, source, log, metrics, traits: platformTraits(svc), publicIp, periodic: opts.periodic });
  let server: MetricsServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    await agent.stop();
    await server?.close();
    if (!opts.svc) await svc.close();
    if (!opts.log) await log.close();
  })());
  try {
    if (config.metricsAddress) server = await startMetricsServer(config.metricsAddress, metrics, agent);
    log.info('agent starting', { node: config.node, dataplane: svc.kind, source: source.kind, backend: config.netConf.backend.type, metrics: server?.address ?? 'disabled' });
    const boot = await agent.start();
    const r = agent.readiness();
    log.info(r.ready ? 'agent ready' : 'agent started, not ready', { missing: r.missing, problems: agent.status().problems });
    return { agent, metrics, source, boot, stop, ...(server ? { metricsAddress: server.address } : {}) };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
