/** Shared by the benchmarks: a bounded-concurrency runner and nearest-rank percentiles. */

/** Runs fn(0..n-1) with at most `width` in flight; results in index order. */
export async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** Nearest-rank percentile (p in 0..100) of the samples. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1))];
}

/** Positional numeric argument `index` (0-based after the script) or the default; anything else exits with usage. */
export function intArg(index: number, name: string, fallback: number): number {
  const raw = process.argv[2 + index];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`usage: ${process.argv[1]} [${name}=${fallback}] ...: "${raw}" is not a positive whole number`);
    process.exit(2);
  }
  return n;
}
