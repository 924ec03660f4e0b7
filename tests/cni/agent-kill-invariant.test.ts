/**
 * The invariant after agent kills (issue 11, point 4 of "what must be true"): ADD, DEL and CHECK through the
 * agent's fast path (the native shim → the agent's in-process executor), the agent SIGKILLed at a random
 * instant of each round (seeded), restarted, then a GC naming the pods the runtime believes live. After
 * every round: the invariant holds, CHECK passes for every live pod, and the endpoints and reservations
 * are exactly those of the live pods (nothing leaked, nothing lost). Memory data plane; win-bridge and
 * switchyard alternate by round. Seeded: SWITCHYARD_TEST_SEED replays, SWITCHYARD_AGENT_KILL_ROUNDS sets
 * the rounds (default 10).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADD, run, type CniEnv, type Run } from './helpers';
import { INSTALL, startAgentProcess, type AgentProcess } from './native-routes';
import {
  endpointsOf,
  explain,
  makeRelLab,
  namespaces,
  netconf,
  prng,
  storeOf,
  suiteSeed,
  v11,
  violations,
  type RelLab,
} from './reliability-lab';

const PODS = 12;

describe('the invariant after the agent is SIGKILLed mid-call (native shim → agent, memory data plane)', function () {
  this.timeout(300_000);
  const seed = suiteSeed();
  const rounds = Number(process.env.SWITCHYARD_AGENT_KILL_ROUNDS) > 0 ? Number(process.env.SWITCHYARD_AGENT_KILL_ROUNDS) : 10;
  let lab: RelLab;
  let bin: string;
  let agent: AgentProcess | undefined;
  const fig = { ops: 0, kills: 0, ok: 0, failed: 0 };

  before(function () {
    if (!fs.existsSync(path.join(INSTALL, 'switchyard'))) this.skip();
    // The native entrypoints alone (no Node fallback): every call is the agent's answer or a CNI error.
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cnibin-'));
    for (const p of ['switchyard', 'win-bridge']) {
      fs.copyFileSync(path.join(INSTALL, p), path.join(bin, p));
      fs.chmodSync(path.join(bin, p), 0o755);
    }
  });
  after(async () => {
    await agent?.stop();
    lab?.cleanup();
    if (bin) fs.rmSync(bin, { recursive: true, force: true });
    console.log(
      `      seed ${seed}: ${rounds} rounds, ${fig.ops} operations (${fig.ok} answered, ${fig.failed} failed), ${fig.kills} agent kills`,
    );
  });

  it(`${rounds} rounds of concurrent ADD/DEL/CHECK with an agent SIGKILL, restart and GC`, async () => {
    const rnd = prng(seed);
    lab = await makeRelLab();
    const ns = await namespaces(lab, PODS);
    const socket = path.join(lab.dir, 'run', 'agent.sock');
    const env = { ...lab.env, SWITCHYARD_CALL_LOG: '' };
    const confs = {
      switchyard: v11(netconf(lab, 'switchyard', 'switchyard-ipam')),
      'win-bridge': v11(netconf(lab, 'win-bridge', 'switchyard-ipam')),
    };
    const live = { switchyard: new Set<number>(), 'win-bridge': new Set<number>() };
    const cni = (cmd: string, i: number): CniEnv => ({
      ...ADD(`ak${i}`, ns[i]),
      CNI_COMMAND: cmd,
      CNI_PATH: bin,
      SWITCHYARD_AGENT_SOCKET: socket,
    });

    try {
      for (let round = 0; round < rounds; round++) {
        const plugin = round % 2 === 0 ? 'switchyard' : 'win-bridge';
        const conf = confs[plugin];
        const alive = live[plugin];
        agent = await startAgentProcess(socket, env);
        // One operation per pod (the runtime serializes a pod's calls), all at once.
        const ops = Array.from({ length: PODS }, (_, i) => {
          const r = rnd();
          return alive.has(i) ? (r < 0.7 ? 'DEL' : 'CHECK') : r < 0.85 ? 'ADD' : 'DEL';
        });
        const victim = agent;
        // The kill lands mid-batch: after the k-th answer (k seeded) plus a seeded delay, or, for k = 0,
        // a seeded delay from the start.
        const k = Math.floor(rnd() * PODS * 0.75);
        const delay = Math.floor(rnd() * (k === 0 ? 300 : 60));
        let timer: NodeJS.Timeout | undefined;
        const kill = () => {
          timer = setTimeout(() => {
            if (victim.child.exitCode === null && victim.child.signalCode === null) {
              victim.child.kill('SIGKILL');
              fig.kills++;
            }
          }, delay);
        };
        if (k === 0) kill();
        let answered = 0;
        const results: Run[] = await Promise.all(
          ops.map((op, i) =>
            run(path.join(bin, plugin), lab, cni(op, i), conf).then((r) => {
              if (++answered === k) kill();
              return r;
            }),
          ),
        );
        clearTimeout(timer);
        await victim.stop();
        fig.ops += ops.length;
        results.forEach((r, i) => {
          if (r.code === 0) {
            fig.ok++;
            if (ops[i] === 'ADD') alive.add(i);
            if (ops[i] === 'DEL') alive.delete(i);
            return;
          }
          fig.failed++;
          assert.equal(r.code, 1, `${ops[i]} ak${i}: exit ${r.code} ${r.stdout} ${r.stderr}`);
          const e = r.json() as { code: number; msg: string };
          assert.ok(Number.isInteger(e.code) && typeof e.msg === 'string', r.stdout);
          // A failed ADD: the runtime does not count the pod as live (GC removes whatever is left); a failed
          // DEL is retried below, as kubelet does; a failed CHECK changed nothing.
          if (ops[i] === 'ADD') alive.delete(i);
        });

        // Restart, retry the failed DELs, then GC naming the live pods (as the runtime's next GC would).
        agent = await startAgentProcess(socket, env);
        for (const [i, op] of ops.entries()) {
          if (op !== 'DEL' || results[i].code === 0) continue;
          const again = await run(path.join(bin, plugin), lab, cni('DEL', i), conf);
          assert.equal(again.code, 0, `retried DEL ak${i}: ${again.stdout}`);
          alive.delete(i);
        }
        const gcConf = { ...conf, 'cni.dev/valid-attachments': [...alive].map((i) => ({ containerID: `ak${i}`, ifname: 'eth0' })) };
        const gc = await run(path.join(bin, plugin), lab, { CNI_COMMAND: 'GC', CNI_PATH: bin, SWITCHYARD_AGENT_SOCKET: socket }, gcConf);
        assert.equal(gc.code, 0, `round ${round} GC: ${gc.stdout}`);
        const where = `round ${round} (${plugin}), seed ${seed}`;
        const v = await violations(lab, conf);
        assert.deepEqual(v, [], `${where}: ${explain(v)}`);
        for (const i of alive) {
          const check = await run(path.join(bin, plugin), lab, cni('CHECK', i), conf);
          assert.equal(check.code, 0, `${where}: CHECK ak${i}: ${check.stdout}`);
        }
        const eps = await endpointsOf(lab, conf);
        const want = [...alive].map((i) => `ak${i}`).sort();
        assert.deepEqual([...eps.keys()].sort(), want, `${where}: endpoints are exactly the live pods`);
        const ips = [...eps.values()].flat();
        assert.equal(new Set(ips).size, ips.length, `${where}: no address twice`);
        assert.deepEqual(
          storeOf(conf)
            .list()
            .map((r) => r.containerID)
            .sort(),
          want,
          `${where}: reservations are exactly the live pods`,
        );
        await agent.stop();
        agent = undefined;
      }
    } catch (e) {
      (e as Error).message = `replay with SWITCHYARD_TEST_SEED=${seed}: ${(e as Error).message}`;
      throw e;
    }
  });
});
