/**
 * Property-based fuzzing of the CNI entry (issue 11): generated network configs, runtimeConfig, prevResult
 * and environments for win-bridge, win-overlay and switchyard on the memory data plane. Every call answers
 * with a success or a CNI error JSON (an integer code from the spec's table, a message, no stack trace);
 * a call that fails changes nothing (the plane's state file and the IPAM store byte for byte); a config
 * with one field in a format HNS refuses is answered with code 7 naming that field. Calls run in process
 * through the agent's dispatcher (src/cni/exec.ts); a sample runs through the real entrypoint process.
 *
 * Seeded: the seed is printed with any failure; SWITCHYARD_TEST_SEED replays it, SWITCHYARD_FUZZ_CASES
 * sets the number of cases of the main property (default 2,000).
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { ADD, CHECK, DEL, runSync, type CniEnv } from './helpers';
import {
  endpointsOf,
  explain,
  makeRelLab,
  namespaces,
  netconf,
  storeOf,
  suiteSeed,
  violations,
  type PluginName,
  type RelLab,
} from './reliability-lab';
import { inProcess, snapshot } from './state-snapshot';
import { parseCidr, parseIp } from '../../src/net/ip';

type Conf = Record<string, unknown>;
const CODES = new Set([1, 2, 3, 4, 5, 6, 7, 11, 50, 51, 999]);
const PLUGINS: PluginName[] = ['win-bridge', 'win-overlay', 'switchyard'];

// ---- generators -------------------------------------------------------------------------------------

const junk = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '',
    ' ',
    '10.0.0.1 ',
    '1.2.3',
    '::1%eth0',
    '10.0.0.0/33',
    '300.1.1.1',
    'a..b',
    '-x',
    '\n',
    '\u001b[31m',
    'x'.repeat(2000),
  ),
);
const ip = fc.oneof(fc.ipV4(), fc.ipV6(), junk);
const cidr = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, n]) => `${a}/${n}`),
  junk,
);
const dnsName = fc.oneof(fc.domain(), junk);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: anyJson as fc.Arbitrary<unknown> });
const port = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: -5, max: 100000 }));

const settings = fc.record(
  {
    Exceptions: fc.array(fc.oneof(cidr, ip), { maxLength: 3 }),
    DestinationPrefix: cidr,
    NeedEncap: maybe(fc.boolean()),
    Action: fc.constantFrom('Allow', 'Block', 'Pass', 'allow', ''),
    Direction: fc.constantFrom('In', 'Out', 'Up'),
    RemoteAddresses: fc.oneof(cidr, ip),
    LocalPorts: fc.oneof(fc.constantFrom('80', '80,443', '1-65535', '70000', '*', ''), junk),
    Protocols: fc.oneof(fc.constantFrom('6', '17', '6,17', '256'), junk),
    Priority: maybe(fc.integer({ min: -1, max: 70000 })),
    ProviderAddress: ip,
  },
  { requiredKeys: [] },
);
const policyValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { Type: fc.constantFrom('OutBoundNAT', 'SDNRoute', 'ACL', 'ProviderAddress', 'Bogus', 'acl'), Settings: maybe(settings) },
      { requiredKeys: ['Type'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        Type: fc.constantFrom('OutBoundNAT', 'ROUTE', 'ACL', 'PA', 'NAT'),
        ExceptionList: fc.array(cidr, { maxLength: 2 }),
        DestinationPrefix: cidr,
        PA: ip,
      },
      { requiredKeys: ['Type'] },
    ),
  },
  { weight: 1, arbitrary: anyJson },
);
const policy = fc.record(
  { name: fc.constantFrom('EndpointPolicy', 'endpointpolicy', 'OtherPolicy'), value: policyValue },
  { requiredKeys: [] },
);

const dns = fc.record(
  {
    nameservers: maybe(fc.array(ip, { maxLength: 3 })),
    domain: maybe(dnsName),
    search: maybe(fc.array(dnsName, { maxLength: 3 })),
    options: maybe(fc.array(fc.oneof(fc.constantFrom('ndots:5', 'edns0'), junk), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const portMapping = fc.record(
  {
    hostPort: maybe(port),
    containerPort: maybe(port),
    protocol: maybe(fc.oneof(fc.constantFrom('tcp', 'UDP', '6', '17', 'sctp', '0x11'), junk)),
    hostIP: maybe(ip),
  },
  { requiredKeys: [] },
);
const runtimeConfig = fc.record(
  {
    dns: maybe(fc.record({ servers: fc.array(ip, { maxLength: 2 }), searches: fc.array(dnsName, { maxLength: 2 }) }, { requiredKeys: [] })),
    portMappings: maybe(fc.array(portMapping, { maxLength: 2 })),
    ips: maybe(fc.array(fc.oneof(fc.constantFrom('10.244.1.50/24', '10.245.1.50/24', '10.9.9.9/24'), ip), { maxLength: 1 })),
    anything: anyJson,
  },
  { requiredKeys: [] },
);
const prevResult = fc.oneof(
  anyJson,
  fc.record(
    {
      cniVersion: fc.constantFrom('1.0.0', '0.4.0', 'x'),
      ips: fc.array(fc.record({ address: cidr, gateway: ip }, { requiredKeys: [] }), { maxLength: 2 }),
      interfaces: anyJson,
    },
    { requiredKeys: [] },
  ),
);
const ipamOver = fc.record(
  {
    type: fc.constantFrom('switchyard-ipam', 'switchyard-ipam', '', 'no-such-ipam', '../x', 7 as unknown as string),
    subnet: fc.oneof(fc.constantFrom('10.244.1.0/24', '10.245.1.0/24', ' 10.244.1.0/24'), cidr),
    rangeStart: ip,
    routes: maybe(fc.array(fc.record({ dst: cidr, gw: ip }, { requiredKeys: [] }), { maxLength: 2 })),
    dataDir: fc.constantFrom(5, null, true),
  },
  { requiredKeys: [] },
);

/** Overrides of a valid base config: each key present replaces the base's (ipam merged, its dataDir kept unless fuzzed as a non-string). */
const overrides = fc.record(
  {
    cniVersion: fc.constantFrom('1.0.0', '1.1.0', '0.4.0', '0.3.1', '0.2.0', '9.9.9', ''),
    name: fc.constantFrom('cbr0', 'vxlan0', 'pods', 'nope', 'bad name', ''),
    apiVersion: fc.constantFrom(1, 2, 2, '2', null),
    ipMasqNetwork: maybe(cidr),
    ipMasq: maybe(fc.boolean()),
    endpointMacPrefix: maybe(fc.oneof(fc.constantFrom('0E-2A', '0e-2b', '0E2A', 'zz-zz'), junk)),
    mode: maybe(fc.constantFrom('l2bridge', 'overlay', 'transparent', 'L2Bridge', 'bridge')),
    network: maybe(fc.constantFrom('cbr0', 'vxlan0', 'none', 'cbr0\n')),
    gateway: maybe(fc.constantFrom('network', 'plus2', 'x')),
    mtu: maybe(fc.integer({ min: -1, max: 70000 })),
    outboundNatExceptions: maybe(fc.array(fc.oneof(cidr, ip), { maxLength: 3 })),
    loopbackDSR: maybe(fc.boolean()),
    dns: maybe(dns),
    policies: maybe(fc.array(policy, { maxLength: 3 })),
    runtimeConfig: maybe(runtimeConfig),
    prevResult,
    ipam: ipamOver,
    capabilities: anyJson,
  },
  { requiredKeys: [] },
);

