/** `switchyard agent` as a process: bad configuration exits 2 naming the field; SIGTERM stops it cleanly. */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

function run(args: string[], env: NodeJS.ProcessEnv): { code: number; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: r.status ?? -1, stderr: r.stderr };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('switchyard agent (process)', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-agent-cli-'));
  const env = { SWITCHYARD_DATAPLANE: 'memory', SWITCHYARD_STATE: path.join(dir, 'hns.json') };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };

  const cases: [string, string[], RegExp][] = [
    [
      'a VNI that is not a number',
      [
        '--net-conf',
        write('bad-vni.json', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":"x"}}'),
        '--pod-cidr',
        '10.244.1.0/24',
      ],
      /--net-conf\.Backend\.VNI: must be an integer/,
    ],
    [
      'an unknown backend',
      ['--net-conf', write('bad-type.json', '{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}'), '--pod-cidr', '10.244.1.0/24'],
      /--net-conf\.Backend\.Type: "udp" is not supported/,
    ],
    [
      'a pod CIDR outside the Network',
      ['--net-conf', write('ok.json', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'), '--pod-cidr', '10.9.1.0/24'],
      /--pod-cidr: 10\.9\.1\.0\/24 is not inside the cluster Network/,
    ],
    ['a missing pod CIDR (static)', ['--net-conf', path.join(dir, 'ok.json')], /--pod-cidr: is required with the static subnet source/],
    [
      'a bad peer in the config file',
      [
        '--config',
        write(
          'bad-peer.yaml',
          'netConf: {Network: 10.244.0.0/16}\npodCIDR: 10.244.1.0/24\npeers:\n  - {node: n2, subnet: 10.244.2.0/24, publicIP: 300.1.1.1}\n',
        ),
      ],
      /peers\[0\]\.publicIP: "300\.1\.1\.1" is not an IPv4 address/,
    ],
    [
      'an unknown setting',
      ['--config', write('unknown.yaml', 'netConf: {Network: 10.244.0.0/16}\npodCIDR: 10.244.1.0/24\npodCidr: typo\n')],
      /podCidr: unknown setting/,
    ],
  ];
  cases.push([
    'the etcd source without endpoints',
    ['--net-conf', path.join(dir, 'ok.json'), '--subnet-source', 'etcd'],
    /--etcd-endpoints: is required with the etcd subnet source/,
  ]);
  cases.push([
    'an etcd endpoint that is not a URL',
    ['--net-conf', path.join(dir, 'ok.json'), '--subnet-source', 'etcd', '--etcd-endpoints', 'etcd:2379'],
    /--etcd-endpoints: "etcd:2379" is not an http\(s\) URL/,
  ]);
  for (const [what, args, message] of cases) {
    it(`${what}: exit 2 naming the field, nothing created`, () => {
      const r = run(['agent', '--public-ip', '192.168.0.10', '--metrics-address', '', '--socket', '', '--subnet-env', '', ...args], env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(fs.existsSync(env.SWITCHYARD_STATE), false, 'the data plane was touched');
    });
  }

  it('runs until SIGTERM: /healthz, /readyz and /metrics answer; exit 0; the network stays', async () => {
    const cfg = write(
      'agent.yaml',
      [
        'node: n1',
        'podCIDR: 10.244.1.0/24',
        'publicIP: 192.168.0.10',
        'metricsAddress: 127.0.0.1:0',
        `socket: ${dir}/agent.sock`,
        `subnetEnv: ${dir}/subnet.env`,
        'netConf: {Network: 10.244.0.0/16, Backend: {Type: vxlan}}',
        `cni: {confDir: ${dir}/net.d, binDir: '', ipamDataDir: ${dir}/ipam}`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, [MAIN, 'agent', '--config', cfg], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    try {
      for (let i = 0; i < 400 && !/"agent ready"/.test(out); i++) await new Promise((r) => setTimeout(r, 25));
      const address = /"metrics":"([^"]+)"/.exec(out)?.[1];
      assert.ok(address && /"agent ready"/.test(out), out);
      assert.deepEqual(await get(`http://${address}/healthz`), { status: 200, body: 'ok\n' });
      assert.deepEqual(await get(`http://${address}/readyz`), { status: 200, body: 'ok\n' });
      const m = await get(`http://${address}/metrics`);
      assert.match(m.body, /switchyard_agent_reconciles_total\{result="ok"\} 1/);
      assert.match(m.body, /switchyard_agent_cni_call_duration_seconds/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      assert.match(out, /"agent stopped"/);
      const state = fs.readFileSync(env.SWITCHYARD_STATE, 'utf8');
      assert.match(state, /flannel\.4096/, 'stopping removed the network');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
