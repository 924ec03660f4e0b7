/**
 * The service proxy on the linux data plane (root; a throwaway network namespace): N ClusterIP Services × 2
 * local endpoints realized in nftables. Prints the proxy's first full sync (every LB in one applyLoadBalancers
 * batch: one nft transaction and one state write) side by side with the same rules applied as one raw
 * `nft -f` batch (the binary, and libnftables in process), and a single endpoint change from the event handed
 * to the proxy to the kernel updated, and that change's transaction alone sent both ways (nf_tables netlink
 * batch, the data plane's path; nft text through libnftables, which first downloads the table's chains and sets):
 * backend-map elements only. For comparison, the same change on an LB with session affinity (per-endpoint chains:
 * rules and verdicts, so the kernel re-validates the table) and one verdict-map element alone.
 * Printed, never asserted.
 * Run: node scripts/build.js && node dist/bench/proxy-nft.js [services=10000] [changes=10]
 * (SWITCHYARD_NFT_NETLINK=0 makes the data plane send incremental changes as nft text, the path before netlink.)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { NetnsLab } from '../src/lab/netns-driver';
import {
  backendsOf,
  diffBatch,
  diffLb,
  diffText,
  fullTableText,
  LB_TABLE,
  realizedAt,
  realizedTable,
  realizeLoadBalancer,
} from '../src/dataplane/linux/lb-nft';
import { NftBatch } from '../src/dataplane/linux/nftnl/batch';
import { sendBatch } from '../src/dataplane/linux/nftnl/socket';
import { NFPROTO_IPV4 } from '../src/dataplane/linux/nftnl/wire';
import { applyRuleset } from '../src/dataplane/linux/nft';
import { loadState } from '../src/dataplane/linux/state';
import { MemoryOwnershipStore, ServiceProxy } from '../src/proxy/sync';
import { intArg, pct } from './lib/stats';

const N = intArg(0, 'services', 10000);
const CHANGES = intArg(1, 'changes', 10);
const PODS = 200;
const ms = (t0: number) => performance.now() - t0;
const svcIp = (i: number) => `10.96.${Math.floor(i / 250)}.${2 + (i % 250)}`;

async function main(): Promise<void> {
  // State on /dev/shm as in proxy-sync.ts: the figures are the data plane's work, not the disk's fsync latency.
  // BENCH_STATE_ON_DISK=1 keeps it on the default (disk) location instead, fdatasync included.
  const shm = process.env.BENCH_STATE_ON_DISK !== '1' && fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/sy-bench-nft-') : undefined;
  const lab = new NetnsLab({ prefix: `sybn${Math.random().toString(16).slice(2, 6)}`, nodes: 1, podsPerNode: 0, type: 'L2Bridge' }, shm);
  try {
    lab.underlay();
    await lab.network();
    const { dp, networkId, node } = lab.runtimes[0];
    const ns = `/var/run/netns/${node.name}`;
    const base = node.podSubnet.split('/')[0].split('.').slice(0, 3).join('.');
    const podIp = (p: number) => `${base}.${10 + p}`;
    for (let p = 0; p < PODS; p++)
      await dp.createEndpoint(networkId, { Name: `pod${p}`, IpConfigurations: [{ IpAddress: podIp(p), PrefixLength: 24 }] });
    const services = Array.from(
      { length: N },
      (_, i) =>
        ({
          metadata: { name: `svc-${i}`, namespace: 'bench' },
          spec: { type: 'ClusterIP', clusterIP: svcIp(i), ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
        }) as V1Service,
    );
    const slice = (i: number, pods: number[]) =>
      ({
        addressType: 'IPv4',
        metadata: { name: `svc-${i}-x`, namespace: 'bench', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
        endpoints: pods.map((p) => ({ addresses: [podIp(p)], nodeName: node.name, conditions: { ready: true } })),
        ports: [{ name: '', port: 8080, protocol: 'TCP' }],
      }) as V1EndpointSlice;
    const slices = Array.from({ length: N }, (_, i) => slice(i, [i % PODS, (i + 1) % PODS]));
    console.log(`service proxy, linux data plane (nftables, namespace ${node.name}): ${N} ClusterIP Services × 2 local endpoints`);
    console.log(`  state: ${shm ? 'on /dev/shm (no disk flush)' : `on disk, ${lab.stateDir} (fdatasync per commit)`}`);
    console.log(
      `  incremental changes reach the kernel as ${process.env.SWITCHYARD_NFT_NETLINK === '0' ? 'nft text through libnftables (SWITCHYARD_NFT_NETLINK=0)' : 'nf_tables netlink batches'}`,
    );
    console.log(
      `  load average at start: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${os.cpus().length} CPUs)`,
    );

    const proxy = new ServiceProxy({
      hns: dp,
      network: { name: (await dp.getNetwork(networkId)).Name! },
      nodeName: node.name,
      nodeIPs: [node.underlayIp],
      ownership: new MemoryOwnershipStore(),
      coalesceMs: 0,
      resyncIntervalMs: 0,
    });
    proxy.replaceAll(services, slices);
    let t0 = performance.now();
    await proxy.start();
    const full = ms(t0);
    console.log(`  proxy full sync (${N} creates in one batch):     ${(full / 1000).toFixed(2)} s  (${(full / N).toFixed(2)} ms per LB)`);

    // The same rules as one raw batch: the table the records describe, applied from scratch.
    const state = loadState(lab.nodeEnv(node).SWITCHYARD_LINUX_STATE!);
    const text = fullTableText(realizedTable(state));
    const file = path.join(lab.stateDir, 'lb.nft');
    fs.writeFileSync(file, text);
    const lines = text.split('\n').length;
    const del = () => execFileSync('ip', ['netns', 'exec', node.name, 'nft', 'delete', 'table', 'ip', LB_TABLE]);
    del();
    t0 = performance.now();
    execFileSync('ip', ['netns', 'exec', node.name, 'nft', '-f', file]);
    const raw = ms(t0);
    del();
    t0 = performance.now();
    applyRuleset(ns, text);
    const rawLib = ms(t0);
    console.log(`  raw batch, nft -f (${lines} lines):             ${(raw / 1000).toFixed(2)} s   → proxy/raw ${(full / raw).toFixed(1)}×`);
    console.log(
      `  raw batch, libnftables in process:              ${(rawLib / 1000).toFixed(2)} s   → proxy/raw ${(full / rawLib).toFixed(1)}×`,
    );

    // One endpoint leaves a slice: event handed to the proxy → transaction applied (flush runs the sync now).
    const change: number[] = [];
    const back: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      const i = (c * 7919) % N;
      t0 = performance.now();
      proxy.upsertSlice(slice(i, [i % PODS]));
      await proxy.flush();
      change.push(ms(t0));
      t0 = performance.now();
      proxy.upsertSlice(slice(i, [i % PODS, (i + 1) % PODS]));
      await proxy.flush();
      back.push(ms(t0));
    }
    const probe = (CHANGES * 7919) % N;
    proxy.upsertSlice(slice(probe, [probe % PODS]));
    await proxy.flush();
    const chain = execFileSync('ip', ['netns', 'exec', node.name, 'nft', 'list', 'map', 'ip', LB_TABLE, 'service-ips']).toString();
    console.log(
      `  single endpoint change, event → kernel:         remove median ${pct(change, 50).toFixed(1)} ms, p90 ${pct(change, 90).toFixed(1)} ms; ` +
        `add median ${pct(back, 50).toFixed(1)} ms, p90 ${pct(back, 90).toFixed(1)} ms (${CHANGES} each)`,
    );
    // The transaction of one such change alone, both ways (forward, then back), on the table the proxy built.
    const now = loadState(lab.nodeEnv(node).SWITCHYARD_LINUX_STATE!);
    const k = Object.keys(now.lbNft ?? {})[0];
    const lb = now.loadBalancers[k];
    const two = realizedAt(now, k)!;
    const one = realizeLoadBalancer(lb.ID ?? k, lb, backendsOf(now, lb).slice(0, 1));
    const viaNetlink: number[] = [];
    const viaText: number[] = [];
    const element: number[] = [];
    const perEndpoint: number[] = [];
    // The same change on an LB that keeps per-endpoint chains (session affinity): rules and verdicts.
    const affId = '53575944-0000-5000-8000-0000000af001';
    const affDoc = {
      ...lb,
      ID: affId,
      FrontendVIPs: ['10.95.0.2'],
      PortMappings: (lb.PortMappings ?? []).map((pm) => ({ ...pm, DistributionType: 2 })),
    };
    const affTwo = realizeLoadBalancer(affId, affDoc, backendsOf(now, lb));
    const affOne = realizeLoadBalancer(affId, affDoc, backendsOf(now, lb).slice(0, 1));
    sendBatch(ns, diffBatch(diffLb({}, { a: affTwo })!));
    const pause = () => new Promise((r) => setTimeout(r, 50)); // the previous commit's release work done, as between events
    const svcChain = Object.keys(two.chains).find((c) => c.startsWith('svc-'))!;
    for (let c = 0; c < CHANGES; c++) {
      for (const [from, to] of [
        [two, one],
        [one, two],
      ]) {
        await pause();
        t0 = performance.now();
        sendBatch(ns, diffBatch(diffLb({ [k]: from }, { [k]: to })!));
        viaNetlink.push(ms(t0));
      }
      for (const [from, to] of [
        [two, one],
        [one, two],
      ]) {
        await pause();
        t0 = performance.now();
        applyRuleset(ns, diffText({ [k]: from }, { [k]: to }, true));
        viaText.push(ms(t0));
      }
      for (const [from, to] of [
        [affTwo, affOne],
        [affOne, affTwo],
      ]) {
        await pause();
        t0 = performance.now();
        sendBatch(ns, diffBatch(diffLb({ a: from }, { a: to })!));
        perEndpoint.push(ms(t0));
      }
      // The kernel's share: any element or rule with a verdict makes the commit validate every chain reachable
      // from the base chains (nf_tables_api.c nft_table_validate), whatever sends it.
      for (const add of [true, false]) {
        const b = new NftBatch(NFPROTO_IPV4, LB_TABLE);
        if (add) b.addElement('service-ips', '10.95.0.1 . tcp . 80', `goto ${svcChain}`);
        else b.deleteElement('service-ips', '10.95.0.1 . tcp . 80');
        await pause();
        t0 = performance.now();
        sendBatch(ns, b);
        element.push(ms(t0));
      }
    }
    console.log(
      `  that change's transaction alone:                netlink batch median ${pct(viaNetlink, 50).toFixed(2)} ms, p90 ${pct(viaNetlink, 90).toFixed(2)} ms; ` +
        `nft text via libnftables median ${pct(viaText, 50).toFixed(1)} ms, p90 ${pct(viaText, 90).toFixed(1)} ms`,
    );
    sendBatch(ns, diffBatch(diffLb({ a: affTwo }, { a: undefined })!));
    console.log(
      `  the same change on an affinity LB (per-endpoint chains, netlink): median ${pct(perEndpoint, 50).toFixed(2)} ms, p90 ${pct(perEndpoint, 90).toFixed(2)} ms`,
    );
    console.log(
      `  one verdict-map element alone (netlink):        median ${pct(element, 50).toFixed(2)} ms, p90 ${pct(element, 90).toFixed(2)} ms (the kernel's table validation)`,
    );
    console.log(
      `  (kernel map holds ${chain.split('goto').length - 1} elements; state file ${(fs.statSync(lab.nodeEnv(node).SWITCHYARD_LINUX_STATE!).size / 1e6).toFixed(1)} MB)`,
    );
    console.log(
      `  load average at end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    await proxy.stop();
  } finally {
    await lab.down();
    if (shm) fs.rmSync(shm, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
