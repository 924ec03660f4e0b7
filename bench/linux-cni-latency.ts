/**
 * CNI ADD/DEL latency on Linux, side by side in one run: Debian's reference `bridge` + `host-local`
 * (/usr/lib/cni) and Switchyard's `switchyard` type (l2bridge mode, linux data plane, switchyard-ipam) run
 * as standalone Node entrypoints, on the same kind of network (bench/lib/cni-lab.ts). Each plugin runs
 * inside a private node namespace, started as a runtime's exec starts it: posix_spawn from a resident driver
 * in that namespace (bench/lib/exec-driver.ts); SY_BENCH_LAUNCHER=nsenter: Node's spawn of `nsenter --net=…`
 * per call instead (the same cost for both). Parallel calls go in waves of `parallel`. Pods are namespaces
 * created beforehand. The agent route is measured by cni-fastpath.ts.
 * Run as root: `node dist/bench/linux-cni-latency.js [pods=50] [parallel=8]`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { launcherKind, routeLauncher, type RouteLauncher } from './lib/exec-driver';
import { intArg, pct } from './lib/stats';
import { createSwitchyardNetwork, Namespaces, nodeBin, pluginEnv, podEnv, REF_BIN, referenceConf, switchyardConf } from './lib/cni-lab';

const pods = intArg(0, 'pods', 50);
const parallel = intArg(1, 'parallel', 8);
const tag = crypto.randomBytes(2).toString('hex');
const SY_BIN = nodeBin(__dirname);
const LAUNCHER = launcherKind();

interface Plugin {
  label: string;
  bin: string;
  type: string;
  conf: (run: string, dir: string) => string;
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
  const ns = new Namespaces();
  const env = pluginEnv();
  const rows: string[] = [];
  const launchers: RouteLauncher[] = [];
  try {
    const plugins: Plugin[] = [
      { label: 'reference bridge + host-local', bin: REF_BIN, type: 'bridge', conf: (r, d) => referenceConf(r, path.join(d, 'ref')) },
      {
        label: 'switchyard l2bridge + switchyard-ipam',
        bin: SY_BIN,
        type: 'switchyard',
        conf: (r, d) => switchyardConf(`net${r}`, path.join(d, `sy${r}`)),
      },
    ];
    for (const [mode, width] of [
      ['sequential', 1],
      [`${parallel}-way parallel`, parallel],
    ] as const) {
      for (const plugin of plugins) {
        const r = `${tag}${width}${plugin.type[0]}`;
        const nodeNs = ns.add(`sybc${r}`, true);
        const runEnv: NodeJS.ProcessEnv = {
          ...env,
          SWITCHYARD_DATAPLANE: 'linux',
          SWITCHYARD_LINUX_STATE: path.join(dir, `state-${r}.json`),
        };
        if (plugin.type === 'switchyard') await createSwitchyardNetwork(runEnv, nodeNs, `net${r}`);
        const podNs = Array.from({ length: pods }, (_, i) => ns.add(`sybc${r}p${i}`));
        const conf = plugin.conf(r, dir);
        const file = path.join(plugin.bin, plugin.type);
        const launcher = routeLauncher(LAUNCHER, nodeNs, runEnv, conf, path.join(dir, `conf-${r}.json`));
        launchers.push(launcher);
        const exec = async (command: 'ADD' | 'DEL') => {
          const ms: number[] = [];
          for (let first = 0; first < pods; first += width) {
            const wave = Array.from({ length: Math.min(width, pods - first) }, (_, k) => first + k);
            ms.push(
              ...(
                await launcher.wave(
                  file,
                  wave.map((i) => ({ ...podEnv(r, i, podNs, plugin.bin), CNI_COMMAND: command })),
                )
              ).ms,
            );
          }
          return ms;
        };
        const add = await exec('ADD');
        const del = await exec('DEL');
        rows.push(
          `${plugin.label.padEnd(38)} ${mode.padEnd(17)} ADD ${pct(add, 50).toFixed(1).padStart(6)} / ${pct(add, 95).toFixed(1).padStart(6)}   DEL ${pct(del, 50).toFixed(1).padStart(6)} / ${pct(del, 95).toFixed(1).padStart(6)}`,
        );
      }
    }
  } finally {
    for (const l of launchers) await l.close();
    ns.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const how =
    LAUNCHER === 'driver'
      ? "each plugin posix_spawned by a resident driver in the node netns, like a runtime's exec"
      : "each plugin exec'd through Node spawn of nsenter into the node netns";
  console.log(`CNI latency, ${pods} pods, ms (median / p95), ${how}`);
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
