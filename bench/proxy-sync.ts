/**
 * Service proxy figures on the memory data plane (the HNS emulator, state file on /dev/shm when it exists):
 * the pure planning cost, the first full sync of N Services × 2 endpoints, a single endpoint change from
 * event to data-plane call done (with the coalescing window and without it), HNS calls per change, and a
 * restart's adoption. Printed, never asserted.
 * Run: node scripts/build.js && node dist/bench/proxy-sync.js [services=10000] [changes=20]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { openDataplane } from '../src/dataplane/factory';
import { callLogSize, readCallLog, summarizeCalls } from '../src/dataplane/call-log';
import { SCHEMA_V2, featuresFor } from '../src/hns';
import { planService } from '../src/proxy/core';
import { MemoryOwnershipStore, ServiceProxy } from '../src/proxy/sync';
import { intArg, pct } from './lib/stats';

const N = intArg(0, 'services', 10000);
const CHANGES = intArg(1, 'changes', 20);
const PODS = 250;
const NODE = 'win-node-1';

const podIp = (i: number) => `10.244.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`;
const svcIp = (i: number) => `10.96.${Math.floor(i / 250)}.${2 + (i % 250)}`;

function svc(i: number): V1Service {
  return {
    metadata: { name: `svc-${i}`, namespace: 'bench' },
    spec: { type: 'ClusterIP', clusterIP: svcIp(i), ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
  } as V1Service;
}
function slice(i: number, pods: number[]): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: `svc-${i}-x`, namespace: 'bench', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    endpoints: pods.map((p) => ({ addresses: [podIp(p)], nodeName: NODE, conditions: { ready: true } })),
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
  } as V1EndpointSlice;
}
const ms = (t0: number) => performance.now() - t0;

async function main(): Promise<void> {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'sy-bench-proxy-'));
  const callLog = path.join(dir, 'calls.jsonl');
  try {
    const hns = await openDataplane({ kind: 'memory', statePath: path.join(dir, 'hns.json'), callLog, env: {} });
    const net = await hns.createNetwork({
      Name: 'cbr0',
      Type: 'L2Bridge',
      SchemaVersion: { ...SCHEMA_V2 },
      Ipams: [
        {
          Type: 'Static',
          Subnets: [{ IpAddressPrefix: '10.244.0.0/16', Routes: [{ NextHop: '10.244.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
        },
      ],
    });
    const local = new Map<string, string>();
    for (let p = 0; p < PODS; p++) {
      const ep = await hns.createEndpoint(net.ID!, {
        Name: `pod${p}`,
        IpConfigurations: [{ IpAddress: podIp(p), PrefixLength: 16 }],
        SchemaVersion: { ...SCHEMA_V2 },
      });
      local.set(podIp(p), ep.ID!);
    }
    const services = Array.from({ length: N }, (_, i) => svc(i));
    const slices = Array.from({ length: N }, (_, i) => slice(i, [i % PODS, (i + 1) % PODS]));
    console.log(`service proxy, memory data plane (state in ${base}): ${N} ClusterIP Services × 2 local endpoints, ${PODS} pods`);

    let t0 = performance.now();
    const facts = {
      nodeName: NODE,
      nodeIPs: ['192.168.0.10'],
      networkType: 'L2Bridge' as const,
      networkId: net.ID!,
      features: featuresFor({ Major: 15, Minor: 4 }),
      localEndpoints: local,
      remoteSubnets: [],
    };
    for (let i = 0; i < N; i++) planService(services[i], [slices[i]], facts);
    console.log(`  plan only (pure core, all Services):            ${ms(t0).toFixed(0)} ms`);

    const own = new MemoryOwnershipStore();
    const mk = () =>
      new ServiceProxy({
        hns,
        network: { name: 'cbr0' },
        nodeName: NODE,
        nodeIPs: ['192.168.0.10'],
        ownership: own,
        coalesceMs: 100,
        resyncIntervalMs: 0,
      });
    let proxy = mk();
    proxy.replaceAll(services, slices);
    let from = callLogSize(callLog);
    t0 = performance.now();
    await proxy.start();
    const full = ms(t0);
    const fullCalls = summarizeCalls(readCallLog(callLog, from));
    console.log(
      `  first full sync (${N} load balancers created):  ${(full / 1000).toFixed(1)} s  (${(full / N).toFixed(2)} ms per LB)  calls ${JSON.stringify(fullCalls)}`,
    );

    const direct: number[] = [];
    const timed: number[] = [];
    const perChange: string[] = [];
    for (let c = 0; c < CHANGES; c++) {
      const i = (c * 7919) % N;
      const both = [i % PODS, (i + 1) % PODS];
      // One endpoint leaves the slice, flushed at once: the sync's own cost.
      from = callLogSize(callLog);
      t0 = performance.now();
      proxy.upsertSlice(slice(i, [both[0]]));
      await proxy.flush();
      direct.push(ms(t0));
      perChange.push(JSON.stringify(summarizeCalls(readCallLog(callLog, from))));
      // It comes back through the coalescing timer: event → call done includes the window.
      const target = proxy.counters.loadBalancersModified + 1;
      from = callLogSize(callLog);
      t0 = performance.now();
      proxy.upsertSlice(slice(i, both));
      while (proxy.counters.loadBalancersModified < target) await new Promise((r) => setImmediate(r));
      timed.push(ms(t0));
      perChange.push(JSON.stringify(summarizeCalls(readCallLog(callLog, from))));
    }
    // The proxy's own share: an event that changes nothing (plan + diff, no HNS call).
    const noop: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      const i = (c * 7919) % N;
      t0 = performance.now();
      proxy.upsertSlice(slice(i, [i % PODS, (i + 1) % PODS]));
      await proxy.flush();
      noop.push(ms(t0));
    }
    const kinds = [...new Set(perChange)];
    console.log(
      `  single endpoint change, event → modify done, flushed at once: median ${pct(direct, 50).toFixed(2)} ms, p90 ${pct(direct, 90).toFixed(2)} ms (${CHANGES} changes)`,
    );
    console.log(
      `  same through the 100 ms coalescing window:      median ${pct(timed, 50).toFixed(1)} ms, p90 ${pct(timed, 90).toFixed(1)} ms`,
    );
    console.log(
      `  an event that changes nothing (proxy only):     median ${pct(noop, 50).toFixed(3)} ms, p90 ${pct(noop, 90).toFixed(3)} ms`,
    );
    console.log(`  HNS calls per single change:                    ${kinds.join(' | ')}`);
    await proxy.stop();

    proxy = mk();
    proxy.replaceAll(services, slices);
    from = callLogSize(callLog);
    t0 = performance.now();
    await proxy.start();
    const restart = ms(t0);
    console.log(
      `  restart (adopts ${proxy.counters.loadBalancersAdopted} LBs):                 ${(restart / 1000).toFixed(2)} s  calls ${JSON.stringify(summarizeCalls(readCallLog(callLog, from)))}`,
    );
    await proxy.stop();
    await hns.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
