/**
 * Per-call latency of the PowerShell route (node-powershell → pwsh → Switchyard.Hns → Add-Type C# P/Invoke)
 * against the hcn route (koffi) over the same stub library, so the difference is what the PowerShell
 * session costs per call: the script round trip through stdin/stdout, base64 + JSON decode, the
 * module's cmdlets, the envelope. Real HNS adds the same RPC time to both. Prints figures; asserts nothing.
 * Needs the PowerShell host (bash scripts/setup-pwsh.sh) or SWITCHYARD_PWSH.
 *
 *   node scripts/build.js && node dist/bench/powershell-route.js [iterations]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveOptions } from '../src/dataplane/factory';
import type { HostNetworkService } from '../src/dataplane/types';
import { buildQuery } from '../src/hns';
import { intArg } from './lib/stats';

const ROOT = path.resolve(__dirname, '../..');
const STUB = path.join(ROOT, 'native/build/libhcnstub.so');
const PWSH = process.env.SWITCHYARD_PWSH || path.join(ROOT, 'tools/pwsh-host/out/pwsh');

async function time(label: string, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < Math.min(10, n); i++) await fn(i); // warm-up (JIT in both processes)
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`${label.padEnd(48)} ${(ms / n).toFixed(3).padStart(8)} ms/op  (${n} ops)`);
}

async function bench(kind: 'hcn' | 'powershell', n: number): Promise<void> {
  const t0 = Date.now();
  const open = kind === 'hcn' ? require('../src/dataplane/windows/hcn').open : require('../src/dataplane/windows/powershell').open;
  const env = { ...process.env, SWITCHYARD_HCN_LIBRARY: STUB, SWITCHYARD_PWSH: PWSH };
  const hns: HostNetworkService = await open(
    resolveOptions({ kind, hcnLibrary: STUB, vmcomputeLibrary: STUB, statePath: '/nonexistent', env }),
  );
  await hns.version();
  console.log(`${`${kind}: open + first call (session start, Add-Type)`.padEnd(48)} ${String(Date.now() - t0).padStart(8)} ms`);
  const net = await hns.createNetwork({
    Name: `bench-${kind}`,
    Type: 'L2Bridge',
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.0.0/16' }] }],
  });
  const ids: string[] = [];
  await time(`${kind}: createEndpoint`, n, async () => {
    const ep = await hns.createEndpoint(net.ID!, {
      Name: `ep-${ids.length}`,
      IpConfigurations: [{ IpAddress: `10.244.${(ids.length >> 8) & 255}.${(ids.length & 255) + 0}` }],
    });
    ids.push(ep.ID!);
  });
  await time(`${kind}: getEndpoint`, n, (i) => hns.getEndpoint(ids[i % ids.length]));
  await time(`${kind}: getNetwork`, n, () => hns.getNetwork(net.ID!));
  await time(`${kind}: listEndpoints (${ids.length}) filtered by network`, Math.max(3, Math.floor(n / 20)), () =>
    hns.listEndpoints(buildQuery({ VirtualNetwork: net.ID! })),
  );
  let k = 0;
  await time(`${kind}: deleteEndpoint`, ids.length - 10, async () => hns.deleteEndpoint(ids[k++]));
  while (k < ids.length) await hns.deleteEndpoint(ids[k++]);
  await hns.deleteNetwork(net.ID!);
  await hns.close();
}

(async () => {
  if (!fs.existsSync(PWSH) && !process.env.SWITCHYARD_PWSH) {
    console.error(`no PowerShell host at ${PWSH}: run bash scripts/setup-pwsh.sh or set SWITCHYARD_PWSH`);
    process.exit(2);
  }
  const n = intArg(0, 'iterations', 200);
  for (const kind of ['hcn', 'powershell'] as const) await bench(kind, n);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
