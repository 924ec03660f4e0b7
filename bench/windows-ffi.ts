/**
 * Cost of the Windows data planes' FFI path, measured against the stub library (so it is the binding's own
 * overhead: koffi async dispatch to a worker thread, UTF-16 marshalling, CoTaskMemFree, JSON parse; real HNS
 * adds its RPC and VFP work on top). Prints figures; asserts nothing.
 *
 *   node scripts/build.js && node dist/bench/windows-ffi.js [iterations]
 */
import * as path from 'node:path';
import { resolveOptions } from '../src/dataplane/factory';
import type { HostNetworkService } from '../src/dataplane/types';
import { buildQuery } from '../src/hns';
import { intArg } from './lib/stats';

const STUB = path.resolve(__dirname, '../../native/build/libhcnstub.so');

async function time(label: string, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`${label.padEnd(52)} ${(ms / n).toFixed(3).padStart(8)} ms/op  (${n} ops)`);
}

async function bench(kind: 'hcn' | 'hns-v1', n: number): Promise<void> {
  const open = kind === 'hcn' ? require('../src/dataplane/windows/hcn').open : require('../src/dataplane/windows/hnsv1').open;
  const hns: HostNetworkService = await open(
    resolveOptions({ kind, hcnLibrary: STUB, vmcomputeLibrary: STUB, statePath: '/nonexistent', env: {} }),
  );
  const net = await hns.createNetwork({
    Name: `bench-${kind}`,
    Type: 'L2Bridge',
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.0.0/16' }] }],
  });
  const ids: string[] = [];
  await time(`${kind}: createEndpoint`, n, async (i) => {
    const ep = await hns.createEndpoint(net.ID!, {
      Name: `ep${i}-${ids.length}`,
      IpConfigurations: [{ IpAddress: `10.244.${(ids.length >> 8) & 255}.${ids.length & 255}` }],
    });
    ids.push(ep.ID!);
  });
  await time(`${kind}: getEndpoint`, n, (i) => hns.getEndpoint(ids[i % ids.length]));
  await time(`${kind}: listEndpoints filtered by network, ${ids.length} endpoints`, Math.max(5, Math.floor(n / 50)), () =>
    hns.listEndpoints(buildQuery({ VirtualNetwork: net.ID! })),
  );
  await time(`${kind}: version (cached after the first call)`, n, () => hns.version());
  let k = 0;
  await time(`${kind}: deleteEndpoint`, ids.length - 20, async () => hns.deleteEndpoint(ids[k++]));
  while (k < ids.length) await hns.deleteEndpoint(ids[k++]);
  await time(`${kind}: 16 concurrent getNetwork`, Math.max(5, Math.floor(n / 16)), () =>
    Promise.all(Array.from({ length: 16 }, () => hns.getNetwork(net.ID!))),
  );
  await hns.deleteNetwork(net.ID!);
  await hns.close();
}

(async () => {
  const n = intArg(0, 'endpoints', 500);
  for (const kind of ['hcn', 'hns-v1'] as const) await bench(kind, n);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
