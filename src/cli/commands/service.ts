/**
 * switchyard service install|uninstall|start|stop|status: the node agent as a systemd unit (Linux) or a Windows
 * service (the native service host under the SCM). The logic is in src/service/; this file only parses options.
 */
import type { Command } from 'commander';
import * as path from 'node:path';
import { print } from '../context';
import { UsageError } from '../errors';
import { parseIntFlag, toJson } from '../output';

interface CommonOpts {
  dryRun?: boolean;
  root?: string;
  hostExe?: string;
}
interface InstallOpts extends CommonOpts {
  config?: string;
  configInPlace?: boolean;
  node?: string;
  stopTimeout: string;
}
interface UninstallOpts extends CommonOpts {
  purge?: boolean;
}

async function withBackend<T>(
  o: CommonOpts,
  fn: (b: import('../../service/common').ServiceBackend, plan: import('../../service/common').Plan) => Promise<T>,
): Promise<T> {
  const { openBackend } = require('../../service/backend') as typeof import('../../service/backend');
  const { Plan, ServiceUsageError } = require('../../service/common') as typeof import('../../service/common');
  const { CommandLineError } = require('../../service/quote') as typeof import('../../service/quote');
  try {
    const backend = openBackend({ root: o.root, hostExe: o.hostExe });
    return await fn(backend, new Plan(Boolean(o.dryRun), (line) => print(line + '\n')));
  } catch (e) {
    if (e instanceof ServiceUsageError || e instanceof CommandLineError) throw new UsageError(e.message);
    throw e;
  }
}

const common = (c: Command) =>
  c
    .option('--dry-run', 'print what would be done and change nothing')
    .option('--root <dir>', 'install under this directory instead of / (image building, tests)');

export function register(program: Command): void {
  const svc = program.command('service').description('install the node agent as a systemd unit (Linux) or a Windows service');

  common(svc.command('install'))
    .description('install or update the agent service and start it (idempotent: prints what changed)')
    .option(
      '--config <file>',
      'the agent configuration file (copied to /etc/switchyard/agent.yaml or C:\\ProgramData\\Switchyard\\agent.yaml)',
    )
    .option('--config-in-place', 'use --config where it is instead of copying it')
    .option('--node <path>', 'node executable that runs the agent (default: the one running this command)')
    .option('--stop-timeout <seconds>', 'graceful-stop wait in seconds before the agent is killed, 1..600', '30')
    .option('--host-exe <path>', 'Windows: the service host executable (default: native/build/switchyard-service.exe)')
    .action(async (o: InstallOpts) => {
      if (!o.config) throw new UsageError('--config: the agent configuration file is required');
      const stop = parseIntFlag('--stop-timeout', o.stopTimeout, 1, 600, 'seconds');
      await withBackend(o, (b, plan) =>
        b.install(
          {
            configFile: path.resolve(o.config!),
            configInPlace: Boolean(o.configInPlace),
            nodePath: o.node ?? process.execPath,
            cliPath: path.resolve(__dirname, '../main.js'),
            stopTimeoutSec: stop,
          },
          plan,
        ),
      );
    });

  common(svc.command('uninstall'))
    .description('stop and remove the agent service; the pod network stays unless --purge')
    .option('--purge', "also run the agent's cleanup (removes the pod network) and remove the copied configuration")
    .action(async (o: UninstallOpts) => {
      const { agentCleanup } = require('../../service/purge') as typeof import('../../service/purge');
      await withBackend(o, (b, plan) =>
        b.uninstall({ purge: Boolean(o.purge) }, plan, agentCleanup(process.execPath, path.resolve(__dirname, '../main.js'))),
      );
    });

  common(svc.command('start'))
    .description('start the agent service')
    .action(async (o: CommonOpts) => withBackend(o, (b, plan) => b.start(plan)));
  common(svc.command('stop'))
    .description('stop the agent service (graceful; the pod network stays)')
    .action(async (o: CommonOpts) => withBackend(o, (b, plan) => b.stop(plan)));

  svc
    .command('status')
    .description('show whether the agent service is installed and running')
    .option('--root <dir>', 'the installation root (as given to install)')
    .option('-o, --output <format>', 'table|json', 'table')
    .action(async (o: CommonOpts & { output: string }) => {
      if (o.output !== 'table' && o.output !== 'json') throw new UsageError(`-o/--output: "${o.output}" must be table or json`);
      const s = await withBackend(o, (b) => b.status());
      if (o.output === 'json') return print(toJson(s));
      print(`Installed:   ${s.installed ? 'yes' : 'no'}\nState:       ${s.state}\n`);
      if (s.pid) print(`PID:         ${s.pid}\n`);
      if (s.startType) print(`Start type:  ${s.startType}\n`);
      if (s.exitCode !== undefined) print(`Last exit:   ${s.exitCode}\n`);
      for (const [k, v] of Object.entries(s.details)) print(`${(k + ':').padEnd(12)} ${v}\n`);
    });
}
