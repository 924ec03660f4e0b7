/**
 * CLI figures (memory data plane): process start-to-exit for a read, a create, and 20 concurrent creates on one
 * state file; plus in-process parse+validate throughput of the model. Prints numbers, asserts nothing.
 *   node dist/bench/cli.js [runs]
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEndpoint, validateEndpoint, stringifyHnsJson } from '../src/hns';
import { intArg } from './lib/stats';

const MAIN = path.resolve(__dirname, '../src/cli/main.js');
const runs = intArg(0, 'runs', 15);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-'));
const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_DATAPLANE: 'memory', SWITCHYARD_STATE: path.join(dir, 'state.json') };
delete env.NODE_EXTRA_CA_CERTS;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
function time(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`switchyard ${args.join(' ')}: ${r.stderr}`);
  return ms(t0);
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(1)} ms, p90 ${s[Math.floor(s.length * 0.9)].toFixed(1)} ms (n=${s.length})`;
};

async function main(): Promise<void> {
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { env });
    base.push(ms(t0));
  }
  console.log(`node -e 0 (baseline):             ${stats(base)}`);
  time(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.0.0/16']);
  console.log(`switchyard --help:                ${stats(Array.from({ length: runs }, () => time(['--help'])))}`);
  console.log(`switchyard network list:          ${stats(Array.from({ length: runs }, () => time(['network', 'list'])))}`);
  console.log(`switchyard network list -o yaml:  ${stats(Array.from({ length: runs }, () => time(['network', 'list', '-o', 'yaml'])))}`);
  console.log(
    `switchyard endpoint create:       ${stats(Array.from({ length: runs }, (_, i) => time(['endpoint', 'create', '--network', 'cbr0', '--name', `seq-${i}`])))}`,
  );

  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from(
      { length: 20 },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const c = spawn(process.execPath, [MAIN, 'endpoint', 'create', '--network', 'cbr0', '--name', `par-${i}`], {
            env,
            stdio: 'ignore',
          });
          c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
        }),
    ),
  );
  console.log(`20 concurrent endpoint creates:   ${ms(t0).toFixed(0)} ms wall`);

  const doc = stringifyHnsJson({
    Name: 'pod_flannel.4096',
    HostComputeNetwork: '5F4B1A6C-3B2E-4D8A-9C71-2E0F8B6D4A10',
    IpConfigurations: [{ IpAddress: '10.244.1.5' }],
    Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
    Dns: { Search: ['default.svc.cluster.local'], ServerList: ['10.96.0.10'] },
    Policies: [
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } },
      { Type: 'SDNROUTE', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
    ],
    Health: { LastUpdateTime: 132455719049851012n },
  });
  const n = 20000;
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) validateEndpoint(parseEndpoint(doc), { create: true });
  console.log(`parseEndpoint + validateEndpoint: ${((ms(t1) * 1000) / n).toFixed(1)} µs per document`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
