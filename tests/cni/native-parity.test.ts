/**
 * Byte-for-byte parity of the three routes (docs/cni.md "Routes"): the same corpus of CNI calls — every CNI
 * version, every plugin, delegated and in-process IPAM, the skel's error cases — run in order against three
 * identically prepared labs, once per route. stdout, stderr and exit codes must be identical.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, createNamespace, createV1Network, makeLab, type CniEnv, type Lab } from './helpers';
import { INSTALL, ROUTES, routeRunner, type Route } from './native-routes';

const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const PLUGINS = ['win-bridge', 'win-overlay', 'switchyard', 'switchyard-ipam'];

interface Case {
  name: string;
  plugin: string;
  cni: CniEnv;
  stdin: string | object;
}

/** libcni's stdin for one plugin of a shipped conflist. */
function manifest(file: string, ipamDir: string, version?: string): Record<string, unknown> {
  const list = JSON.parse(fs.readFileSync(path.join(ROOT, 'manifests/cni', file), 'utf8'));
  const p = { ...list.plugins[0], cniVersion: version ?? list.cniVersion, name: list.name };
  p.ipam = { ...p.ipam, dataDir: ipamDir };
  return p;
}

function corpus(lab: Lab, ns: string): Case[] {
  const cniPath = `${BIN}:/usr/lib/cni`;
  const env = (cmd: string, id: string, netns = ns): CniEnv => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: id,
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: cniPath,
  });
  const cases: Case[] = [];
  for (const p of PLUGINS) {
    cases.push({ name: `${p} VERSION`, plugin: p, cni: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion":"0.3.1"}' });
    cases.push({ name: `${p} about`, plugin: p, cni: {}, stdin: '' });
  }
  const bridge = (v: string, apiVersion: number) => ({
    cniVersion: v,
    name: 'cbr0',
    type: 'win-bridge',
    apiVersion,
    ipMasqNetwork: '10.244.0.0/16',
    ipam: { type: 'switchyard-ipam', subnet: '10.244.1.0/24', dataDir: lab.ipamDir },
  });
  cases.push({ name: 'missing variables', plugin: 'win-bridge', cni: { CNI_COMMAND: 'ADD' }, stdin: bridge('1.0.0', 2) });
  cases.push({ name: 'bad JSON', plugin: 'win-bridge', cni: env('ADD', 'p-bad'), stdin: '{"cniVersion":' });
  cases.push({ name: 'bad network name', plugin: 'win-bridge', cni: env('ADD', 'p-bad'), stdin: { ...bridge('1.0.0', 2), name: 'a b' } });
  cases.push({
    name: 'bad ifname',
    plugin: 'win-bridge',
    cni: { ...env('ADD', 'p-bad'), CNI_IFNAME: 'x'.repeat(16) },
    stdin: bridge('1.0.0', 2),
  });
  cases.push({ name: 'bad container id', plugin: 'win-bridge', cni: env('ADD', 'a/b'), stdin: bridge('1.0.0', 2) });
  cases.push({ name: 'unknown command', plugin: 'win-bridge', cni: env('FROB', 'p-bad'), stdin: bridge('1.0.0', 2) });
  cases.push({ name: 'unsupported version', plugin: 'win-bridge', cni: env('ADD', 'p-bad'), stdin: bridge('9.9.9', 2) });
  cases.push({ name: 'unknown network', plugin: 'win-bridge', cni: env('ADD', 'p-bad'), stdin: { ...bridge('1.0.0', 2), name: 'nope' } });
  cases.push({
    name: 'non-ASCII and escapes in stdin',
    plugin: 'win-bridge',
    cni: env('ADD', 'p-bad'),
    stdin: `{"cniVersion":"1.0.0","name":"cbr0\\u00e9 ✓","type":"win-bridge"}`,
  });
  for (const v of VERSIONS) {
    for (const api of [1, 2]) {
      const id = `p${v.replace(/\./g, '')}v${api}`;
      const netns = api === 2 ? ns : 'none';
      cases.push({ name: `win-bridge v${api} ${v} ADD`, plugin: 'win-bridge', cni: env('ADD', id, netns), stdin: bridge(v, api) });
      cases.push({ name: `win-bridge v${api} ${v} CHECK`, plugin: 'win-bridge', cni: env('CHECK', id, netns), stdin: bridge(v, api) });
      cases.push({
        name: `win-bridge v${api} ${v} STATUS`,
        plugin: 'win-bridge',
        cni: { ...env('STATUS', id, netns) },
        stdin: bridge(v, api),
      });
      cases.push({ name: `win-bridge v${api} ${v} DEL`, plugin: 'win-bridge', cni: env('DEL', id, netns), stdin: bridge(v, api) });
      cases.push({ name: `win-bridge v${api} ${v} DEL again`, plugin: 'win-bridge', cni: env('DEL', id, netns), stdin: bridge(v, api) });
    }
    const ipam = {
      cniVersion: v,
      name: 'cbr0',
      type: 'switchyard-ipam',
      ipam: { type: 'switchyard-ipam', subnet: '10.244.9.0/24', dataDir: lab.ipamDir },
    };
    for (const cmd of ['ADD', 'CHECK', 'GC', 'STATUS', 'DEL']) {
      cases.push({
        name: `switchyard-ipam ${v} ${cmd}`,
        plugin: 'switchyard-ipam',
        cni: env(cmd, `i${v.replace(/\./g, '')}`),
        stdin: ipam,
      });
    }
  }
  for (const [file, plugin] of [
    ['10-win-bridge.conflist', 'win-bridge'],
    ['10-win-overlay.conflist', 'win-overlay'],
    ['10-switchyard-l2bridge.conflist', 'switchyard'],
    ['10-switchyard-overlay.conflist', 'switchyard'],
  ] as const) {
    // The shipped conflists delegate IPAM to Debian's host-local (an exec from the agent too).
    for (const cmd of ['ADD', 'CHECK', 'DEL']) {
      cases.push({ name: `${file} ${cmd}`, plugin, cni: env(cmd, `m${file.length}${plugin.length}`), stdin: manifest(file, lab.ipamDir) });
    }
  }
  // A delegated IPAM plugin that talks on stderr: the agent must hand its stderr back with the reply.
  const fakeBin = path.join(lab.dir, 'fakebin');
  fs.mkdirSync(fakeBin, { recursive: true });
  fs.writeFileSync(
    path.join(fakeBin, 'chatty-ipam'),
    [
      '#!/bin/sh',
      'cat >/dev/null',
      'echo "chatty-ipam: $CNI_COMMAND for $CNI_CONTAINERID" >&2',
      'if [ "$CNI_COMMAND" = ADD ]; then echo \'{"cniVersion":"1.0.0","ips":[{"address":"10.244.1.77/24","gateway":"10.244.1.1"}]}\'; fi',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const chatty = { ...bridge('1.0.0', 2), ipam: { type: 'chatty-ipam' } };
  for (const cmd of ['ADD', 'DEL']) {
    cases.push({
      name: `delegated IPAM with stderr ${cmd}`,
      plugin: 'win-bridge',
      cni: { ...env(cmd, 'p-chatty'), CNI_PATH: `${BIN}:${fakeBin}` },
      stdin: chatty,
    });
  }
  cases.push({
    name: 'delegated IPAM missing from CNI_PATH',
    plugin: 'win-bridge',
    cni: { ...env('ADD', 'p-noipam'), CNI_PATH: BIN },
    stdin: { ...bridge('1.0.0', 2), ipam: { type: 'no-such-ipam', subnet: '10.244.1.0/24' } },
  });
  return cases;
}

interface Outcome {
  name: string;
  code: number;
  stdout: string;
  stderr: string;
}

async function runCorpus(route: Route): Promise<Outcome[]> {
  const lab = makeLab();
  const runner = await routeRunner(route, lab, INSTALL);
  try {
    await createV1Network(lab, {
      Name: 'cbr0',
      Type: 'L2Bridge',
      Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }],
    });
    await createV1Network(lab, {
      Name: 'vxlan0',
      Type: 'Overlay',
      Subnets: [{ AddressPrefix: '10.244.2.0/24', GatewayAddress: '10.244.2.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
    });
    const ns = await createNamespace(lab);
    const out: Outcome[] = [];
    for (const c of corpus(lab, ns)) {
      const r = await runner.run(c.plugin, lab, c.cni, c.stdin);
      // The labs differ only in their directory and namespace GUID, which some outputs name, and in the
      // MACs the emulated HNS v1 draws at random for its endpoints.
      const norm = (s: string) =>
        s
          .split(lab.dir)
          .join('<lab>')
          .split(ns)
          .join('<ns>')
          .replace(/00-15-5D(-[0-9A-F]{2}){3}/g, '<hns-mac>');
      out.push({ name: c.name, code: r.code, stdout: norm(r.stdout), stderr: norm(r.stderr) });
    }
    return out;
  } finally {
    await runner.close();
    lab.cleanup();
  }
}

describe('native entrypoint: byte-for-byte parity of the three routes', function () {
  this.timeout(300_000);
  const results: Partial<Record<Route, Outcome[]>> = {};

  before(async function () {
    if (!fs.existsSync(path.join(INSTALL, 'win-bridge'))) this.skip();
    for (const route of ROUTES) results[route] = await runCorpus(route);
  });

  it('the corpus exercises successes and failures', () => {
    const node = results.node!;
    assert.ok(node.filter((o) => o.code === 0).length >= 40, 'successful calls');
    assert.ok(node.filter((o) => o.code !== 0).length >= 15, 'failing calls');
    assert.ok(node.some((o) => o.name.includes('conflist ADD') && o.code === 0 && JSON.parse(o.stdout).ips.length === 1));
    assert.equal(node.find((o) => o.name === 'delegated IPAM with stderr ADD')?.stderr, 'chatty-ipam: ADD for p-chatty\n');
  });

  for (const route of ['agent', 'fallback'] as const) {
    it(`native → ${route} prints what the Node entrypoint prints, call by call`, () => {
      const node = results.node!;
      const other = results[route]!;
      assert.equal(other.length, node.length);
      for (let i = 0; i < node.length; i++) assert.deepEqual(other[i], node[i], `case ${node[i].name}`);
    });
  }
});
