/** Shared by the agent-lab root suites (tests/linux/agent-*.test.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AgentLab } from '../../../src/lab/agent-lab';
import { etcdBinary } from '../../../src/lab/etcd';
import { canRunNetns } from './lab';

/** Disables the native entrypoint's Node fallback: a call that does not reach the agent fails. */
export const AGENT_ONLY = { SWITCHYARD_NODE: '/nonexistent/node' };

export function agentLabOrSkip(ctx: Mocha.Context): void {
  if (!canRunNetns()) ctx.skip();
  if (!fs.existsSync(etcdBinary())) {
    console.log(`    (skipped: ${etcdBinary()} is missing; install Debian's etcd-server)`);
    ctx.skip();
  }
  if (!fs.existsSync(path.resolve(__dirname, '../../../cni/install/linux/switchyard'))) {
    console.log('    (skipped: dist/cni/install/linux is not built)');
    ctx.skip();
  }
}

export async function poll(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const ping = (lab: AgentLab, from: string, ip: string, wait = 2) => lab.ok(from, ['ping', '-c', '1', '-W', String(wait), ip]);
