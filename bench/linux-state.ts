/**
 * The linux data plane's state file (no root): a state of N load balancers (with their lbNft records) and 50
 * endpoints, and one small mutation (one LB's endpoints and record changed, as a single-endpoint change of the
 * service proxy makes), committed durably. Prints, side by side in one run:
 * - before: what every commit cost before the journal (take the lock, read + parse the whole file, change,
 *   serialize the whole state, write + fsync + rename it, let go);
 * - after, warm: StateStore.mutate in a process that keeps the state (the agent), lock taken per commit;
 * - after, cold: a new StateStore per commit (a standalone plugin or CLI: reads snapshot + journal);
 * - a reader's loadState with the journal as it stands, and the compaction that bounds it.
 * Printed, never asserted. Run: node scripts/build.js && node dist/bench/linux-state.js [lbs=10000] [changes=50] [dir]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock } from '../src/util/file-lock';
import { prepareAtomicWrite, readFileNoFollow } from '../src/util/atomic-write';
import { loadState, parseState, serializeState, type LinuxState } from '../src/dataplane/linux/state';
import { StateStore } from '../src/dataplane/linux/state-store';
import { journalPath } from '../src/dataplane/linux/state-journal';
import { intArg, pct } from './lib/stats';

const N = intArg(0, 'lbs', 10000);
const CHANGES = intArg(1, 'changes', 50);
const base = process.argv[4] ?? os.tmpdir();
const ms = (t0: number) => performance.now() - t0;
const guid = (i: number, tag: string) => `${tag}${i.toString(16).padStart(7, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

function lbDoc(i: number, eps: string[]) {
  return {
    ID: guid(i, 'b'),
    HostComputeEndpoints: eps,
    SourceVIP: '10.244.0.1',
    FrontendVIPs: [`10.96.${Math.floor(i / 250)}.${2 + (i % 250)}`],
    PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 0, Flags: 0 }],
    SchemaVersion: { Major: 2, Minor: 0 },
    Flags: 0,
  };
}

function seedState(): LinuxState {
  const s: LinuxState = { networks: {}, endpoints: {}, namespaces: {}, loadBalancers: {}, lbNft: {}, lbTable: true };
  s.networks.net = { doc: { ID: guid(0, 'n'), Name: 'cbr0', Type: 'L2Bridge' } as never, type: 'L2Bridge', bridge: 'sy-br0', mtu: 1500 };
  const eps: string[] = [];
  for (let e = 0; e < 50; e++) {
    const id = guid(e, 'e');
    eps.push(id);
    s.endpoints[id] = {
      doc: {
        ID: id,
        Name: `pod-${e}`,
        HostComputeNetwork: guid(0, 'n'),
        IpConfigurations: [{ IpAddress: `10.244.0.${10 + e}`, PrefixLength: 24 }],
        MacAddress: '00-15-5D-00-00-01',
        Routes: [{ NextHop: '10.244.0.1', DestinationPrefix: '0.0.0.0/0' }],
        SchemaVersion: { Major: 2, Minor: 0 },
      } as never,
      veth: `sy${e}`,
      netns: `/var/run/netns/pod${e}`,
      ifname: 'eth0',
      attached: true,
    };
  }
  for (let i = 0; i < N; i++) {
    const pair = [eps[i % 50], eps[(i + 1) % 50]];
    s.loadBalancers[guid(i, 'b')] = lbDoc(i, pair) as never;
    s.lbNft![guid(i, 'b')] = { backends: pair.map((_, j) => ({ ip: `10.244.0.${10 + ((i + j) % 50)}`, remote: false })) };
  }
  s.ruleset = 'table inet switchyard {\n}\n'.repeat(20);
  return s;
}

/** The single-endpoint change: one LB loses a backend and gets another. */
function change(s: LinuxState, round: number): void {
  const i = (round * 7919) % N;
  const k = guid(i, 'b');
  const eps = Object.keys(s.endpoints);
  const ep = eps[round % eps.length];
  s.loadBalancers[k].HostComputeEndpoints = [ep];
  s.lbNft![k] = { backends: [{ ip: `10.244.0.${10 + (round % 50)}`, remote: round % 2 === 0 }] };
}

