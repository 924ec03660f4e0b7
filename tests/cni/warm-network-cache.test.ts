/**
 * The agent's network lookup cache for ADDs (src/cni/warm-services.ts, v2NetworkForAdd): after the first
 * ADD of a network, a win-bridge v2 ADD through the agent's executor makes 3 data-plane calls (the call log);
 * when the network is deleted and re-created under the same name, the next ADD still succeeds, on the new
 * network, through one retry with a fresh lookup; the Node entrypoint route never caches.
 */
import { strict as assert } from 'node:assert';
import { ADD, DEL, createNamespace, createV1Network, makeLab, runSync, type Lab } from './helpers';
import { execCni } from '../../src/cni/exec';
import { WarmServices } from '../../src/cni/warm-services';
import { openDataplane } from '../../src/dataplane/factory';

const L2BRIDGE = { Name: 'cbr0', Type: 'L2Bridge', Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }] };

describe('agent executor: network lookup cache for ADDs', () => {
  let lab: Lab;
  let ns: string;
  let services: WarmServices;
  beforeEach(async () => {
    lab = makeLab();
    await createV1Network(lab, L2BRIDGE);
    ns = await createNamespace(lab);
    services = new WarmServices((env) => openDataplane({ env: env as NodeJS.ProcessEnv }));
  });
  afterEach(async () => {
    await services.close();
    lab.cleanup();
  });

  const conf = () =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'win-bridge',
      apiVersion: 2,
      ipam: { type: 'switchyard-ipam', subnet: '10.244.1.0/24', rangeStart: '10.244.1.5', dataDir: lab.ipamDir },
    });
  const viaAgent = (env: Record<string, string | undefined>) =>
    execCni({ plugin: 'win-bridge', env: env as Record<string, string>, stdin: Buffer.from(conf()) }, { baseEnv: lab.env, services });
  // The kept-open data plane holds the call log open: calls are counted from a mark, not by removing the file.
  let mark = 0;
  const markCalls = () => (mark = lab.calls().length);
  const ops = () =>
    lab
      .calls()
      .slice(mark)
      .map((c) => c.op);

  it('a warm ADD makes 3 data-plane calls; the Node entrypoint makes 4', async () => {
    assert.equal((await viaAgent(ADD('c1', ns))).exitCode, 0);
    markCalls();
    const r = await viaAgent(ADD('c2', ns));
    assert.equal(r.exitCode, 0, r.stdout);
    assert.deepEqual(ops(), ['listEndpoints', 'createEndpoint', 'attachEndpoint']);
    markCalls();
    const node = runSync('win-bridge', lab, ADD('c3', ns), JSON.parse(conf()));
    assert.equal(node.code, 0, node.stdout + node.stderr);
    assert.deepEqual(ops(), ['listNetworks', 'listEndpoints', 'createEndpoint', 'attachEndpoint']);
  });

  it('a data plane the agent shares serves the calls that select it (no second instance), and close() leaves it open', async () => {
    const own = await openDataplane({ env: lab.env as NodeJS.ProcessEnv });
    const opened: string[] = [];
    const shared = new WarmServices(
      async (env) => {
        opened.push(String(env.SWITCHYARD_DATAPLANE));
        return openDataplane({ env: env as NodeJS.ProcessEnv });
      },
      { env: lab.env, service: own },
    );
    try {
      const call = (env: Record<string, string | undefined>) =>
        execCni(
          { plugin: 'win-bridge', env: env as Record<string, string>, stdin: Buffer.from(conf()) },
          { baseEnv: lab.env, services: shared },
        );
      // The native entrypoint forwards its own SWITCHYARD_AGENT_* too: they select no data plane.
      const r = await call({ ...ADD('s1', ns), SWITCHYARD_AGENT_SOCKET: '/run/x.sock' });
      assert.equal(r.exitCode, 0, r.stdout);
      assert.deepEqual(opened, [], 'the shared instance served the call');
      assert.ok((await own.listEndpoints()).some((e) => e.Name?.startsWith('s1')));
      await shared.close();
      assert.ok(
        (await own.listEndpoints()).some((e) => e.Name?.startsWith('s1')),
        'still open after close()',
      );
    } finally {
      await shared.close();
      await own.close();
    }
  });

  it('a network re-created under the same name: the next ADD retries with a fresh lookup and lands on the new network', async () => {
    assert.equal((await viaAgent(ADD('c1', ns))).exitCode, 0);
    assert.equal((await viaAgent(DEL('c1', ns))).exitCode, 0);
    const s = await lab.service();
    let newId: string;
    try {
      const old = (await s.listNetworks()).find((n) => n.Name === 'cbr0')!;
      await s.deleteNetwork(old.ID!);
      newId = (await createV1Network(lab, L2BRIDGE)).ID;
      assert.notEqual(newId.toLowerCase(), old.ID!.toLowerCase());
    } finally {
      await s.close();
    }
    markCalls();
    const r = await viaAgent(ADD('c2', ns));
    assert.equal(r.exitCode, 0, r.stdout);
    assert.ok(ops().includes('listNetworks'), `looked the network up again: ${ops().join(', ')}`);
    const check = await lab.service();
    try {
      const eps = (await check.listEndpoints()).filter((e) => e.Name?.startsWith('c2'));
      assert.equal(eps.length, 1, 'one endpoint for c2');
      assert.equal(eps[0].HostComputeNetwork?.toLowerCase(), newId.toLowerCase());
    } finally {
      await check.close();
    }
  });
});