const envArb = fc.record(
  {
    command: fc.constantFrom('ADD', 'ADD', 'ADD', 'ADD', 'CHECK', 'DEL', 'STATUS', 'GC', 'VERSION', 'FROB', ''),
    container: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => `fz${i}`) }, { weight: 1, arbitrary: junk }),
    netns: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: junk }),
    ifname: fc.oneof({ weight: 6, arbitrary: fc.constant('eth0') }, { weight: 1, arbitrary: junk }),
    args: fc.oneof(fc.constant(''), fc.constantFrom('IP=10.244.1.77', 'IP=nope', 'K8S_POD_NAME=a;IgnoreUnknown=1', 'broken'), junk),
    dropPath: fc.boolean().map((b) => b && Math.random() < 0.2),
  },
  { requiredKeys: ['command', 'container', 'netns', 'ifname', 'args'] },
);

// ---- the properties ---------------------------------------------------------------------------------

function mergeConf(lab: RelLab, plugin: PluginName, over: Conf): Conf {
  const base = netconf(lab, plugin, 'switchyard-ipam');
  const out: Conf = { ...base, ...over };
  const ipam = { ...(base.ipam as Conf), ...((over.ipam as Conf | undefined) ?? {}) };
  if (!(over.ipam as Conf | undefined)?.dataDir) ipam.dataDir = (base.ipam as Conf).dataDir;
  out.ipam = ipam;
  return out;
}