function report(name: string, xs: number[]): void {
  console.log(`  ${name.padEnd(44)} median ${pct(xs, 50).toFixed(2).padStart(8)} ms   p95 ${pct(xs, 95).toFixed(2).padStart(8)} ms`);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(base, 'sy-bench-state-'));
  try {
    const file = path.join(dir, 'linux-state.json');
    const seeded = seedState();
    await new StateStore(file).mutate((s) => void Object.assign(s, seeded));
    const size = fs.statSync(file).size;
    console.log(`linux state file: ${N} load balancers, 50 endpoints, snapshot ${(size / 1e6).toFixed(1)} MB, in ${dir}`);

    const before: number[] = [];
    for (let r = 0; r < CHANGES; r++) {
      const t0 = performance.now();
      const lock = await acquireLock(`${file}.lock`);
      try {
        const s = parseState(readFileNoFollow(file), file);
        change(s, r);
        const w = await prepareAtomicWrite(file, serializeState(s));
        w.commit();
      } finally {
        lock.release();
      }
      before.push(ms(t0));
    }

    const warmStore = new StateStore(file);
    await warmStore.mutate(() => undefined); // the process's first read, as the agent's at start
    const warm: number[] = [];
    for (let r = 0; r < CHANGES; r++) {
      const t0 = performance.now();
      await warmStore.mutate((s) => change(s, r + CHANGES));
      warm.push(ms(t0));
    }

    // As lb-nft.ts records a change today: the whole lbNft table copied (through the proxy) and assigned.
    const warmTable: number[] = [];
    for (let r = 0; r < CHANGES; r++) {
      const t0 = performance.now();
      await warmStore.mutate((s) => {
        const next = { ...s.lbNft };
        change({ ...s, lbNft: next }, r + 3 * CHANGES);
        s.lbNft = next;
      });
      warmTable.push(ms(t0));
    }

    const cold: number[] = [];
    for (let r = 0; r < Math.min(CHANGES, 20); r++) {
      const t0 = performance.now();
      await new StateStore(file).mutate((s) => change(s, r + 2 * CHANGES));
      cold.push(ms(t0));
    }

    const journal = fs.existsSync(journalPath(file)) ? fs.statSync(journalPath(file)).size : 0;
    const reads: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      loadState(file);
      reads.push(ms(t0));
    }

    // Commits until the journal passes its bound; the compaction then runs after that commit is answered,
    // and the next commit waits for it.
    const compactStore = new StateStore(file);
    const journalSize = () => (fs.existsSync(journalPath(file)) ? fs.statSync(journalPath(file)).size : 0);
    let commits = 0;
    let slowest = 0;
    for (let j = journalSize(); commits < 100000; commits++) {
      const t0 = performance.now();
      await compactStore.mutate((s) => change(s, commits));
      slowest = Math.max(slowest, ms(t0));
      const now = journalSize();
      if (now < j) break;
      j = now;
    }

    console.log(`one small mutation, committed durably (${CHANGES} changes):`);
    report('before: parse + serialize + rewrite whole', before);
    report('after, warm (agent): journal record', warm);
    report('after, warm, lbNft table copied and assigned', warmTable);
    report('after, cold (new process): read + record', cold);
    console.log(`a reader (loadState, snapshot + ${(journal / 1e3).toFixed(1)} kB journal):`);
    report('loadState', reads);
    console.log(`  a compaction every ~${commits} such commits; the slowest commit around it ${slowest.toFixed(1)} ms`);
    console.log(`  speed-up of a warm commit: ${(pct(before, 50) / pct(warm, 50)).toFixed(1)}x`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
