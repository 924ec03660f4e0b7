/**
 * CNI ADD/DEL latency on Linux, side by side in one run: Debian's reference `bridge` + `host-local`
 * (/usr/lib/cni) and Switchyard's `switchyard` type (l2bridge mode, linux data plane, switchyard-ipam), on
 * the same kind of network (a bridge with the gateway address, one veth per pod, no masquerade).
 * Each plugin runs inside a private node namespace through `nsenter --net=…` (the same cost for both); pods
 * are namespaces created beforehand. Run as root: `node dist/bench/linux-cni-latency.js [pods=50] [parallel=8]`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { openDataplane } from '../src/dataplane/factory';
import { intArg, pct, pool } from './lib/stats';

const pods = intArg(0, 'pods', 50);
const parallel = intArg(1, 'parallel', 8);
const tag = crypto.randomBytes(2).toString('hex');
const REF_BIN = '/usr/lib/cni';
const SY_BIN = path.resolve(__dirname, '../cni/bin');

interface Plugin {
  label: string;
  bin: string;
  type: string;
  conf: (run: string) => object;
}

function run(
  plugin: Plugin,
  nodeNs: string,
  command: 'ADD' | 'DEL',
  id: string,
  podNs: string,
  conf: string,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${nodeNs}`, path.join(plugin.bin, plugin.type)], {
      env: { ...env, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: podNs, CNI_IFNAME: 'eth0', CNI_PATH: plugin.bin },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${plugin.label} ${command} ${id} exited ${code}: ${out}`));
    });
    child.stdin.end(conf);
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('linux-cni-latency needs root (network namespaces)');
    process.exit(2);
  }
  if (!fs.existsSync(path.join(REF_BIN, 'bridge')) || !fs.existsSync(path.join(SY_BIN, 'switchyard'))) {
    console.error(`needs ${REF_BIN}/bridge (containernetworking-plugins) and ${SY_BIN}/switchyard (npm run build)`);
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-cni-'));
  const created: string[] = [];
  const addNs = (name: string) => {
    execFileSync('ip', ['netns', 'add', name]);
    created.push(name);
    return `/var/run/netns/${name}`;
  };
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS; // ~47 ms per Node start on this machine; runtimes do not set it
  const rows: string[] = [];
  try {
    const plugins: Plugin[] = [
      {
        label: 'reference bridge + host-local',
        bin: REF_BIN,
        type: 'bridge',
        conf: (r) => ({
          cniVersion: '1.0.0',
          name: `ref${r}`,
          type: 'bridge',
          bridge: `cni${r}`.slice(0, 15),
          isGateway: true,
          ipMasq: false,
          ipam: { type: 'host-local', subnet: '10.88.0.0/16', dataDir: path.join(dir, 'ref') },
        }),
      },
      {
        label: 'switchyard l2bridge + switchyard-ipam',
        bin: SY_BIN,
        type: 'switchyard',
        conf: (r) => ({
          cniVersion: '1.0.0',
          name: 'sy',
          type: 'switchyard',
          mode: 'l2bridge',
          network: `net${r}`,
          ipam: { type: 'switchyard-ipam', subnet: '10.89.0.0/16', dataDir: path.join(dir, `sy${r}`) },
        }),
      },
    ];
    for (const [mode, width] of [
      ['sequential', 1],
      [`${parallel}-way parallel`, parallel],
    ] as const) {
      for (const plugin of plugins) {
        const r = `${tag}${width}${plugin.type[0]}`;
        const nodeNs = addNs(`sybc${r}`);
        execFileSync('ip', ['-n', `sybc${r}`, 'link', 'set', 'lo', 'up']);
        const statePath = path.join(dir, `state-${r}.json`);
        const runEnv: NodeJS.ProcessEnv = { ...env, SWITCHYARD_DATAPLANE: 'linux', SWITCHYARD_LINUX_STATE: statePath };
        if (plugin.type === 'switchyard') {
          // The network the node agent would have created: the same bridge + gateway the reference makes on first ADD.
          const dp = await openDataplane({ kind: 'linux', env: { ...runEnv, SWITCHYARD_LINUX_NETNS: nodeNs } });
          await dp.createNetwork({
            Name: `net${r}`,
            Type: 'L2Bridge',
            Ipams: [
              {
                Type: 'Static',
                Subnets: [{ IpAddressPrefix: '10.89.0.0/16', Routes: [{ NextHop: '10.89.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
              },
            ],
          });
          await dp.close();
        }
        const podNs = Array.from({ length: pods }, (_, i) => addNs(`sybc${r}p${i}`));
        const conf = JSON.stringify(plugin.conf(r));
        const add = await pool(pods, width, (i) => run(plugin, nodeNs, 'ADD', `c${r}${i}`, podNs[i], conf, runEnv));
        const del = await pool(pods, width, (i) => run(plugin, nodeNs, 'DEL', `c${r}${i}`, podNs[i], conf, runEnv));
        rows.push(
          `${plugin.label.padEnd(38)} ${mode.padEnd(17)} ADD ${pct(add, 50).toFixed(1).padStart(6)} / ${pct(add, 95).toFixed(1).padStart(6)}   DEL ${pct(del, 50).toFixed(1).padStart(6)} / ${pct(del, 95).toFixed(1).padStart(6)}`,
        );
      }
    }
  } finally {
    for (const n of created.reverse()) execFileSync('ip', ['netns', 'del', n]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`CNI latency, ${pods} pods, ms (median / p95), each plugin exec'd through nsenter into a node netns`);
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