function assertCniOutput(out: { stdout: string; exitCode: number }, command: string): void {
  assert.ok(!/\n\s+at \S+ \(/.test(out.stdout), `no stack trace: ${out.stdout.slice(0, 300)}`);
  if (out.exitCode === 0) {
    if (command === 'ADD' || command === 'VERSION') JSON.parse(out.stdout);
    return;
  }
  assert.equal(out.exitCode, 1);
  const e = JSON.parse(out.stdout) as Record<string, unknown>;
  assert.ok(Number.isInteger(e.code) && CODES.has(e.code as number), `code ${String(e.code)}`);
  assert.equal(typeof e.msg, 'string');
  assert.ok((e.msg as string).length > 0);
  assert.ok(e.details === undefined || typeof e.details === 'string');
  assert.deepEqual(
    Object.keys(e).filter((k) => !['code', 'msg', 'details'].includes(k)),
    [],
  );
}

function seeded(name: string, seed: number, run: () => Promise<void>): Promise<void> {
  return run().catch((e: Error) => {
    e.message = `${name}: replay with SWITCHYARD_TEST_SEED=${seed}\n${e.message}`;
    throw e;
  });
}

describe('CNI fuzzing with fast-check (issue 11)', function () {
  this.timeout(600_000);
  const seed = suiteSeed();
  const cases = Number(process.env.SWITCHYARD_FUZZ_CASES) > 0 ? Number(process.env.SWITCHYARD_FUZZ_CASES) : 2000;
  let lab: RelLab;
  let ns: string[];
  const figures = { cases: 0, successes: 0, errors: 0, byCode: new Map<number, number>() };
  before(async () => {
    lab = await makeRelLab();
    ns = await namespaces(lab, 6);
  });
  after(() => {
    console.log(
      `      seed ${seed}: ${figures.cases} cases, ${figures.successes} succeeded, ${figures.errors} CNI errors (${[...figures.byCode].map(([c, n]) => `${n}×${c}`).join(', ')})`,
    );
    lab.cleanup();
  });

  it(`${cases} generated calls: a success or a CNI error, never a change on error, nothing left after DEL`, () =>
    seeded('main property', seed, () =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(...PLUGINS), overrides, envArb, async (plugin, over, e) => {
          const conf = mergeConf(lab, plugin, over as Conf);
          const netns = typeof e.netns === 'number' ? ns[e.netns] : e.netns;
          const env: CniEnv = { ...ADD(e.container, netns, e.ifname), CNI_COMMAND: e.command, CNI_ARGS: e.args };
          if (e.dropPath) delete env.CNI_PATH;
          const before = snapshot(lab);
          const out = await inProcess(plugin, lab, env, conf);
          figures.cases++;
          assertCniOutput(out, e.command);
          if (out.exitCode !== 0) {
            figures.errors++;
            const code = (JSON.parse(out.stdout) as { code: number }).code;
            figures.byCode.set(code, (figures.byCode.get(code) ?? 0) + 1);
            assert.equal(snapshot(lab), before, `a failed ${e.command} changed state: ${out.stdout.slice(0, 300)}`);
            return;
          }
          figures.successes++;
          if (e.command === 'ADD') {
            // Undo it with the same config (DEL reads only the name and IPAM), then check nothing is left.
            const del = await inProcess(plugin, lab, { ...env, CNI_COMMAND: 'DEL' }, conf);
            assert.equal(del.exitCode, 0, del.stdout);
          }
        }),
        { numRuns: cases, seed, endOnFailure: true },
      ),
    ));

  it('after the fuzzing: the invariant holds and no endpoint or reservation is left', async () => {
    for (const plugin of PLUGINS) {
      const conf = netconf(lab, plugin, 'switchyard-ipam');
      assert.deepEqual(await violations(lab, conf), [], explain(await violations(lab, conf)));
      assert.deepEqual([...(await endpointsOf(lab, conf)).keys()], []);
      assert.deepEqual(storeOf(conf).list(), []);
    }
  });

  const notIp = junk.filter((s) => s !== '' && !parseIp(s));
  const notIpOrCidr = junk.filter((s) => s !== '' && !parseIp(s) && !parseCidr(s));
  const BAD_FIELDS: [string, (plugin: PluginName) => boolean, fc.Arbitrary<unknown>, (v: unknown) => Conf][] = [
    ['dns.nameservers[0]', () => true, fc.oneof(notIp, fc.domain()), (v) => ({ dns: { nameservers: [v] } })],
    [
      'dns.search[0]',
      () => true,
      fc.constantFrom('a b', 'x..y', `${'l'.repeat(64)}.z`, 'y'.repeat(260), 'a,b'),
      (v) => ({ dns: { search: [v] } }),
    ],
    ['runtimeConfig.dns.servers[0]', () => true, notIp, (v) => ({ runtimeConfig: { dns: { servers: [v] } } })],
    [
      'runtimeConfig.portMappings[0].hostIP',
      () => true,
      notIp,
      (v) => ({ runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: v }] } }),
    ],
    ['ipMasqNetwork', (p) => p === 'win-bridge', junk.filter((s) => s !== '' && !parseCidr(s)), (v) => ({ ipMasqNetwork: v })],
    ['outboundNatExceptions[0]', (p) => p === 'switchyard', notIpOrCidr, (v) => ({ outboundNatExceptions: [v] })],
    [
      'policies[0].value.Settings.RemoteAddresses',
      () => true,
      fc.constantFrom('x', '10.0.0.0/8,nope', '1.2.3', ',', '10.0.0.0/33'),
      (v) => ({
        policies: [{ name: 'EndpointPolicy', value: { Type: 'ACL', Settings: { Action: 'Allow', Direction: 'In', RemoteAddresses: v } } }],
      }),
    ],
    [
      'policies[0].value.Settings.Exceptions[0]',
      () => true,
      fc.oneof(notIpOrCidr, fc.constant('')),
      (v) => ({ policies: [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: [v] } } }] }),
    ],
  ];

  it('500 configs with one field HNS would refuse: code 7 naming that field, nothing changed', () =>
    seeded('one bad field', seed, () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: BAD_FIELDS.length - 1 }),
          fc.nat(),
          fc.integer({ min: 0, max: 5 }),
          fc.integer({ min: 0, max: 1_000_000 }),
          async (which, pick, n, salt) => {
            const [field, applies, arb, make] = BAD_FIELDS[which];
            const plugins = PLUGINS.filter(applies);
            const plugin = plugins[pick % plugins.length];
            const [value] = fc.sample(arb, { numRuns: 1, seed: seed + salt });
            const conf = mergeConf(lab, plugin, make(value));
            const before = snapshot(lab);
            const out = await inProcess(plugin, lab, ADD(`bad${n}`, ns[n]), conf);
            assertCniOutput(out, 'ADD');
            const err = JSON.parse(out.stdout) as { code: number; msg: string; details?: string };
            assert.equal(err.code, 7, `${field} = ${JSON.stringify(value)}: ${out.stdout.slice(0, 300)}`);
            // An over-long string makes the whole policy value the field at fault (validate.ts, POLICY_STRING_MAX).
            const named = String(value).length > 1024 && field.startsWith('policies[0]') ? 'policies[0].value' : field;
            assert.ok(err.msg.includes(JSON.stringify(named)), `${field}: ${err.msg}`);
            assert.equal(snapshot(lab), before);
          },
        ),
        { numRuns: 500, seed, endOnFailure: true },
      ),
    ));

  it('through the entrypoint process: 40 generated calls answer like the in-process dispatcher', () =>
    seeded('entrypoint sample', seed, async () => {
      const samples = fc.sample(fc.tuple(fc.constantFrom(...PLUGINS), overrides, fc.constantFrom('ADD', 'CHECK', 'STATUS')), {
        numRuns: 40,
        seed,
      });
      for (const [plugin, over, command] of samples) {
        const conf = mergeConf(lab, plugin, over as Conf);
        const env = { ...(command === 'CHECK' ? CHECK('ep1', ns[0]) : ADD('ep1', ns[0])), CNI_COMMAND: command };
        const before = snapshot(lab);
        const r = runSync(plugin, lab, env, conf);
        assertCniOutput({ stdout: r.stdout, exitCode: r.code }, command);
        if (r.code !== 0) assert.equal(snapshot(lab), before, r.stdout);
        else if (command === 'ADD') assert.equal(runSync(plugin, lab, DEL('ep1', ns[0]), conf).code, 0);
      }
      for (const plugin of PLUGINS) assert.deepEqual([...(await endpointsOf(lab, netconf(lab, plugin, 'switchyard-ipam'))).keys()], []);
    }));
});
