/**
 * switchyard diagnose [-o FILE]: one archive (tar.gz on Linux, zip on Windows) with what a maintainer needs:
 * data plane documents, the OS's view (iproute2 + nft, or the PowerShell/vfpctrl outputs collectlogs gathers),
 * the agent's status and metrics, logs, versions, CNI config, subnet.env. Secrets redacted. Progress on stderr.
 */
import type { Command } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_METRICS_ADDRESS } from '../../agent/config';
import { defaultSubnetEnvPath } from '../../agent/subnet/subnet-env';
import { agentSocket } from '../../ops/agent-client';
import { formatOf, type ArchiveFormat } from '../../ops/diagnose/archive';
import type { ShellRunner } from '../../ops/diagnose/collectors';
import { runDiagnose } from '../../ops/diagnose/run';
import { withService } from '../context';
import { UsageError } from '../errors';
import { parseIntFlag } from '../output';
import { ownVersion } from './version';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface Flags {
  output?: string;
  socket?: string;
  metricsUrl?: string;
  log: string[];
  maxLogMb: string;
  cniConfDir?: string;
  subnetEnv?: string;
  config: string[];
}

export function register(program: Command): void {
  program
    .command('diagnose')
    .description('collect a diagnostics archive (tar.gz on Linux, zip on Windows) with secrets redacted')
    .option(
      '-o, --output <file>',
      'the archive: FILE.tar.gz, FILE.tgz or FILE.zip (default: switchyard-diagnose-HOST-TIME in the current directory)',
    )
    .option('--socket <path>', "the agent's local API (env SWITCHYARD_AGENT_SOCKET)")
    .option('--metrics-url <url>', `the agent's metrics (default http://${DEFAULT_METRICS_ADDRESS}/metrics)`)
    .option('--log <file>', 'a log to include, repeatable (default: SWITCHYARD_LOG_FILE when set)', collect, [])
    .option('--max-log-mb <n>', 'keep the last N MiB of each log, 1..1024', '10')
    .option('--cni-conf-dir <dir>', 'CNI configuration directory (default /etc/cni/net.d, C:\\etc\\cni\\net.d)')
    .option('--subnet-env <file>', "flannel's subnet.env (default /run/flannel/subnet.env)")
    .option(
      '--config <file>',
      'a configuration file to include redacted (agent config, kubeconfig, net-conf.json), repeatable',
      collect,
      [],
    )
    .action(async (f: Flags, cmd: Command) => {
      const win = process.platform === 'win32';
      const maxLogBytes = parseIntFlag('--max-log-mb', f.maxLogMb, 1, 1024) * 1024 * 1024;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = path.resolve(f.output ?? `switchyard-diagnose-${os.hostname()}-${stamp}.${win ? 'zip' : 'tar.gz'}`);
      const format: ArchiveFormat | undefined = formatOf(file);
      if (!format) throw new UsageError(`-o/--output: "${f.output}" must end in .tar.gz, .tgz or .zip`);
      const logs = f.log.length ? f.log : process.env.SWITCHYARD_LOG_FILE ? [process.env.SWITCHYARD_LOG_FILE] : [];
      await withService(cmd, async (svc) => {
        let shell: (ShellRunner & { dispose(): Promise<void> }) | undefined;
        if (win) {
          const { nodePowerShell } =
            require('../../dataplane/windows/powershell/shell') as typeof import('../../dataplane/windows/powershell/shell');
          shell = nodePowerShell({ timeoutMs: 60_000 });
        }
        try {
          await runDiagnose(
            {
              svc,
              platform: process.platform,
              switchyardVersion: ownVersion(),
              agentSocket: agentSocket(f.socket),
              metricsUrl: f.metricsUrl ?? `http://${DEFAULT_METRICS_ADDRESS}/metrics`,
              logFiles: logs,
              maxLogBytes,
              cniConfDir: f.cniConfDir ?? (win ? 'C:\\etc\\cni\\net.d' : '/etc/cni/net.d'),
              subnetEnv: f.subnetEnv ?? defaultSubnetEnvPath(process.platform),
              configFiles: f.config,
              ...(shell ? { shell } : {}),
              ...(process.env.SWITCHYARD_LINUX_NETNS ? { netns: process.env.SWITCHYARD_LINUX_NETNS } : {}),
            },
            file,
            format,
            (line) => process.stderr.write(line + '\n'),
          );
        } finally {
          await shell?.dispose();
        }
      });
      process.stdout.write(file + '\n');
    });
}
