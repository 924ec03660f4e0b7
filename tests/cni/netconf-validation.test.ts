/**
 * Issue 11, defects 6 and 7: every win-bridge, win-overlay and switchyard config field that reaches an HNS
 * document is checked against HNS's format before anything is allocated — CNI code 7 naming the field,
 * nothing changed — and neither the error on stdout nor the log line echoes the bad value.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, DEL, runSync } from './helpers';
import { endpointsOf, makeRelLab, namespaces, netconf, type PluginName, type RelLab } from './reliability-lab';
import { inProcess, snapshot } from './state-snapshot';

type Conf = Record<string, unknown>;

const BIG = 'Q'.repeat(1_000_000);
const pol = (value: unknown) => ({ policies: [{ name: 'EndpointPolicy', value }] });
const acl = (over: Conf) => pol({ Type: 'ACL', Settings: { Action: 'Block', Direction: 'Out', Protocols: '6', ...over } });

/** [what, plugin, config overrides, the field the error must name, the value it must not echo]. */
const BAD: [string, PluginName, Conf, string, string?][] = [
  ['ipMasqNetwork not a CIDR', 'win-bridge', { ipMasqNetwork: 'SECRET-masq' }, 'ipMasqNetwork', 'SECRET-masq'],
  ['ipMasqNetwork with a leading space', 'win-bridge', { ipMasqNetwork: ' 10.0.0.0/8' }, 'ipMasqNetwork'],
  ['ipMasqNetwork a bare address', 'win-bridge', { ipMasqNetwork: '10.0.0.1' }, 'ipMasqNetwork'],
  [
    'a DNS server that is no address',
    'win-bridge',
    { dns: { nameservers: ['10.96.0.10', 'SECRET-ns'] } },
    'dns.nameservers[1]',
    'SECRET-ns',
  ],
  ['a DNS search name too long', 'win-bridge', { dns: { search: ['a'.repeat(300)] } }, 'dns.search[0]'],
  ['a DNS label too long', 'win-bridge', { dns: { search: [`${'b'.repeat(64)}.local`] } }, 'dns.search[0]'],
  ['a DNS domain with a space', 'win-bridge', { dns: { domain: 'SECRET domain' } }, 'dns.domain', 'SECRET domain'],
  ['a 1 MB DNS domain', 'win-bridge', { dns: { domain: BIG } }, 'dns.domain', BIG],
  [
    'a DNS option with a newline',
    'win-bridge',
    { dns: { options: ['ndots:5\nnameserver 6.6.6.6'] } },
    'dns.options[0]',
    'nameserver 6.6.6.6',
  ],
  ['a runtime DNS server', 'win-bridge', { runtimeConfig: { dns: { servers: ['1.2.3'] } } }, 'runtimeConfig.dns.servers[0]'],
  ['a runtime search name', 'win-bridge', { runtimeConfig: { dns: { searches: ['x..y'] } } }, 'runtimeConfig.dns.searches[0]'],
  [
    'a host port beyond 65535',
    'win-bridge',
    { runtimeConfig: { portMappings: [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }] } },
    'runtimeConfig.portMappings[0].hostPort',
  ],
  [
    'a container port 0',
    'win-bridge',
    { runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 0, protocol: 'tcp' }] } },
    'runtimeConfig.portMappings[0].containerPort',
  ],
  [
    'an unknown port-mapping protocol (the reference skips the mapping silently)',
    'win-bridge',
    { runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'SECRET-proto' }] } },
    'runtimeConfig.portMappings[0].protocol',
    'SECRET-proto',
  ],
  [
    'a port-mapping hostIP that is no address',
    'win-bridge',
    { runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'udp', hostIP: 'SECRET-host' }] } },
    'runtimeConfig.portMappings[0].hostIP',
    'SECRET-host',
  ],
  [
    'an OutBoundNAT exception (v2)',
    'win-bridge',
    pol({ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', 'SECRET-exc'] } }),
    'policies[0].value.Settings.Exceptions[1]',
    'SECRET-exc',
  ],
  [
    'an ACL remote address',
    'win-bridge',
    acl({ RemoteAddresses: '10.0.0.0/8,SECRET-addr' }),
    'policies[0].value.Settings.RemoteAddresses',
    'SECRET-addr',
  ],
  ['an ACL local port beyond 65535', 'win-bridge', acl({ LocalPorts: '70000' }), 'policies[0].value.Settings.LocalPorts'],
  ['an ACL protocol beyond 255', 'win-bridge', acl({ Protocols: '999' }), 'policies[0].value.Settings.Protocols'],
  ['an ACL action HNS refuses (Pass is TierAcl only)', 'win-bridge', acl({ Action: 'Pass' }), 'policies[0].value.Settings.Action'],
  ['an ACL direction', 'win-bridge', acl({ Direction: 'Sideways' }), 'policies[0].value.Settings.Direction'],
  ['an ACL priority beyond 65535', 'win-bridge', acl({ Priority: 70000 }), 'policies[0].value.Settings.Priority'],
  ['a 1 MB string in an ACL', 'win-bridge', acl({ Id: BIG }), 'policies[0].value', BIG],
  ['an unknown policy type', 'win-bridge', pol({ Type: 'SECRET-type', Settings: {} }), 'policies[0].value.Type', 'SECRET-type'],
  ['a policy value that is no object', 'win-bridge', pol('SECRET-value'), 'policies[0].value', 'SECRET-value'],
  ['an SDN route prefix', 'win-bridge', pol({ Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/33' } }), 'DestinationPrefix'],
  [
    'a v1 ExceptionList entry',
    'win-bridge',
    { apiVersion: 1, ...pol({ Type: 'OutBoundNAT', ExceptionList: ['SECRET-v1'] }) },
    'Exceptions[0]',
    'SECRET-v1',
  ],
  [
    'a v1 ROUTE prefix',
    'win-bridge',
    { apiVersion: 1, ...pol({ Type: 'ROUTE', DestinationPrefix: 'x', NeedEncap: true }) },
    'DestinationPrefix',
  ],
  ['an ipam.type that is a path', 'win-bridge', { ipam: { type: '../../bin/sh' } }, 'ipam.type'],
  ['an endpointMacPrefix that is not hex', 'win-overlay', { endpointMacPrefix: 'zz-zz' }, 'endpointMacPrefix'],
  [
    'an OutBoundNAT exception (switchyard)',
    'switchyard',
    { outboundNatExceptions: ['SECRET-sw'] },
    'outboundNatExceptions[0]',
    'SECRET-sw',
  ],
  ['a network name with a newline', 'switchyard', { network: 'cbr0\n\u001b[31mred' }, 'network'],
  ['a switchyard endpointMacPrefix', 'switchyard', { endpointMacPrefix: 'GG-00' }, 'endpointMacPrefix'],
];

function withOverrides(lab: RelLab, plugin: PluginName, over: Conf): Conf {
  const base = netconf(lab, plugin, 'switchyard-ipam');
  const out: Conf = { ...base, ...over };
  if (over.ipam) out.ipam = { ...(base.ipam as Conf), ...(over.ipam as Conf) };
  return out;
}

describe('network config validation (issue 11, defects 6 and 7)', function () {
  this.timeout(60_000);
  let lab: RelLab;
  let ns: string[];
  before(async () => {
    lab = await makeRelLab();
    ns = await namespaces(lab, 3);
  });
  after(() => lab.cleanup());

  for (const [what, plugin, over, field, value] of BAD) {
    it(`${plugin}: ${what} → code 7 naming ${field}, nothing changed`, async () => {
      const conf = withOverrides(lab, plugin, over);
      const before = snapshot(lab);
      const r = await inProcess(plugin, lab, ADD('v1ctr', conf.apiVersion === 1 ? 'none' : ns[0]), conf);
      assert.equal(r.exitCode, 1, r.stdout);
      const err = JSON.parse(r.stdout) as { code: number; msg: string; details?: string };
      assert.equal(err.code, 7, r.stdout.slice(0, 400));
      assert.ok(`${err.msg} ${err.details ?? ''}`.includes(field), `names ${field}: ${r.stdout.slice(0, 400)}`);
      assert.ok(r.stdout.length < 2000, 'a short message');
      if (value) assert.ok(!r.stdout.includes(value), 'the value is not echoed');
      assert.equal(snapshot(lab), before, 'nothing changed');
    });
  }

  it('accepts every field in HNS format and sends it (a config using them all)', async () => {
    const conf = withOverrides(lab, 'win-bridge', {
      ipMasqNetwork: '10.244.0.0/16',
      dns: {
        nameservers: ['10.96.0.10', 'fd00::a'],
        domain: 'cluster.local.',
        search: ['svc.cluster.local', '_x.example'],
        options: ['ndots:5'],
      },
      runtimeConfig: {
        dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'] },
        portMappings: [
          { hostPort: 8080, containerPort: 80, protocol: 'TCP' },
          { hostPort: 53, containerPort: 53, protocol: '17', hostIP: '10.0.0.4' },
        ],
      },
      policies: [
        { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.0.0.4'] } } },
        {
          name: 'EndpointPolicy',
          value: {
            type: 'acl',
            settings: { Action: 'Allow', Direction: 'In', RemoteAddresses: '10.0.0.0/8', LocalPorts: '80,8000-8080', Priority: 200 },
          },
        },
        { name: 'SomethingElse', value: 'never sent to HNS, not checked' },
      ],
    });
    lab.clearCalls();
    const r = await inProcess('win-bridge', lab, ADD('okctr', ns[1]), conf);
    assert.equal(r.exitCode, 0, r.stdout);
    const create = lab.calls().find((c) => c.op === 'createEndpoint')!;
    const body = create.body as { Policies: { Type: string }[]; Dns: { Options: string[] } };
    assert.deepEqual(
      body.Policies.map((p) => p.Type),
      ['OutBoundNAT', 'acl', 'OutBoundNAT', 'PortMapping', 'PortMapping'],
    );
    assert.deepEqual(body.Dns.Options, ['ndots:5']);
    assert.equal((await inProcess('win-bridge', lab, DEL('okctr', ns[1]), conf)).exitCode, 0);
  });

  it('DEL is not refused for a config that ADD would now refuse (a DEL that fails is retried forever)', async () => {
    const conf = withOverrides(lab, 'switchyard', {});
    assert.equal((await inProcess('switchyard', lab, ADD('delctr', ns[2]), conf)).exitCode, 0);
    const bad = { ...conf, outboundNatExceptions: ['nope'], dns: { nameservers: ['nope'] } };
    const r = await inProcess('switchyard', lab, DEL('delctr', ns[2]), bad);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.ok(!(await endpointsOf(lab, conf)).has('delctr'));
  });

  it('the entrypoint process: secret-looking CNI_ARGS, netconf and runtimeConfig values reach neither stdout nor the log', () => {
    const logFile = path.join(lab.dir, 'validation.log');
    const secrets = ['s3cr3t-ARGS-token', 's3cr3t-netconf-dns', 's3cr3t-runtime-value', 's3cr3t-host-ip', 's3cr3t-policy'];
    const calls: [PluginName, Conf, string][] = [
      ['win-bridge', { dns: { nameservers: [secrets[1]] }, runtimeConfig: { someKey: secrets[2] } }, `K8S_POD_NAME=p;TOKEN=${secrets[0]}`],
      ['win-bridge', { runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: secrets[3] }] } }, ''],
      ['switchyard', { ...pol({ Type: 'ACL', Settings: { Action: 'Allow', Direction: 'In', RemoteAddresses: secrets[4] } }) }, ''],
      // CNI_ARGS that IPAM cannot read: the pair is named by position, not printed.
      ['win-bridge', {}, `IP=${secrets[0]}`],
      ['win-bridge', {}, `K8S_POD_NAME=p;${secrets[0]}`],
      // IPAM fields.
      ['switchyard', { ipam: { routes: [{ dst: secrets[1] }] } }, ''],
      ['switchyard', { ipam: { subnet: secrets[2] } }, ''],
      ['switchyard', { runtimeConfig: { ips: [secrets[3]] } }, ''],
      ['switchyard', { mode: secrets[4] }, ''],
    ];
    for (const [plugin, over, args] of calls) {
      const conf = withOverrides(lab, plugin, over);
      const before = snapshot(lab);
      const r = runSync(plugin, lab, { ...ADD('logctr', ns[0]), CNI_ARGS: args, SWITCHYARD_LOG_FILE: logFile }, conf);
      assert.equal(r.code, 1, r.stdout);
      const err = JSON.parse(r.stdout) as { code: number; msg: string };
      assert.ok(!/\n\s+at /.test(r.stdout), 'no stack trace');
      for (const s of secrets) assert.ok(!r.stdout.includes(s), `stdout echoes ${s}: ${r.stdout}`);
      assert.ok(err.msg.length > 0);
      assert.equal(snapshot(lab), before, `nothing changed (${JSON.stringify(over)})`);
    }
    const log = fs.readFileSync(logFile, 'utf8');
    assert.equal(log.trim().split('\n').length, calls.length, 'one line per call');
    for (const s of secrets) assert.ok(!log.includes(s), `the log echoes ${s}`);
  });
});
