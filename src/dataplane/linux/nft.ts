/**
 * Applies nftables rulesets as one atomic transaction (`nft -f -`, argv + stdin, never a shell). When the
 * data plane runs inside a node namespace, nft is started through `nsenter --net=<path>` because a
 * Node process cannot spawn a child into a namespace after setns on one thread.
 */
import { execFileSync } from 'node:child_process';

export class NftError extends Error {
  constructor(readonly stderr: string, readonly ruleset: string) {
    super(`nft -f - failed: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}`);
    this.name = 'NftError';
  }
}

export function nftArgv(netns: string | undefined, args: string[]): [string, string[]] {
  return netns ? ['nsenter', [`--net=${netns}`, 'nft', ...args]] : ['nft', args];
}

export function applyRuleset(netns: string | undefined, ruleset: string): void {
  const [cmd, argv] = nftArgv(netns, ['-f', '-']);
  try {
    execFileSync(cmd, argv, { input: ruleset, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new NftError(err.stderr?.toString() || err.message, ruleset);
  }
}

export function listTable(netns: string | undefined, family: string, table: string): string | undefined {
  const [cmd, argv] = nftArgv(netns, ['list', 'table', family, table]);
  try {
    return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch {
    return undefined;
  }
}
