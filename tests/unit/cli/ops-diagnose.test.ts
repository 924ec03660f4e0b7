/**
 * switchyard diagnose: the bundle's contents, secrets redacted (a kubeconfig and a netconf that carry some),
 * the Linux collectors through a fake exec, the Windows PowerShell collector through a fake shell, zip and tar.gz.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../../../src/dataplane/factory';
import { COLLECTORS, WINDOWS_SCRIPTS, type DiagnoseContext } from '../../../src/ops/diagnose/collectors';
import { runDiagnose } from '../../../src/ops/diagnose/run';
import { redactFile, redactText } from '../../../src/ops/diagnose/redact';
import { CliSandbox, tarList } from './helpers';

const SECRETS = ['eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.sig', 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ', 'hunter2', 'etcd-pa55', 'abc.def.ghi'];

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: https://10.0.0.1:6443, certificate-authority-data: Q0EK}
users:
- name: node
  user:
    token: ${SECRETS[0]}
    client-key-data: ${SECRETS[1]}
- name: admin
  user: {username: admin, password: ${SECRETS[2]}}
contexts:
- name: lab
  context: {cluster: lab, user: node}
current-context: lab
`;
const NETCONF = {
  cniVersion: '0.3.0',
  name: 'cbr0',
  plugins: [{ type: 'flannel', delegate: { type: 'win-bridge', etcdPassword: SECRETS[3], kubernetes: { token: SECRETS[4] } } }],
};

describe('cli: diagnose', function () {
  this.timeout(60_000);
  const sb = new CliSandbox();
  let cniDir: string;
  before(() => {
    sb.ok(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.1.0/24']);
    sb.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'pod1']);
    cniDir = path.join(sb.dir, 'net.d');
    fs.mkdirSync(cniDir);
    fs.writeFileSync(path.join(cniDir, '10-flannel.conflist'), JSON.stringify(NETCONF));
    sb.file('kubeconfig', KUBECONFIG);
    sb.file('subnet.env', 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n');
    sb.file(
      'agent.log',
      'x'.repeat(3 * 1024 * 1024) +
        '\n{"level":"info","message":"auth","token":"' +
        SECRETS[0] +
        '"}\nAuthorization: Bearer ' +
        SECRETS[4] +
        '\n',
    );
  });
  after(() => sb.cleanup());

  it('writes a tar.gz with data plane documents, versions, agent, logs (tail), CNI conf, subnet.env and configs, with every secret redacted', () => {
    const r = sb.run([
      'diagnose',
      '-o',
      'bundle.tar.gz',
      '--socket',
      path.join(sb.dir, 'none.sock'),
      '--metrics-url',
      'http://127.0.0.1:1/metrics',
      '--cni-conf-dir',
      cniDir,
      '--subnet-env',
      path.join(sb.dir, 'subnet.env'),
      '--config',
      path.join(sb.dir, 'kubeconfig'),
      '--log',
      path.join(sb.dir, 'agent.log'),
      '--max-log-mb',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^\[1\/\d+\] versions: 1 file$/m);
    assert.match(r.stderr, /data plane documents: 4 files/);
    assert.match(r.stderr, /wrote .*bundle\.tar\.gz/);
    const files = tarList(path.join(sb.dir, 'bundle.tar.gz'));
    for (const f of [
      'versions.json',
      'hns/networks.json',
      'hns/endpoints.json',
      'hns/namespaces.json',
      'hns/loadbalancers.json',
      'agent/status.json',
      'cni/listing.txt',
      'cni/10-flannel.conflist',
    ])
      assert.ok(files.has(f), `${f} in ${[...files.keys()].join(', ')}`);
    assert.match(files.get('hns/endpoints.json')!, /"Name": "pod1"/);
    assert.match(files.get('versions.json')!, /"dataplane": "memory"/);
    assert.match(files.get('agent/status.json')!, /no agent answers/);
    const all = [...files.values()].join('\n');
    for (const s of SECRETS) assert.ok(!all.includes(s), `secret ${s} left in the bundle`);
    const kc = [...files.entries()].find(([k]) => k.endsWith('kubeconfig'))![1];
    assert.match(kc, /token: "?\[redacted\]"?/);
    assert.match(kc, /server: https:\/\/10\.0\.0\.1:6443/, 'non-secrets kept');
    assert.match(files.get('cni/10-flannel.conflist')!, /"etcdPassword": "\[redacted\]"/);
    const log = [...files.entries()].find(([k]) => k.endsWith('agent.log'))![1];
    assert.ok(log.length < 1.1 * 1024 * 1024, 'log cut to its last MiB');
    assert.match(log, /first \d+ bytes cut/);
    assert.match([...files.entries()].find(([k]) => k.endsWith('subnet.env'))![1], /FLANNEL_SUBNET=10\.244\.1\.1\/24/);
  });

  it('writes a zip when asked (.zip)', () => {
    const r = sb.run(['diagnose', '-o', 'bundle.zip', '--socket', path.join(sb.dir, 'none.sock'), '--metrics-url', 'http://127.0.0.1:1/m']);
    assert.equal(r.code, 0, r.stderr);
    const buf = fs.readFileSync(path.join(sb.dir, 'bundle.zip'));
    assert.equal(buf.readUInt32LE(0), 0x04034b50, 'zip local file header');
    assert.ok(buf.includes(Buffer.from('hns/networks.json')));
    assert.equal(sb.run(['diagnose', '-o', 'bundle.rar']).code, 2);
    assert.equal(sb.run(['diagnose', '--max-log-mb', '0']).code, 2);
  });

  it('linux collectors run iproute2 and nft with fixed arguments; only Switchyard tables are dumped', async () => {
    const svc = await openDataplane({ kind: 'memory', statePath: path.join(sb.dir, 'linux-state.json') });
    const calls: string[] = [];
    const ctx: DiagnoseContext = {
      svc,
      platform: 'linux',
      switchyardVersion: 't',
      agentSocket: path.join(sb.dir, 'none.sock'),
      metricsUrl: 'http://127.0.0.1:1/m',
      logFiles: [],
      maxLogBytes: 1024,
      cniConfDir: cniDir,
      subnetEnv: path.join(sb.dir, 'subnet.env'),
      configFiles: [],
      exec: async (file, args) => {
        calls.push([file, ...args].join(' '));
        if (file === 'nft' && args[1] === 'list' && args[2] === 'tables')
          return JSON.stringify({
            nftables: [{ metainfo: {} }, { table: { family: 'inet', name: 'switchyard' } }, { table: { family: 'ip', name: 'filter' } }],
          });
        return `[]`;
      },
    };
    const out = path.join(sb.dir, 'l.tar.gz');
    const lines: string[] = [];
    const res = await runDiagnose(ctx, out, 'tar.gz', (l) => lines.push(l));
    await svc.close();
    assert.deepEqual(res.failed, []);
    assert.ok(calls.includes('ip -j -d link show'));
    assert.ok(calls.includes('ip -j route show table all'));
    assert.ok(calls.includes('bridge -j fdb show'));
    assert.ok(calls.includes('nft list table inet switchyard'));
    assert.ok(!calls.some((c) => c.includes('filter')), 'other tables are not ours');
    assert.ok(res.entries.includes('linux/nft-inet-switchyard.nft'));
    assert.equal(lines.length, COLLECTORS.filter((c) => c.applies(ctx)).length + 1, 'a progress line per step');
  });

  it('on Windows the collectlogs outputs come through the PowerShell route (fake shell); a failing script is recorded', async () => {
    const svc = await openDataplane({ kind: 'memory', statePath: path.join(sb.dir, 'win-state.json') });
    const scripts: string[] = [];
    const ctx: DiagnoseContext = {
      svc,
      platform: 'win32',
      switchyardVersion: 't',
      agentSocket: path.join(sb.dir, 'none.sock'),
      metricsUrl: 'http://127.0.0.1:1/m',
      logFiles: [],
      maxLogBytes: 1024,
      cniConfDir: path.join(sb.dir, 'absent'),
      subnetEnv: path.join(sb.dir, 'subnet.env'),
      configFiles: [],
      shell: {
        invoke: async (s) => {
          scripts.push(s);
          if (s.startsWith('hnsdiag')) throw new Error('hnsdiag: not found');
          return `output of ${s.split(' ')[0]} Authorization: Bearer ${SECRETS[0]}\n`;
        },
      },
    };
    const out = path.join(sb.dir, 'w.zip');
    const res = await runDiagnose(ctx, out, 'zip', () => {});
    await svc.close();
    assert.deepEqual(
      scripts,
      WINDOWS_SCRIPTS.map(([, s]) => s),
    );
    assert.ok(scripts.includes('vfpctrl /list-vmswitch-port'));
    assert.ok(res.entries.includes('windows/hns-networks.json'));
    assert.ok(res.entries.includes('windows/hnsdiag.txt.error.txt'));
    assert.ok(!res.entries.some((e) => e.startsWith('linux/')), 'no Linux collectors on Windows');
    assert.ok(
      !fs.readFileSync(out).includes(Buffer.from(SECRETS[0])),
      'redacted (zip entries are deflated or stored: both checked by absence)',
    );
  });

  it('redaction: JSON, YAML, text lines, bearer tokens and PEM private keys', () => {
    assert.equal(redactText('password=hunter2 user=bob'), 'password=[redacted] user=bob');
    assert.equal(redactText('"token": "abc"'), '"token": "[redacted]"');
    assert.equal(redactText('curl -H "Authorization: Bearer abc.def"'), 'curl -H "Authorization: Bearer [redacted]"');
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----';
    assert.ok(!redactText(pem).includes('MIIEow'));
    assert.deepEqual(JSON.parse(redactFile('x.json', '{"a":{"clientKeyData":"k","ok":1}}')), { a: { clientKeyData: '[redacted]', ok: 1 } });
    assert.ok(!redactFile('k.yaml', KUBECONFIG).includes(SECRETS[0]));
    void os;
  });
});
