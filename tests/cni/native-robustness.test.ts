/**
 * The agent killed (SIGKILL) during 200 parallel ADDs through the native entrypoint: every call either
 * succeeded or printed a CNI error (a dropped connection is code 11; calls after the kill find no agent and,
 * with no Node fallback installed here, get code 50). Then a new agent and a CNI GC naming the successful
 * containers leave exactly their endpoints and IPAM reservations: nothing leaked, nothing lost.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADD, createNamespace, createV1Network, files, makeLab, run, type Lab, type Run } from './helpers';
import { INSTALL, startAgentProcess, type AgentProcess } from './native-routes';

const PODS = 200;

describe('native entrypoint: agent SIGKILLed during 200 parallel ADDs', function () {
  this.timeout(300_000);
  let lab: Lab;
  let bin: string;
  let agent: AgentProcess | undefined;

  before(function () {
    if (!fs.existsSync(path.join(INSTALL, 'win-bridge'))) this.skip();
    lab = makeLab({ SWITCHYARD_CALL_LOG: '' });
    // The native entrypoint alone: after the kill there is no fallback, so every outcome is the agent's or an error.
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cnibin-'));
    fs.copyFileSync(path.join(INSTALL, 'win-bridge'), path.join(bin, 'win-bridge'));
    fs.chmodSync(path.join(bin, 'win-bridge'), 0o755);
  });
  after(async () => {
    await agent?.stop();
    lab?.cleanup();
    if (bin) fs.rmSync(bin, { recursive: true, force: true });
  });

  it('every call succeeds or is a CNI error; GC leaves exactly the successful pods', async () => {
    await createV1Network(lab, {
      Name: 'cbr0',
      Type: 'L2Bridge',
      Subnets: [{ AddressPrefix: '10.244.0.0/16', GatewayAddress: '10.244.0.1' }],
    });
    const ns = await createNamespace(lab);
    const socket = path.join(lab.dir, 'run', 'agent.sock');
    agent = await startAgentProcess(socket, lab.env);
    const conf = {
      cniVersion: '1.1.0',
      name: 'cbr0',
      type: 'win-bridge',
      apiVersion: 2,
      ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/16', dataDir: lab.ipamDir },
    };
    const cni = (cmd: string, id: string) => ({ ...ADD(id, ns), CNI_COMMAND: cmd, CNI_PATH: bin, SWITCHYARD_AGENT_SOCKET: socket });

    // Kill once a tenth of the calls have succeeded: the rest are in flight or not yet connected.
    let succeeded = 0;
    const victim = agent;
    const results: Run[] = await Promise.all(
      Array.from({ length: PODS }, (_, i) =>
        run(path.join(bin, 'win-bridge'), lab, cni('ADD', `kill${i}`), conf).then((r) => {
          if (r.code === 0 && ++succeeded === PODS / 10) victim.child.kill('SIGKILL');
          return r;
        }),
      ),
    );
    await victim.stop();

    const ok: string[] = [];
    const codes = new Map<number, number>();
    results.forEach((r, i) => {
      if (r.code === 0) {
        assert.equal(r.json().ips.length, 1, r.stdout);
        ok.push(`kill${i}`);
        return;
      }
      assert.equal(r.code, 1, `call ${i}: exit ${r.code} ${r.stdout} ${r.stderr}`);
      const e = r.json();
      assert.equal(typeof e.code, 'number', r.stdout);
      assert.equal(typeof e.msg, 'string', r.stdout);
      assert.ok([11, 50].includes(e.code), r.stdout);
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    });
    assert.ok(ok.length >= PODS / 10);
    const ips = results.filter((r) => r.code === 0).map((r) => r.json().ips[0].address);
    assert.equal(new Set(ips).size, ips.length, 'no address handed out twice');

    // A new agent, then GC naming the containers the runtime believes in.
    agent = await startAgentProcess(socket, lab.env);
    const gcConf = { ...conf, 'cni.dev/valid-attachments': ok.map((id) => ({ containerID: id, ifname: 'eth0' })) };
    const gc = await run(path.join(bin, 'win-bridge'), lab, { CNI_COMMAND: 'GC', CNI_PATH: bin, SWITCHYARD_AGENT_SOCKET: socket }, gcConf);
    assert.equal(gc.code, 0, gc.stdout);

    const s = await lab.service();
    try {
      const eps = (await s.listEndpoints()).map((e) => e.Name).sort();
      assert.deepEqual(eps, ok.map((id) => `${id}_cbr0`).sort(), 'endpoints are exactly the successful pods');
    } finally {
      await s.close();
    }
    const reserved = files(path.join(lab.ipamDir, 'cbr0')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    assert.deepEqual(reserved.sort(), ips.map((a: string) => a.split('/')[0]).sort(), 'reservations are exactly the successful pods');
    console.log(`      ${ok.length} succeeded, ${[...codes].map(([c, n]) => `${n} × code ${c}`).join(', ')}`);
  });
});
