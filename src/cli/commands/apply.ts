/** switchyard apply -f FILE: create what a JSON/YAML file of HCN documents describes, idempotently by Name. */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import { withService, format, print, isDryRun } from '../context';
import { readDocuments, planApply, executeApply, type ApplyOutcome } from '../apply';
import { render, type Column } from '../output';
import { UsageError } from '../errors';

const COLUMNS: Column<ApplyOutcome>[] = [
  { header: 'KIND', get: (o) => o.Kind },
  { header: 'NAME', get: (o) => o.Document.Name },
  { header: 'ID', get: (o) => o.Document.ID },
  { header: 'RESULT', get: (o) => o.Result },
];

/** Largest input `apply -f` reads (`/dev/zero` must not grow the process without bound): exit 2 beyond. */
const INPUT_LIMIT = 16 * 1024 * 1024;

function readInput(file: string): string {
  try {
    const fd = file === '-' ? 0 : fs.openSync(file, 'r');
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.alloc(64 * 1024);
    try {
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        total += n;
        if (total > INPUT_LIMIT) throw new UsageError(`-f/--filename: ${file} is larger than ${INPUT_LIMIT} bytes`);
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
    } finally {
      if (fd !== 0) fs.closeSync(fd);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`-f/--filename: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('create the networks, endpoints, namespaces and load balancers a JSON/YAML file describes (idempotent by Name)')
    .requiredOption('-f, --filename <file>', 'HCN documents in JSON or YAML ("-" reads stdin)')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (opts: { filename: string }, cmd: Command) => {
      const fmt = format(cmd);
      const sources = readDocuments(readInput(opts.filename), opts.filename);
      await withService(cmd, async (svc) => {
        const planned = await planApply(svc, sources);
        const outcomes = await executeApply(svc, planned);
        // kubectl's wording: in a dry run every result says that nothing was done.
        const shown = isDryRun(cmd) ? outcomes.map((o) => ({ ...o, Result: `${o.Result} (dry run)` as ApplyOutcome['Result'] })) : outcomes;
        print(render(fmt, shown, COLUMNS));
      });
    });
}
