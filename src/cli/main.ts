#!/usr/bin/env node
/**
 * switchyard: the command line over the host network service (HCN v2 documents in, HCN v2 documents out).
 * Exit codes: 0 ok, 1 failure from HNS (HnsError text + HRESULT) or the system, 2 usage/validation error
 * (nothing changed).
 */
import { Command, CommanderError, Option } from 'commander';
import { DATAPLANE_KINDS } from '../dataplane/types';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors';

export interface CommandModule {
  register(program: Command): void;
}

/** One line per command group; a new group is one more entry here. */
const COMMAND_MODULES: readonly (() => CommandModule)[] = [
  () => require('./commands/network'),
  () => require('./commands/endpoint'),
  () => require('./commands/lb'),
  () => require('./commands/namespace'),
  () => require('./commands/apply'),
  () => require('./commands/version'),
  () => require('./commands/lab'),
  () => require('./commands/agent'),
  () => require('./commands/service'),
  () => require('./commands/status'),
  () => require('./commands/diagnose'),
  () => require('./commands/diagram'),
  () => require('./commands/delete'),
  () => require('./commands/repair'),
];

export function buildProgram(): Command {
  const program = new Command('switchyard');
  program
    .description('Provision HNS networks, endpoints, namespaces and load balancers (HCN v2) on any data plane')
    .addOption(
      new Option(
        '--dataplane <kind>',
        "data plane (env SWITCHYARD_DATAPLANE; default: the platform's real one when usable, else memory)",
      ).choices([...DATAPLANE_KINDS]),
    )
    .option('--state <path>', 'state file of the memory data plane (env SWITCHYARD_STATE)')
    .option('--no-headers', 'tables without their header line')
    .option('--dry-run', 'change nothing: print the HCN calls and documents a mutating command would send (reads go to the data plane)')
    .version(require('./commands/version').ownVersion(), '--version', 'print the Switchyard version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const load of COMMAND_MODULES) load().register(program);
  program.hook('preAction', (_program, action) => {
    const g = action.optsWithGlobals();
    require('./output').tableOptions.noHeaders = g.headers === false;
    // Every --name (network, endpoint, namespace, lb create): the same rule as a document's Name in apply -f.
    const name = (action.opts() as { name?: unknown }).name;
    if (typeof name === 'string') (require('./apply') as typeof import('./apply')).checkName({ Name: name }, '--name');
    // A command with its own --dry-run (service install) gets the flag wherever it was written: commander
    // gives it to the program when the program declares it too.
    if (g.dryRun && action !== _program && action.options.some((o) => o.attributeName() === 'dryRun'))
      action.setOptionValue('dryRun', true);
  });
  return program;
}

function errorKind(e: unknown): 'usage' | 'hns' | 'other' {
  if (e instanceof UsageError) return 'usage';
  const name = (e as Error | undefined)?.name;
  if (name === 'HcnValidationError' || name === 'HcnParseError' || name === 'DataplaneConfigError') return 'usage';
  if (name === 'HnsError') return 'hns';
  return 'other';
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE; // commander printed it
    if ((e as Error | undefined)?.name === 'ExitWith') return (e as { code: number }).code; // the command printed its answer
    const kind = errorKind(e);
    const err = e as Error & { hresult?: number };
    if (kind === 'hns') {
      const { formatHresult, hresultName } = require('../hns/errors') as typeof import('../hns/errors');
      const name = err.hresult !== undefined ? hresultName(err.hresult) : undefined;
      process.stderr.write(`switchyard: ${err.message}\nHRESULT ${formatHresult(err.hresult ?? 0)}${name ? ' ' + name : ''}\n`);
      return EXIT_FAILURE;
    }
    process.stderr.write(`switchyard: ${err?.message ?? String(e)}\n`);
    if (kind === 'other' && process.env.SWITCHYARD_DEBUG && err?.stack) process.stderr.write(err.stack + '\n');
    return kind === 'usage' ? EXIT_USAGE : EXIT_FAILURE;
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
