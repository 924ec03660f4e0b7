/**
 * `switchyard agent --proxy`: the service proxy inside the agent. Services and EndpointSlices come through the
 * agent's kubeconfig (informers), node facts from the agent (its network, source VIP and address), and the
 * proxy programs load balancers through the agent's data plane. At start it refuses to run beside kube-proxy
 * (its nft/iptables rules on a Linux node, its HNS load balancers anywhere); findings become log lines, a
 * metric and Kubernetes events about their Service (src/proxy/events.ts); its counters are exported on the agent's /metrics. It stops with the agent (programmed load
 * balancers stay: a restart adopts them).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import type { Registry } from 'prom-client';
import type { HostNetworkService } from '../dataplane/types';
import type { AgentConfig } from './config';
import type { AgentLogger } from './log';
import type { ProxySettings } from './proxy-config';

export interface ProxyFactsSource {
  /** The cluster network's name (the HNS network the pods are on). */
  readonly networkName: string;
  /** The reserved source VIP (Overlay), once known. */
  sourceVip(): string | undefined;
}

export interface RunningProxy {
  readonly proxy: import('../proxy/sync').ServiceProxy;
  /** Findings posted as Kubernetes events (counts; flush() waits for the posts in flight). */
  readonly events: import('../proxy/events').FindingEvents;
  /** The health check node ports of ETP Local LoadBalancer Services (kube-proxy's service health servers). */
  readonly health: import('../proxy/health/server').ServiceHealthServer;
  stop(): Promise<void>;
}

export function defaultOwnershipFile(config: AgentConfig, platform: NodeJS.Platform = process.platform): string {
  if (config.proxy.ownershipFile) return config.proxy.ownershipFile;
  if (config.state) return path.join(path.dirname(config.state), 'proxy-owned.json');
  return platform === 'win32' ? 'C:\\ProgramData\\switchyard\\proxy-owned.json' : '/var/lib/switchyard/proxy-owned.json';
}

/** kube-proxy's rules in the node's namespace (the linux plane's SWITCHYARD_LINUX_NETNS when set). */
async function checkLinuxKubeProxy(env: NodeJS.ProcessEnv): Promise<void> {
  const { assertNoKubeProxyRules } = require('../proxy/platform/linux-coexistence') as typeof import('../proxy/platform/linux-coexistence');
  const netns = env.SWITCHYARD_LINUX_NETNS;
  await assertNoKubeProxyRules({
    exec: (file, args) =>
      new Promise((resolve, reject) => {
        const [cmd, argv] = netns ? ['nsenter', [`--net=${netns}`, file, ...args]] : [file, args];
        execFile(cmd, argv, { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`${cmd} ${argv.join(' ')}: ${stderr.trim() || err.message}`));
          else resolve(stdout);
        });
      }),
  });
}

export async function startProxy(d: {
  config: AgentConfig;
  settings: ProxySettings;
  svc: HostNetworkService;
  facts: ProxyFactsSource;
  nodeIp: string;
  log: AgentLogger;
  registry: Registry;
  env: NodeJS.ProcessEnv;
}): Promise<RunningProxy> {
  const { config, settings, svc, log } = d;
  const { ServiceProxy } = require('../proxy/sync') as typeof import('../proxy/sync');
  const { FileOwnershipStore } = require('../proxy/platform/ownership-file') as typeof import('../proxy/platform/ownership-file');
  const { ProxyInformers } = require('../proxy/informers') as typeof import('../proxy/informers');
  const { loadKubeConfig } = require('./subnet/kubernetes') as typeof import('./subnet/kubernetes');
  const { FindingEvents } = require('../proxy/events') as typeof import('../proxy/events');
  const { ServiceHealthServer } = require('../proxy/health/server') as typeof import('../proxy/health/server');

  // Only a data plane with real packets on a Linux host can meet kube-proxy's kernel rules; HNS load
  // balancers of kube-proxy are found by the proxy's own first sync on every plane.
  if (process.platform === 'linux' && svc.capabilities.realizesPackets) await checkLinuxKubeProxy(d.env);

  const metrics = proxyMetrics(d.registry);
  const sourceVip = d.facts.sourceVip();
  const kc = loadKubeConfig(config.kubeconfig, d.env);
  // The informers are made below; the events look the Service's UID up in them when one is reported.
  const made: { informers?: import('../proxy/informers').ProxyInformers } = {};
  const events = new FindingEvents(kc, {
    nodeName: config.node,
    serviceUid: (ns, name) => made.informers?.serviceUid(ns, name),
    log: (level, message, fields) => log[level](`proxy: ${message}`, fields),
  });
  metrics.bindEvents(events.counts);
  const health = new ServiceHealthServer({
    addresses: settings.healthCheckAddresses ?? [d.nodeIp],
    log: (level, message) => log[level](`proxy: ${message}`),
  });
  // Updates are chained so listeners open and close in sync order; a failed bind is logged by the server.
  let healthUpdate: Promise<void> = Promise.resolve();
  const proxy = new ServiceProxy({
    hns: svc,
    network: { name: d.facts.networkName },
    nodeName: config.node,
    nodeIPs: [d.nodeIp],
    ...(sourceVip ? { sourceVip } : {}),
    ...(settings.hostMac ? { hostMac: settings.hostMac } : {}),
    enableDSR: settings.enableDSR,
    adoptForeign: settings.adoptForeign,
    coalesceMs: settings.coalesceMs,
    resyncIntervalMs: settings.resyncSeconds * 1000,
    ownership: new FileOwnershipStore(defaultOwnershipFile(config)),
    log: (level, message, fields) => log[level === 'debug' ? 'debug' : level](`proxy: ${message}`, fields),
    onFinding: (f) => {
      metrics.findings.inc({ reason: f.reason, severity: f.severity });
      log.warn(`proxy: ${f.service}: ${f.message}`, { reason: f.reason, severity: f.severity });
      events.record(f);
    },
    onSynced: () => {
      healthUpdate = healthUpdate.then(() => health.update(proxy.healthChecks(), proxy.healthy())).catch(() => undefined);
    },
  });
  metrics.bind(proxy.counters);
  const inf = new ProxyInformers(kc, proxy, { log: (level, message) => log[level](`proxy: ${message}`) });
  made.informers = inf;
  try {
    await inf.start();
    await proxy.start();
  } catch (e) {
    await inf.stop().catch(() => undefined);
    await proxy.stop().catch(() => undefined);
    await events.flush();
    await healthUpdate;
    await health.close();
    throw e;
  }
  log.info('service proxy started', { network: d.facts.networkName, loadBalancers: proxy.counters.programmedLoadBalancers });
  return {
    proxy,
    events,
    health,
    async stop() {
      await inf.stop();
      await proxy.stop();
      await events.flush();
      await healthUpdate;
      await health.close();
    },
  };
}

