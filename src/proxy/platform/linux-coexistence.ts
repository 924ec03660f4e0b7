/**
 * Linux side of the coexistence check: kube-proxy's nftables mode keeps its rules in tables named
 * `kube-proxy` (ip and ip6); its iptables mode, through iptables-nft, adds KUBE-SERVICES / KUBE-NODEPORTS
 * chains to the nat table. Both are read with `nft list tables` / `nft list chains` (names only, never the
 * whole ruleset), through execFile with fixed arguments. Legacy (non-nft) iptables is not inspected.
 */
import { execFile } from 'node:child_process';
import { KubeProxyPresentError } from '../sync/coexistence';

export type Exec = (file: string, args: string[]) => Promise<string>;

const defaultExec: Exec = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });

export interface LinuxCoexistenceOptions {
  /** The nft binary (default `nft` on PATH). */
  nft?: string;
  exec?: Exec;
}

/** What of kube-proxy's is present: e.g. ["nftables table ip kube-proxy", "iptables chain KUBE-SERVICES in table ip nat"]. */
export async function findKubeProxyRules(opts: LinuxCoexistenceOptions = {}): Promise<string[]> {
  const exec = opts.exec ?? defaultExec;
  const nft = opts.nft ?? 'nft';
  const found: string[] = [];
  for (const line of (await exec(nft, ['list', 'tables'])).split('\n')) {
    const m = /^table\s+(\S+)\s+(\S+)\s*$/.exec(line.trim());
    if (m && m[2] === 'kube-proxy') found.push(`nftables table ${m[1]} kube-proxy`);
  }
  let table = '';
  for (const raw of (await exec(nft, ['list', 'chains'])).split('\n')) {
    const line = raw.trim();
    const t = /^table\s+(\S+\s+\S+)\s*\{/.exec(line);
    if (t) table = t[1];
    const c = /^chain\s+(KUBE-SERVICES|KUBE-NODEPORTS|KUBE-PROXY-FIREWALL)\s*\{/.exec(line);
    if (c && !table.endsWith(' kube-proxy')) found.push(`iptables chain ${c[1]} in table ${table}`);
  }
  return found;
}

/** Throws KubeProxyPresentError naming what was found and how to proceed. */
export async function assertNoKubeProxyRules(opts: LinuxCoexistenceOptions = {}): Promise<void> {
  const found = await findKubeProxyRules(opts);
  if (found.length === 0) return;
  throw new KubeProxyPresentError(
    found,
    `kube-proxy appears to be running on this node: ${found.join('; ')}. Two service proxies on one node fight over ` +
      'the same traffic. Stop kube-proxy on this node first (exclude the node from the kube-proxy DaemonSet with a ' +
      'nodeSelector/affinity), then remove its rules (`kube-proxy --cleanup`, or `nft delete table ip kube-proxy` / ' +
      '`nft delete table ip6 kube-proxy`) and start the proxy again.',
  );
}
