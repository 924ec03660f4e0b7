/**
 * iperf3 pod-to-pod throughput through the linux data plane, next to the raw kernel ceilings measured in
 * the same run: a bare veth pair and a bare VXLAN (VNI 4096, UDP 4789, MTU 1450) over a veth underlay.
 * Run as root: `node dist/bench/linux-throughput.js [seconds=3]`. Single TCP stream, netns to netns.
 */
import * as fs from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { NetnsLab, nsPath } from '../src/lab/netns-driver';
import { Rtnl } from '../src/dataplane/linux/netlink/rtnl';
import { intArg } from './lib/stats';

const seconds = intArg(0, 'seconds', 3);
const tag = crypto.randomBytes(2).toString('hex');

async function iperf(serverNs: string, clientNs: string, ip: string): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '--forceflush', '-B', ip], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`iperf3 server in ${serverNs} did not start`)), 10_000);
    server.stdout!.on('data', (d) => {
      if (/listening/i.test(d.toString())) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  try {
    const out = execFileSync('ip', ['netns', 'exec', clientNs, 'iperf3', '-J', '-c', ip, '-t', String(seconds)], {
      timeout: (seconds + 15) * 1000,
    }).toString();
    return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill();
  }
}

function netns(name: string, created: string[]): string {
  execFileSync('ip', ['netns', 'add', name]);
  created.push(name);
  return nsPath(name);
}

/** Two namespaces and a veth between them: the ceiling for anything built from veths. */
async function rawVeth(created: string[]): Promise<number> {
  const a = netns(`syb${tag}-va`, created);
  const b = netns(`syb${tag}-vb`, created);
  const ra = Rtnl.open(a);
  const rb = Rtnl.open(b);
  const fd = fs.openSync(b, 'r');
  try {
    const l = ra.createVeth('v0', { peer: { name: 'v0', netnsFd: fd } });
    ra.addAddress(l.index, '10.201.0.1', 24);
    const p = rb.mustLink('v0');
    rb.setLink(p.index, { up: true });
    rb.addAddress(p.index, '10.201.0.2', 24);
  } finally {
    fs.closeSync(fd);
    ra.close();
    rb.close();
  }
  return iperf(`syb${tag}-va`, `syb${tag}-vb`, '10.201.0.1');
}

/** Two namespaces with a VXLAN between them over a veth underlay (the same encapsulation, no bridge, no NAT). */
async function rawVxlan(created: string[]): Promise<number> {
  const a = netns(`syb${tag}-xa`, created);
  const b = netns(`syb${tag}-xb`, created);
  const ra = Rtnl.open(a);
  const rb = Rtnl.open(b);
  const fd = fs.openSync(b, 'r');
  try {
    const l = ra.createVeth('u0', { peer: { name: 'u0', netnsFd: fd } });
    ra.addAddress(l.index, '10.202.0.1', 24);
    const p = rb.mustLink('u0');
    rb.setLink(p.index, { up: true });
    rb.addAddress(p.index, '10.202.0.2', 24);
    const xa = ra.createVxlan('vx0', { vni: 4096, port: 4789, local: '10.202.0.1', mtu: 1450, mac: '0e:00:00:00:00:01' });
    const xb = rb.createVxlan('vx0', { vni: 4096, port: 4789, local: '10.202.0.2', mtu: 1450, mac: '0e:00:00:00:00:02' });
    ra.addAddress(xa.index, '10.203.0.1', 24);
    rb.addAddress(xb.index, '10.203.0.2', 24);
    ra.setNeighbor(xa.index, '10.203.0.2', '0e:00:00:00:00:02');
    rb.setNeighbor(xb.index, '10.203.0.1', '0e:00:00:00:00:01');
    ra.setFdb(xa.index, '0e:00:00:00:00:02', '10.202.0.2');
    rb.setFdb(xb.index, '0e:00:00:00:00:01', '10.202.0.1');
  } finally {
    fs.closeSync(fd);
    ra.close();
    rb.close();
  }
  return iperf(`syb${tag}-xa`, `syb${tag}-xb`, '10.203.0.1');
}

async function lab(type: 'L2Bridge' | 'Overlay'): Promise<{ sameNode: number; crossNode: number }> {
  const l = new NetnsLab({ prefix: `syb${tag}${type === 'Overlay' ? 'o' : 'l'}`, nodes: 2, podsPerNode: 2, type });
  try {
    await l.up();
    const [n0, n1] = l.plan.nodes;
    return {
      sameNode: await iperf(n0.pods[0].name, n0.pods[1].name, n0.pods[0].ip),
      crossNode: await iperf(n1.pods[0].name, n0.pods[0].name, n1.pods[0].ip),
    };
  } finally {
    await l.down();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('linux-throughput needs root (network namespaces)');
    process.exit(2);
  }
  const created: string[] = [];
  const rows: [string, number][] = [];
  try {
    rows.push(['raw veth pair (ceiling)', await rawVeth(created)]);
    rows.push(['raw VXLAN over veth, MTU 1450 (ceiling)', await rawVxlan(created)]);
    const l2 = await lab('L2Bridge');
    rows.push(['switchyard L2Bridge, same node', l2.sameNode]);
    rows.push(['switchyard L2Bridge, across nodes (host-gw)', l2.crossNode]);
    const ov = await lab('Overlay');
    rows.push(['switchyard Overlay, same node', ov.sameNode]);
    rows.push(['switchyard Overlay, across nodes (VXLAN)', ov.crossNode]);
  } finally {
    for (const n of created.reverse()) execFileSync('ip', ['netns', 'del', n]);
  }
  const veth = rows[0][1];
  const vxlan = rows[1][1];
  console.log(`iperf3, 1 TCP stream, ${seconds} s each, netns to netns`);
  for (const [name, gbps] of rows) {
    const ceiling = name.includes('VXLAN') || name.includes('Overlay, across') ? vxlan : veth;
    const pct = name.includes('ceiling')
      ? ''
      : `  (${Math.round((gbps / ceiling) * 100)} % of ${ceiling === vxlan ? 'raw VXLAN' : 'raw veth'})`;
    console.log(`${name.padEnd(46)} ${gbps.toFixed(2).padStart(6)} Gbit/s${pct}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
