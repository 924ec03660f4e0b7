/**
 * How the CLI prints: `-o table` (default, for people), `-o json` (the HCN v2 document itself, exactly as HCN
 * would accept it: bigint-safe, 2-space indent) and `-o yaml` (the same data). yaml is required lazily so a
 * plain `switchyard network list` does not pay for it.
 */
import { stringifyHnsJson } from '../hns/json';
import { UsageError } from './errors';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

export function parseOutputFormat(value: string | undefined): OutputFormat {
  const v = (value ?? 'table').toLowerCase();
  if (!OUTPUT_FORMATS.includes(v as OutputFormat)) {
    throw new UsageError(`-o/--output: "${value}" is not a format: use one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  return v as OutputFormat;
}

export function toJson(value: unknown): string {
  return stringifyHnsJson(value, 2) + '\n';
}

export function toYaml(value: unknown): string {
  const YAML = require('yaml') as typeof import('yaml');
  return YAML.stringify(value, { aliasDuplicateObjects: false });
}

export interface Column<T> {
  header: string;
  get(row: T): string | number | undefined;
}

/** Left-aligned columns separated by two spaces, like kubectl. */
export function toTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((r) =>
    columns.map((c) => {
      const v = c.get(r);
      return v === undefined || v === '' ? '-' : String(v);
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/**
 * Prints documents: a list prints as a JSON/YAML array, a single `get` as the document itself. `canonical`
 * (a parse* of src/hns/parse.ts) puts whatever the data plane returned into HNS's own spelling first, so the
 * output is what HCN accepts whatever casing drift the host produced.
 */
export function render<T>(format: OutputFormat, data: T | T[], columns: Column<T>[], canonical: (doc: T) => T = (d) => d): string {
  data = Array.isArray(data) ? data.map(canonical) : canonical(data);
  if (format === 'json') return toJson(data);
  if (format === 'yaml') return toYaml(data);
  return toTable(Array.isArray(data) ? data : [data], columns);
}

/**
 * Thrown by a command that has printed its whole answer but must exit non-zero (e.g. `status` with problems):
 * main.ts exits with `code` and prints nothing more.
 */
export class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitWith';
  }
}

/** A numeric flag: an integer within [min, max], else a UsageError naming the flag and its limits. */
export function parseIntFlag(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag}: "${value}" is not an integer in ${min}..${max}`);
  }
  return n;
}
