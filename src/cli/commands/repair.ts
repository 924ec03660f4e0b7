/**
 * switchyard repair: crash and reboot recovery on request. Reads (`list`, `get`, `status`) never repair;
 * writes repair first. This runs the same recovery now and prints each change, or with --dry-run each
 * change it would make. A data plane without `repair` keeps nothing that can drift: nothing to do.
 */
import type { Command } from 'commander';
import type { DataplaneKind } from '../../dataplane/types';
import { openDataplane } from '../../dataplane/factory';
import { globals, print } from '../context';
import { parseOutputFormat, toJson, toYaml } from '../output';

export function register(program: Command): void {
  program
    .command('repair')
    .description('bring the kernel back in line with the data plane state after a crash or reboot, printing each change')
    .option('--dry-run', 'change nothing: print what a repair would change')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (opts: { dryRun?: boolean; output?: string }, cmd: Command) => {
      const fmt = parseOutputFormat(opts.output);
      const g = globals(cmd);
      const dryRun = !!(opts.dryRun || g.dryRun);
      // Opened directly, not through withService: its global --dry-run records mutating calls instead of
      // making them, while this command's dry run asks the data plane itself what it would change.
      const svc = await openDataplane({ kind: g.dataplane as DataplaneKind | undefined, statePath: g.state });
      let actions: string[];
      try {
        actions = svc.repair ? (await svc.repair({ dryRun })).actions : [];
      } finally {
        await svc.close();
      }
      if (fmt === 'json' || fmt === 'yaml') {
        const doc = { dryRun, actions };
        print(fmt === 'json' ? toJson(doc) : toYaml(doc));
        return;
      }
      if (!actions.length) {
        print(svc.repair ? 'nothing to repair\n' : `nothing to repair: the ${svc.kind} data plane keeps nothing that can drift\n`);
        return;
      }
      print(actions.map((a) => `${dryRun ? 'would ' : ''}${a}\n`).join(''));
    });
}
