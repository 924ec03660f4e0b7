/**
 * switchyard agent: the node agent in the foreground until SIGTERM/SIGINT (SIGHUP re-reads the static peers
 * from --config). Exit 0 after a clean stop, 2 for bad configuration (the field named), 1 when it cannot start.
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { globals } from '../context';
import { UsageError } from '../errors';
import type { AgentConfig, AgentFlags } from '../../agent/config';

function readStructured(file: string, flag: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  try {
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) return JSON.parse(trimmed);
    const YAML = require('yaml') as typeof import('yaml');
    return YAML.parse(trimmed);
  } catch (e) {
    throw new UsageError(`${flag}: ${file} is not valid JSON or YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

interface Flags extends AgentFlags {
  config?: string;
}

export function loadConfig(flags: Flags, global: { dataplane?: string; state?: string }): AgentConfig {
  const { buildAgentConfig, AgentConfigError } = require('../../agent/config') as typeof import('../../agent/config');
  const { netConf: netConfPath, config, ...rest } = flags;
  try {
    return buildAgentConfig({
      ...(config ? { file: readStructured(config, '--config'), fileName: config } : {}),
      ...(netConfPath ? { netConfFile: readStructured(netConfPath, '--net-conf') } : {}),
      flags: {
        ...rest,
        ...(global.dataplane !== undefined ? { dataplane: global.dataplane } : {}),
        ...(global.state !== undefined ? { state: global.state } : {}),
      },
      hostname: os.hostname(),
      platform: process.platform,
      env: process.env,
    });
  } catch (e) {
    if (e instanceof AgentConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/** --dry-run: the agent's first pass on this node, printed (HCN calls with documents, files, listeners), nothing done. */
async function dryRun(config: AgentConfig): Promise<void> {
  const { agentDryRun } = require('../../ops/agent-dry-run') as typeof import('../../ops/agent-dry-run');
  const { toJson } = require('../output') as typeof import('../output');
  try {
    process.stdout.write(await agentDryRun(config, toJson));
  } catch (e) {
    if ((e as Error).name === 'AgentConfigError') throw new UsageError((e as Error).message);
    throw e;
  }
}

