/**
 * Everything a CNI call may change on the memory data plane, as bytes: the plane's state file and every
 * file under the IPAM data directories (reservations, last_reserved_ip, in-flight markers). Two equal
 * snapshots mean a call changed nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execCni } from '../../src/cni/exec';
import type { Outcome } from '../../src/cni/protocol/skel';
import type { Lab } from './helpers';

function walk(dir: string, out: Map<string, string>): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    // The store's `lock` file is created empty by whoever takes the lock first; it carries no state.
    else if (e.name !== 'lock') out.set(p, fs.readFileSync(p, 'utf8'));
  }
}

export function snapshot(lab: Lab): string {
  const files = new Map<string, string>();
  walk(lab.ipamDir, files);
  const state = fs.existsSync(lab.state) ? fs.readFileSync(lab.state, 'utf8') : '';
  return JSON.stringify({ state, files: [...files.entries()].sort() });
}

/** One CNI call in this process through the agent's dispatcher (src/cni/exec.ts), as the runtime would make it. */
export function inProcess(plugin: string, lab: Lab, cni: Record<string, string | undefined>, conf: unknown): Promise<Outcome> {
  const env: Record<string, string> = { ...lab.env };
  for (const [k, v] of Object.entries(cni)) if (v !== undefined) env[k] = v;
  return execCni({ plugin, env, stdin: Buffer.from(typeof conf === 'string' ? conf : JSON.stringify(conf)) });
}