/**
 * The proxy's counters as Prometheus counters: read at scrape time from the proxy's own (monotonic) numbers,
 * so nothing is counted twice or lost between scrapes.
 */
function proxyMetrics(registry: Registry) {
  const prom = require('prom-client') as typeof import('prom-client');
  let counters: import('../proxy/sync').ProxyCounters | undefined;
  const seen = new Map<string, number>();
  const delta = (k: string, now: number) => {
    const d = now - (seen.get(k) ?? 0);
    seen.set(k, now);
    return d > 0 ? d : 0;
  };
  const registers = [registry];
  new prom.Counter({
    name: 'switchyard_proxy_syncs_total',
    help: 'Service proxy syncs, by kind (incremental, full)',
    labelNames: ['kind'],
    registers,
    collect() {
      if (!counters) return;
      this.inc({ kind: 'incremental' }, delta('syncs', counters.syncs));
      this.inc({ kind: 'full' }, delta('fullSyncs', counters.fullSyncs));
    },
  });
  new prom.Counter({
    name: 'switchyard_proxy_drift_repairs_total',
    help: 'Load balancers or remote endpoints the proxy had programmed, found missing or altered by a full sync and repaired; by kind',
    labelNames: ['kind'],
    registers,
    collect() {
      if (!counters) return;
      this.inc({ kind: 'loadbalancer-missing' }, delta('lbMissing', counters.driftLoadBalancersMissing));
      this.inc({ kind: 'loadbalancer-altered' }, delta('lbAltered', counters.driftLoadBalancersAltered));
      this.inc({ kind: 'remote-endpoint-missing' }, delta('remoteMissing', counters.driftRemoteEndpointsMissing));
    },
  });
  new prom.Counter({
    name: 'switchyard_proxy_errors_total',
    help: 'Data plane calls of the service proxy that failed (each logged)',
    registers,
    collect() {
      if (counters) this.inc(delta('errors', counters.errors));
    },
  });
  new prom.Gauge({
    name: 'switchyard_proxy_load_balancers',
    help: 'Load balancers the service proxy has programmed',
    registers,
    collect() {
      if (counters) this.set(counters.programmedLoadBalancers);
    },
  });
  const findings = new prom.Counter({
    name: 'switchyard_proxy_findings_total',
    help: 'What the service proxy could not do as a Service asked (each also logged), by reason and severity',
    labelNames: ['reason', 'severity'],
    registers,
  });
  let eventCounts: { posted: number; failed: number; dropped: number } | undefined;
  new prom.Counter({
    name: 'switchyard_proxy_events_total',
    help: 'Kubernetes events the service proxy made for its findings, by result (posted, failed, dropped by the rate limit)',
    labelNames: ['result'],
    registers,
    collect() {
      if (!eventCounts) return;
      for (const r of ['posted', 'failed', 'dropped'] as const) this.inc({ result: r }, delta(`events.${r}`, eventCounts[r]));
    },
  });
  return {
    findings,
    bind(c: import('../proxy/sync').ProxyCounters) {
      counters = c;
    },
    bindEvents(c: { posted: number; failed: number; dropped: number }) {
      eventCounts = c;
    },
  };
}
