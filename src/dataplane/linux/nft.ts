/**
 * Applies nftables rulesets as one atomic transaction. In-process through libnftables (bound with koffi)
 * when the library is there: spawning `nft -f -` (and `nsenter` for a node namespace) cost ~20 ms per change,
 * more than the rest of a CNI ADD's kernel work. Otherwise `nft -f -` with argv + stdin, never a shell; a
 * Node process cannot spawn a child into a namespace after setns on one thread, so a node namespace is
 * entered through `nsenter --net=<path>` there.
 */
import { withNetns } from './netns';
import { childProcess } from './lazy';

export class NftError extends Error {
  constructor(
    readonly stderr: string,
    readonly ruleset: string,
  ) {
    super(`nft -f - failed: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}`);
    this.name = 'NftError';
  }
}

/** The library's soname; SWITCHYARD_LIBNFTABLES overrides it (a path, or `none` to always use the binary). */
export const LIBNFTABLES = 'libnftables.so.1';

interface NftLib {
  /** Runs one command buffer in a fresh context; returns the error buffer text on failure. */
  run(text: string): string | undefined;
}

const libs = new Map<string, NftLib | null>();

/** The bound library, or null when it cannot be loaded (then the binary is used). */
export function loadLibnftables(library: string = LIBNFTABLES): NftLib | null {
  if (library === 'none' || library === '') return null;
  const known = libs.get(library);
  if (known !== undefined) return known;
  let bound: NftLib | null = null;
  try {
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load(library);
    const ctxNew = lib.func('void *nft_ctx_new(uint32_t flags)');
    const bufferOutput = lib.func('int nft_ctx_buffer_output(void *ctx)');
    const bufferError = lib.func('int nft_ctx_buffer_error(void *ctx)');
    const runCmd = lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)');
    const errorBuffer = lib.func('const char *nft_ctx_get_error_buffer(void *ctx)');
    const ctxFree = lib.func('void nft_ctx_free(void *ctx)');
    bound = {
      run(text) {
        // A context per run: libnftables opens its netlink socket inside the run, in the calling thread's
        // namespace, and a fresh context has no cache from another namespace or an earlier ruleset.
        const ctx = ctxNew(0);
        if (!ctx) return 'nft_ctx_new failed';
        try {
          bufferOutput(ctx);
          bufferError(ctx);
          if (runCmd(ctx, text) === 0) return undefined;
          return (errorBuffer(ctx) as string | null) || 'nft_run_cmd_from_buffer failed (no error text)';
        } finally {
          ctxFree(ctx);
        }
      },
    };
  } catch {
    bound = null;
  }
  libs.set(library, bound);
  return bound;
}

let applied = 0;

/**
 * How many rulesets this process has applied (or tried to): a mutation compares it before and after to
 * tell whether it changed the kernel's nft tables, a change only its durable record can undo (state-store.ts).
 */
export function nftApplyCount(): number {
  return applied;
}

/** Counts a change made to the nft tables by other means (nf_tables netlink batches, lb-nft.ts). */
export function noteNftChange(): void {
  applied++;
}

export function nftArgv(netns: string | undefined, args: string[]): [string, string[]] {
  return netns ? ['nsenter', [`--net=${netns}`, 'nft', ...args]] : ['nft', args];
}

/**
 * Applies `ruleset` in `netns` (or the caller's namespace). `library` is the libnftables to use (default the
 * soname; `none` forces the `nft` binary). The JS thread returns to its own namespace whatever happens.
 */
export function applyRuleset(netns: string | undefined, ruleset: string, library: string = LIBNFTABLES): void {
  applied++;
  const lib = loadLibnftables(library);
  if (lib) {
    const err = withNetns(netns, () => lib.run(ruleset));
    if (err !== undefined) throw new NftError(err, ruleset);
    return;
  }
  const [cmd, argv] = nftArgv(netns, ['-f', '-']);
  try {
    childProcess().execFileSync(cmd, argv, { input: ruleset, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new NftError(err.stderr?.toString() || err.message, ruleset);
  }
}
