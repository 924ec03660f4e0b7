/**
 * How the CLI prints: `-o table` (default, for people), `-o json` (the HCN v2 document itself, exactly as HCN
 * would accept it: bigint-safe, 2-space indent) and `-o yaml` (the same data). yaml is required lazily so a
 * plain `switchyard network list` does not pay for it.
 */
import { stringifyHnsJson } from '../hns/json';
import { UsageError } from './errors';

export type OutputFormat = 'table' | 'json' | 'yaml' | 'wide' | 'name';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml', 'wide', 'name'];

/** Process-wide table options set once from the global flags (main.ts): kubectl's --no-headers. */
export const tableOptions = { noHeaders: false };

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

/**
 * A stored string made safe for a terminal: control characters (C0, DEL, C1: newlines, terminal escapes) and
 * the Unicode line separators are printed as escapes (`\n`, `\x1b`, `\u2028`), never raw, so a name
 * written by anyone into a state file cannot move the cursor, recolour or forge lines of a table.
 */
export function escapeControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = ch.charCodeAt(0);
    return named[ch] ?? (code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`);
  });
}

/** Left-aligned columns separated by two spaces, like kubectl. */
export function toTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((r) =>
    columns.map((c) => {
      const v = c.get(r);
      return v === undefined || v === '' ? '-' : escapeControl(String(v));
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const body = cells.map(line);
  if (tableOptions.noHeaders) return body.length ? body.join('\n') + '\n' : '';
  return [line(columns.map((c) => c.header)), ...body].join('\n') + '\n';
}

/**
 * Prints documents: a list prints as a JSON/YAML array, a single `get` as the document itself. `canonical`
 * (a parse* of src/hns/parse.ts) puts whatever the data plane returned into HNS's own spelling first, so the
 * output is what HCN accepts whatever casing drift the host produced. `-o wide` adds every policy's type and
 * the command's own `wide` columns (the GUIDs behind names the table shows).
 */
export function render<T>(
  format: OutputFormat,
  data: T | T[],
  columns: Column<T>[],
  canonical: (doc: T) => T = (d) => d,
  wide: Column<T>[] = [],
): string {
  data = Array.isArray(data) ? data.map(canonical) : canonical(data);
  if (format === 'json') return toJson(data);
  if (format === 'yaml') return toYaml(data);
  const rows = Array.isArray(data) ? data : [data];
  if (format === 'name')
    return rows
      .map(
        (d) => `${kindOf(d)}/${escapeControl(String((d as Named).Name || (d as Named).ID))}
`,
      )
      .join('');
  if (format === 'wide') return toTable(rows, [...columns, POLICY_TYPES as Column<T>, ...wide]);
  return toTable(rows, columns);
}

type Named = { ID?: string; Name?: string };

/** The kind of an HCN document from its fields (as apply infers it), for `-o name`. */
export function kindOf(doc: unknown): string {
  const d = (doc ?? {}) as Record<string, unknown>;
  if (typeof d.Kind === 'string') return d.Kind === 'LoadBalancer' ? 'lb' : d.Kind.toLowerCase();
  if ('FrontendVIPs' in d || 'PortMappings' in d || 'HostComputeEndpoints' in d) return 'lb';
  if ('HostComputeNetwork' in d || 'IpConfigurations' in d || 'MacAddress' in d) return 'endpoint';
  if ('Resources' in d || 'NamespaceId' in d || ['Host', 'HostDefault', 'Guest', 'GuestDefault'].includes(String(d.Type)))
    return 'namespace';
  return 'network';
}

/** What `-o wide` adds to every table of HCN documents: every policy's type. */
const POLICY_TYPES: Column<unknown> = {
  header: 'POLICY TYPES',
  get: (d) => ((d as { Policies?: { Type?: string }[] }).Policies ?? []).map((p) => p.Type).join(','),
};

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

/**
 * A numeric flag: an integer within [min, max], else a UsageError naming the flag and its limits (and `why`
 * the limits are what they are, when that helps).
 */
export function parseIntFlag(flag: string, value: string, min: number, max: number, why?: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag}: "${value}" is not an integer in ${min}..${max}${why ? ` (${why})` : ''}`);
  }
  return n;
}