export function register(program: Command): void {
  const agentCmd = program
    .command('agent')
    .description(
      'run the node agent in the foreground: ensure the pod network, program peers, write the CNI config, reconcile until SIGTERM/SIGINT',
    )
    .option('--config <file>', 'configuration file (YAML or JSON; flags override it)')
    .option('--node <name>', "this node's name (default: $NODE_NAME, else the host name)")
    .option('--subnet-source <kind>', 'static|kubernetes|etcd (default static)')
    .option('--pod-cidr <cidr>', "static: this node's pod subnet")
    .option('--kubeconfig <path>', 'kubernetes: kubeconfig (default: in-cluster)')
    .option('--etcd-endpoints <urls>', 'etcd: comma-separated URLs')
    .option('--etcd-prefix <prefix>', 'etcd: key prefix (default /coreos.com/network)')
    .option('--net-conf <file>', 'flannel net-conf.json (Network, SubnetLen, Backend.Type host-gw|vxlan, VNI, Port)')
    .option('--public-ip <ip>', "this node's address (default: --iface's, else the first non-internal IPv4)")
    .option('--iface <name>', 'the external interface (NetAdapterName of the network)')
    .option('--cni-conf-dir <dir>', 'where the conflist is written')
    .option('--cni-bin-dir <dir>', 'where the CNI entrypoints are installed')
    .option('--socket <path>', 'local API socket or pipe (env SWITCHYARD_AGENT_SOCKET); empty disables the local API')
    .option(
      '--subnet-env <file>',
      "flannel's subnet.env to write (default /run/flannel/subnet.env, Windows C:\\run\\flannel\\subnet.env); empty: not written",
    )
    .option('--metrics-address <host:port>', '/healthz, /readyz, /metrics (default 127.0.0.1:9915; empty disables)')
    .option('--log-file <file>', 'JSON log file with size-based rotation (default: stdout)')
    .option('--proxy', 'run the service proxy (Services and EndpointSlices → load balancers; replaces kube-proxy on this node)')
    .action(async (flags: Flags, cmd: Command) => {
      const config = loadConfig(flags, globals(cmd));
      if (globals(cmd).dryRun) return dryRun(config);
      const { startAgent } = require('../../agent/main') as typeof import('../../agent/main');
      let running: Awaited<ReturnType<typeof startAgent>>;
      try {
        running = await startAgent(config);
      } catch (e) {
        // Configuration only found wanting at start (no address on --iface, a source not in this build): exit 2.
        const name = (e as Error).name;
        if (name === 'AgentConfigError' || name === 'SubnetSourceUnavailableError') throw new UsageError((e as Error).message);
        throw e;
      }
      const { notifyReady, notifyStopping } = require('../../agent/platform/sd-notify') as typeof import('../../agent/platform/sd-notify');
      const { watchServiceStop } = require('../../agent/platform/stop-signal') as typeof import('../../agent/platform/stop-signal');
      // systemd (Type=notify) orders kubelet after us only once READY=1 is sent: send it when the network, the
      // host endpoint and the CNI config exist, which may be after start returns (e.g. a peer or the API late).
      let readyTimer: NodeJS.Timeout | undefined;
      const announceReady = () => {
        if (running.agent.readiness().ready) return void notifyReady().catch(() => false);
        readyTimer = setTimeout(announceReady, 1000);
      };
      announceReady();
      await new Promise<void>((resolve) => {
        let unwatchService = () => {};
        const onStop = (sig: string) => {
          process.removeListener('SIGTERM', term);
          process.removeListener('SIGINT', int);
          process.removeListener('SIGHUP', hup);
          unwatchService();
          if (readyTimer) clearTimeout(readyTimer);
          void notifyStopping().catch(() => false);
          void running.stop().then(resolve, (e: Error) => {
            process.stderr.write(`switchyard agent: stop after ${sig}: ${e.message}\n`);
            resolve();
          });
        };
        // The Windows service host asks for a stop on our stdin (SWITCHYARD_SERVICE_STOP=stdin): same path.
        unwatchService = watchServiceStop((why) => onStop(why));
        const term = () => onStop('SIGTERM');
        const int = () => onStop('SIGINT');
        const hup = () => {
          // Static peers from the file; a bad file keeps the current peers (and says why).
          if (!flags.config) return;
          try {
            const next = loadConfig(flags, globals(cmd));
            const src = running.source as { setPeers?: (p: AgentConfig['peers']) => void };
            src.setPeers?.(next.peers);
          } catch (e) {
            process.stderr.write(`switchyard agent: SIGHUP: ${(e as Error).message}\n`);
          }
        };
        process.on('SIGTERM', term);
        process.on('SIGINT', int);
        process.on('SIGHUP', hup);
      });
    });
  agentCmd
    .command('cleanup')
    .description(
      "remove what the agent created on this node (its network if it created it, host and source-VIP endpoints, peer policies and routes, the conflist, the entrypoints it copied, subnet.env, its IPAM reservations); refused while pods' endpoints remain, unless --force. Run with the agent's configuration, the agent stopped",
    )
    .option('--config <file>', "the agent's configuration file")
    .option('--force', "also when pods' endpoints remain (a network the agent created is deleted with them)")
    .action(async (_opts: unknown, cmd: Command) => {
      // The agent's own flags given after `cleanup` are parsed by `agent`: read both levels.
      const all = cmd.optsWithGlobals() as Flags & { force?: boolean; dataplane?: string; state?: string };
      const { force, dataplane, state, ...rest } = all;
      const { headers: _h, dryRun: _d, ...flags } = rest as Flags & { headers?: unknown; dryRun?: unknown };
      const config = loadConfig(flags as Flags, { dataplane, state });
      const { openDataplane } = require('../../dataplane/factory') as typeof import('../../dataplane/factory');
      const { cleanupAgent } = require('../../agent/cleanup') as typeof import('../../agent/cleanup');
      const svc = await openDataplane({ kind: config.dataplane as never, statePath: config.state });
      try {
        const r = await cleanupAgent(config, svc, { force: !!force });
        if (r.nothingRecorded) process.stdout.write('nothing to clean up: this agent has recorded nothing it created on this node\n');
        for (const line of r.removed) process.stdout.write(`removed ${line}\n`);
        if (!r.nothingRecorded && r.removed.length === 0) process.stdout.write('nothing left to remove\n');
      } finally {
        await svc.close();
      }
    });
}
