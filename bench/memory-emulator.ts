/**
 * Memory data plane figures: what one emulated HNS call costs inside a process, how that grows with the
 * size of the state file, and what a fresh CNI-like process pays to open the emulator and make a call.
 * Run: node scripts/build.js && node dist/bench/memory-emulator.js [endpoints=1000]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openMemory } from '../src/dataplane/memory';
import { buildQuery } from '../src/hns';
import { intArg } from './lib/stats';

const total = intArg(0, 'endpoints', 1000);

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-'));
  const statePath = path.join(dir, 'hns.json');
  try {
    const hns = openMemory({ statePath, env: {} });
    const net = await hns.createNetwork({
      Name: 'cbr0',
      Type: 'L2Bridge',
      SchemaVersion: { Major: 2, Minor: 0 },
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: '10.128.0.0/16', Routes: [{ NextHop: '10.128.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
    });
    console.log(`createEndpoint (lock, read, validate, atomic write with fsync), by state size:`);
    const checkpoints = new Set([1, 10, 100, 500, 1000, 2000, 5000].filter((n) => n <= total).concat([total]));
    let batchStart = process.hrtime.bigint();
    let batchFrom = 0;
    for (let i = 1; i <= total; i++) {
      await hns.createEndpoint(net.ID!, {
        Name: `pod${i}_cbr0`,
        Policies: [
          { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.128.0.0/16'] } },
          { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
        ],
        Dns: { ServerList: ['10.96.0.10'], Search: ['default.svc.cluster.local'] },
      });
      if (checkpoints.has(i)) {
        const per = ms(batchStart) / (i - batchFrom);
        console.log(
          `  endpoints ${String(batchFrom + 1).padStart(5)}-${String(i).padEnd(5)} ${per.toFixed(2)} ms/call  state ${(fs.statSync(statePath).size / 1024).toFixed(0)} KiB`,
        );
        batchStart = process.hrtime.bigint();
        batchFrom = i;
      }
    }
    const reads = 50;
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < reads; i++) await hns.listEndpoints(buildQuery({ Name: `pod${total}_cbr0` }));
    console.log(`listEndpoints by Name with ${total} endpoints: ${(ms(t0) / reads).toFixed(2)} ms/call (unlocked read + parse)`);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < reads; i++) await hns.v1.call('GET', '/endpoints/');
    console.log(`v1 GET /endpoints/ with ${total} endpoints: ${(ms(t0) / reads).toFixed(2)} ms/call`);

    // A fresh process, as each CNI invocation is: load the module, open, one query, one mutation.
    const script =
      `const t=process.hrtime.bigint();const {openMemory}=require(${JSON.stringify(path.resolve(__dirname, '../src/dataplane/memory'))});` +
      `const h=openMemory({statePath:${JSON.stringify(statePath)},env:{}});const l=Number(process.hrtime.bigint()-t)/1e6;` +
      `(async()=>{await h.listNetworks();const e=await h.createEndpoint(${JSON.stringify(net.ID)},{});await h.deleteEndpoint(e.ID);` +
      `process.stdout.write(JSON.stringify({load:l,total:Number(process.hrtime.bigint()-t)/1e6}))})()`;
    const runs = 10;
    const loads: number[] = [];
    const totals: number[] = [];
    const walls: number[] = [];
    for (let i = 0; i < runs; i++) {
      const w = process.hrtime.bigint();
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      walls.push(ms(w));
      if (r.status !== 0) throw new Error(r.stderr);
      const { load, total: tt } = JSON.parse(r.stdout) as { load: number; total: number };
      loads.push(load);
      totals.push(tt);
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    console.log(
      `fresh process (state with ${total} endpoints), median of ${runs}: module load ${med(loads).toFixed(1)} ms, ` +
        `load + list + create + delete ${med(totals).toFixed(1)} ms, whole process ${med(walls).toFixed(1)} ms`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
