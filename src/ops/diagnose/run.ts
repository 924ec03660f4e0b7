/**
 * Runs the collectors in order, prints a progress line per step, redacts every entry, and writes the archive.
 */
import * as os from 'node:os';
import { COLLECTORS, type Collector, type DiagnoseContext } from './collectors';
import { redactFile } from './redact';
import { writeArchive, type ArchiveFormat, type Entry } from './archive';

export interface DiagnoseResult {
  file: string;
  entries: string[];
  failed: string[];
}

export async function runDiagnose(
  ctx: DiagnoseContext,
  file: string,
  format: ArchiveFormat,
  progress: (line: string) => void,
  collectors: Collector[] = COLLECTORS,
): Promise<DiagnoseResult> {
  const steps = collectors.filter((c) => c.applies(ctx));
  const entries: Entry[] = [];
  const failed: string[] = [];
  for (const [i, c] of steps.entries()) {
    const at = `[${i + 1}/${steps.length}] ${c.name}`;
    try {
      const got = await c.collect(ctx);
      entries.push(...got);
      progress(`${at}: ${got.length} file${got.length === 1 ? '' : 's'}`);
    } catch (e) {
      failed.push(c.name);
      entries.push({ name: `errors/${c.name.replace(/[^A-Za-z0-9]+/g, '-')}.txt`, data: `${(e as Error).message}\n` });
      progress(`${at}: failed: ${(e as Error).message}`);
    }
  }
  const redacted = entries.map((e) => ({
    name: e.name,
    data: redactFile(e.name, Buffer.isBuffer(e.data) ? e.data.toString('utf8') : e.data),
  }));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeArchive(file, `switchyard-diagnose-${os.hostname()}-${stamp}`, redacted, format);
  progress(`wrote ${file} (${redacted.length} files${failed.length ? `, ${failed.length} steps failed` : ''})`);
  return { file, entries: redacted.map((e) => e.name), failed };
}
