/**
 * kubectl habits, second part: --ignore-not-found on every per-object delete, names instead of GUIDs in
 * tables (JSON unchanged), numeric flags checked against the limits their --help states, and the wording
 * of every --dry-run (nothing changed, and the output says so).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { CliSandbox } from './helpers';

describe('cli: --ignore-not-found, names in tables, numeric limits, dry-run wording', function () {
  this.timeout(120_000);
  const sb = new CliSandbox();
  after(() => sb.cleanup());

  before(() => {
    sb.ok(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.1.0/24']);
    sb.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'cbr0_ep', '--ip', '10.244.1.2', '--host']);
    sb.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'web-1', '--ip', '10.244.1.10']);
    sb.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'web-2', '--ip', '10.244.1.11']);
    sb.ok([
      'lb',
      'create',
      '--name',
      'web',
      '--vip',
      '10.96.0.20',
      '--protocol',
      'tcp',
      '--port',
      '80',
      '--target-port',
      '8080',
      '--endpoint',
      'web-1',
      'web-2',
    ]);
    sb.ok(['namespace', 'create', '--name', 'pod-web-1']);
    sb.ok(['namespace', 'attach', 'pod-web-1', 'web-1']);
  });

  describe('--ignore-not-found', () => {
    for (const kind of ['network', 'endpoint', 'lb', 'namespace']) {
      it(`${kind} delete: absent → exit 1 with a not-found message; with the flag exit 0 and no output`, () => {
        const r = sb.run([kind, 'delete', 'nope']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /no (network|endpoint|load balancer|namespace) named or with ID "nope"/);
        assert.equal(r.stdout, '');
        const i = sb.run([kind, 'delete', 'nope', '--ignore-not-found']);
        assert.deepEqual([i.code, i.stdout, i.stderr], [0, '', '']);
      });
    }

    it('deletes what exists and skips what does not; without the flag one absent name deletes nothing', () => {
      sb.ok(['network', 'create', '--type', 'NAT', '--name', 'gone-soon']);
      const r = sb.run(['network', 'delete', 'gone-soon', 'nope']);
      assert.equal(r.code, 1);
      assert.match(sb.ok(['network', 'list', '-o', 'name']), /network\/gone-soon/);
      const i = sb.run(['network', 'delete', 'nope', 'gone-soon', '--ignore-not-found']);
      assert.equal(i.code, 0, i.stderr);
      assert.match(i.stdout, /^network gone-soon [0-9A-F-]{36} deleted\n$/);
      assert.doesNotMatch(sb.ok(['network', 'list', '-o', 'name']), /gone-soon/);
    });

    it('network|endpoint policy remove on an absent object: exit 1, or 0 and silent with the flag', () => {
      const pol = '{"Type":"HostRoute","Settings":{}}';
      for (const kind of ['network', 'endpoint']) {
        const p = kind === 'network' ? pol : '{"Type":"OutBoundNAT","Settings":{}}';
        assert.equal(sb.run([kind, 'policy', 'remove', 'nope', '--policy', p]).code, 1);
        const i = sb.run([kind, 'policy', 'remove', 'nope', '--policy', p, '--ignore-not-found']);
        assert.deepEqual([i.code, i.stdout, i.stderr], [0, '', '']);
      }
    });
  });

  describe('tables show names, not GUIDs, where a name exists', () => {
    it("an endpoint's network and namespace; -o wide adds the IDs; JSON keeps the GUIDs", () => {
      const eps = JSON.parse(sb.ok(['endpoint', 'list', '-o', 'json'])) as {
        Name: string;
        HostComputeNamespace?: string;
        HostComputeNetwork: string;
      }[];
      const web1 = eps.find((e) => e.Name === 'web-1')!;
      const host = eps.find((e) => e.Name === 'cbr0_ep')!;
      assert.match(web1.HostComputeNamespace!, /^[0-9A-F-]{36}$/i);
      assert.match(host.HostComputeNamespace!, /^[0-9A-F-]{36}$/i, 'the host namespace is a GUID in JSON, HostDefault in the table');
      assert.match(web1.HostComputeNetwork, /^[0-9A-F-]{36}$/i);
      const table = sb.ok(['endpoint', 'list']);
      assert.match(table, /^\S+ +web-1 +cbr0 +10\.244\.1\.10\/24 +\S+ +pod-web-1 +-$/m);
      assert.match(table, /^\S+ +cbr0_ep +cbr0 +10\.244\.1\.2\/24 +\S+ +HostDefault +-$/m);
      assert.doesNotMatch(
        table.split('\n').slice(1).join('\n').replace(/^\S+/gm, ''),
        /[0-9A-F]{8}-[0-9A-F]{4}/i,
        'no GUID but the ID column',
      );
      const wide = sb.ok(['endpoint', 'get', 'web-1', '-o', 'wide']);
      assert.match(wide.split('\n')[0], /NAMESPACE +POLICIES +POLICY TYPES +NETWORK ID +NAMESPACE ID$/);
      assert.ok(wide.includes(`${web1.HostComputeNetwork}  ${web1.HostComputeNamespace}`), wide);
    });

    it("a load balancer's backends and a namespace's endpoints by name", () => {
      assert.match(sb.ok(['lb', 'get', 'web']), /^\S+ +web +10\.96\.0\.20 +tcp\/80->8080 +web-1,web-2 +-$/m);
      assert.match(sb.ok(['namespace', 'get', 'pod-web-1']), /^\S+ +pod-web-1 +Host +\d+ +web-1$/m);
      const lb = JSON.parse(sb.ok(['lb', 'get', 'web', '-o', 'json'])) as { HostComputeEndpoints: string[] };
      assert.ok(lb.HostComputeEndpoints.every((id) => /^[0-9A-F-]{36}$/i.test(id)));
    });
  });

  describe('numeric flags: limits in --help, out of range → exit 2 naming the flag and the range', () => {
    const cases: { argv: string[]; help: string[]; flag: string; range: string }[] = [
      {
        argv: ['network', 'create', '--type', 'Overlay', '--name', 'o', '--subnet', '10.9.0.0/24', '--vni', '100'],
        help: ['network', 'create'],
        flag: '--vni',
        range: '4096..16777215',
      },
      {
        argv: ['network', 'create', '--type', 'Overlay', '--name', 'o', '--subnet', '10.9.0.0/24', '--vni', '16777216'],
        help: ['network', 'create'],
        flag: '--vni',
        range: '4096..16777215',
      },
      {
        argv: ['lb', 'create', '--vip', '10.96.0.1', '--protocol', 'tcp', '--port', '0', '--target-port', '80', '--endpoint', 'web-1'],
        help: ['lb', 'create'],
        flag: '--port',
        range: '1..65535',
      },
      {
        argv: ['lb', 'create', '--vip', '10.96.0.1', '--protocol', 'tcp', '--port', '80', '--target-port', '65536', '--endpoint', 'web-1'],
        help: ['lb', 'create'],
        flag: '--target-port',
        range: '1..65535',
      },
      { argv: ['lab', 'demo', '--nodes', '51'], help: ['lab', 'demo'], flag: '--nodes', range: '1..50' },
      { argv: ['lab', 'demo', '--pods', 'many'], help: ['lab', 'demo'], flag: '--pods', range: '0..200' },
      { argv: ['lab', 'up', '--nodes', '0', '--dry-run'], help: ['lab', 'up'], flag: '--nodes', range: '1..50' },
      { argv: ['diagnose', '--max-log-mb', '2048', '-o', 'x.tar.gz'], help: ['diagnose'], flag: '--max-log-mb', range: '1..1024' },
      { argv: ['diagram', '--width', '50', '-o', 'x.png'], help: ['diagram'], flag: '--width', range: '100..10000' },
      {
        argv: ['service', 'install', '--config', 'x.yaml', '--stop-timeout', '601', '--root', '.'],
        help: ['service', 'install'],
        flag: '--stop-timeout',
        range: '1..600',
      },
    ];
    for (const c of cases) {
      it(`${c.argv.slice(0, 2).join(' ')} ${c.flag} ${c.argv[c.argv.indexOf(c.flag) + 1]}`, () => {
        if (c.argv.includes('x.yaml')) sb.file('x.yaml', 'node: n\n');
        const before = fs.readFileSync(sb.state, 'utf8');
        const r = sb.run(c.argv);
        assert.equal(r.code, 2, r.stderr);
        assert.ok(r.stderr.includes(`${c.flag}: "`) && r.stderr.includes(c.range), r.stderr);
        assert.equal(fs.readFileSync(sb.state, 'utf8'), before, 'nothing changed');
        const help = sb.ok([...c.help, '--help']);
        const line = help.split('\n').find((l) => l.trimStart().startsWith(`${c.flag} `)) ?? '';
        assert.ok(
          line.includes(c.range) || help.split(c.flag)[1]?.split('\n  -')[0]?.includes(c.range),
          `${c.help.join(' ')} --help: ${c.flag}\n${help}`,
        );
      });
    }
  });

  describe('--dry-run says what it would do and does nothing', () => {
    const snapshot = () => fs.readFileSync(sb.state, 'utf8');

    it('create (table and -o name): "kind/name created (dry run)"; -o json: the document', () => {
      const before = snapshot();
      const t = sb.run(['--dry-run', 'network', 'create', '--type', 'NAT', '--name', 'dry']);
      assert.match(t.stdout, /^network\/dry created \(dry run\)\n# dry run: 1 call would be made, none was\n# 1\. HcnCreateNetwork\n/);
      const e = sb.run(['endpoint', 'create', '--network', 'cbr0', '--name', 'dry-ep', '--dry-run']);
      assert.match(e.stdout, /^endpoint\/dry-ep created \(dry run\)\n/);
      const l = sb.run([
        'lb',
        'create',
        '--vip',
        '10.96.0.9',
        '--protocol',
        'udp',
        '--port',
        '53',
        '--target-port',
        '53',
        '--endpoint',
        'web-1',
        '--dry-run',
      ]);
      assert.match(l.stdout, /^lb\/10\.96\.0\.9:53 created \(dry run\)\n/);
      const n = sb.run(['namespace', 'create', '--name', 'dry-ns', '--dry-run']);
      assert.match(n.stdout, /^namespace\/dry-ns created \(dry run\)\n/);
      const j = sb.run(['network', 'create', '--type', 'NAT', '--name', 'dry', '-o', 'json', '--dry-run']);
      assert.match(j.stdout, /^\{\n {2}"Name": "dry"/);
      assert.equal(snapshot(), before);
    });

    it('per-object delete: "... deleted (dry run)" and the object stays', () => {
      const before = snapshot();
      for (const [kind, name, word] of [
        ['lb', 'web', 'load balancer'],
        ['namespace', 'pod-web-1', 'namespace'],
        ['endpoint', 'web-2', 'endpoint'],
        ['network', 'cbr0', 'network'],
      ]) {
        const r = sb.run(['--dry-run', kind, 'delete', name]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          new RegExp(`^${word} ${name} [0-9A-F-]{36} deleted \\(dry run\\)\\n# dry run: 1 call would be made, none was\\n`),
        );
      }
      assert.equal(snapshot(), before);
    });

    it('policy add/remove, attach/detach: "configured (dry run)", "attached to ... (dry run)"', () => {
      const before = snapshot();
      const p = sb.run(['--dry-run', 'network', 'policy', 'add', 'cbr0', '--policy', '{"Type":"HostRoute","Settings":{}}']);
      assert.match(p.stdout, /^network\/cbr0 configured \(dry run\): 1 policy would be added\n# dry run: 1 call/);
      const ep = sb.run(['--dry-run', 'endpoint', 'policy', 'add', 'web-2', '--policy', '{"Type":"OutBoundNAT","Settings":{}}']);
      assert.match(ep.stdout, /^endpoint\/web-2 configured \(dry run\): 1 policy would be added\n/);
      const a = sb.run(['--dry-run', 'namespace', 'attach', 'pod-web-1', 'web-2']);
      assert.match(a.stdout, /^endpoint web-2 attached to namespace pod-web-1 [0-9A-F-]{36} \(dry run\)\n/);
      assert.equal(snapshot(), before);
    });

    it('reads under --dry-run print only what they read (JSON and SVG stay whole)', () => {
      assert.ok(Array.isArray(JSON.parse(sb.ok(['--dry-run', 'network', 'list', '-o', 'json']))));
      assert.match(sb.ok(['--dry-run', 'diagram', '--no-agent']), /<\/svg>\n?$/);
      // A mutating command that would change nothing still says so.
      const same = sb.ok(['--dry-run', 'apply', '-f', sb.file('same.yaml', 'Name: cbr0\nType: L2Bridge\n'), '--no-headers']);
      assert.match(same, /^Network +cbr0 +[0-9A-F-]{36} +unchanged \(dry run\)\n# dry run: no change would be made\n$/);
    });

    it('apply and delete -f: every result says (dry run)', () => {
      const f = sb.file('more.yaml', 'Name: more\nType: NAT\n');
      const before = snapshot();
      const a = sb.run(['apply', '-f', f, '--dry-run']);
      assert.match(a.stdout, /^Network +more +[0-9A-F-]{36} +created \(dry run\)$/m);
      assert.equal(snapshot(), before);
      sb.ok(['apply', '-f', f]);
      const mid = snapshot();
      const d = sb.run(['delete', '-f', f, '--dry-run', '--no-headers']);
      assert.match(d.stdout, /^Network +more +[0-9A-F-]{36} +deleted \(dry run\)$/m);
      assert.doesNotMatch(d.stdout, /deleted$/m);
      assert.equal(snapshot(), mid);
    });
  });
});

describe('cli: --dry-run of lab up|down and agent changes nothing on disk or in the data plane', function () {
  this.timeout(120_000);
  const sb = new CliSandbox();
  after(() => sb.cleanup());
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const labDirs = (prefix: string) =>
    fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`sy-lab-${prefix}-`) || f === `switchyard-lab-${prefix}.json`);
  const netns = () => (fs.existsSync('/var/run/netns') ? fs.readdirSync('/var/run/netns').filter((n) => n.startsWith('sydry')) : []);

  it('lab up --dry-run (agents): the namespaces, links, store, agent configs and pods it would make; nothing made', () => {
    const r = sb.run(['lab', 'up', '--dry-run', '--prefix', 'sydry', '--nodes', '2', '--pods', '1', '--subnet-source', 'kubernetes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# dry run: lab up --prefix sydry would do the following; nothing was done\n/);
    assert.match(r.stdout, /^namespace sydry-n1: veth u1 on the bridge ↔ eth0 192\.168\.77\.11\/24/m);
    assert.match(r.stdout, /^start the fake API server on 127\.0\.0\.1/m);
    assert.match(r.stdout, /^ {4}subnetSource: kubernetes$/m);
    assert.match(r.stdout, /^start agent sydry-n0: .*network flannel\.4096 \(Overlay\) for 10\.244\.1\.0\/24/m);
    assert.match(r.stdout, /^pod sydry-n1-p0: namespace sydry-n1-p0, CNI ADD/m);
    assert.deepEqual(labDirs('sydry'), []);
    assert.deepEqual(netns(), []);
  });

  it('lab up --no-agents --dry-run prints the HCN calls and documents each node would get', () => {
    const r = sb.run(['lab', 'up', '--dry-run', '--no-agents', '--prefix', 'sydry', '--nodes', '2', '--pods', '1', '--type', 'l2bridge']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# 1\. HcnCreateNetwork \(linux data plane in sydry-n0\)\n\{\n {2}"Name": "sydry-l2bridge"/m);
    assert.match(r.stdout, /^# 3\. HcnModifyNetwork \(sydry-n0\)\n/m);
    assert.match(r.stdout, /"DestinationPrefix": "10\.244\.2\.0\/24"/);
    assert.match(r.stdout, /HcnCreateEndpoint \(sydry-n1\)\n\{\n {2}"Name": "sydry-n1-p0"/);
    assert.deepEqual(labDirs('sydry'), []);
    assert.deepEqual(netns(), []);
  });

  it('lab down --dry-run: what it would stop and remove, from the record; the record stays', () => {
    const file = path.join(os.tmpdir(), 'switchyard-lab-sydrydown.json');
    const rec = {
      spec: { prefix: 'sydrydown', nodes: 1, podsPerNode: 0, type: 'Overlay' },
      namespaces: ['sydrydown-sw', 'sydrydown-n0'],
      stateDir: path.join(os.tmpdir(), 'sy-lab-sydrydown-abc'),
      processes: [{ name: 'etcd', pid: 999999, startTime: '1', log: '/dev/null' }],
    };
    fs.writeFileSync(file, JSON.stringify(rec));
    try {
      const r = sb.run(['--dry-run', 'lab', 'down', '--prefix', 'sydrydown']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        [
          '# dry run: lab down --prefix sydrydown would do the following; nothing was done',
          'etcd (pid 999999) is not running any more',
          'delete namespace sydrydown-n0 (and every link, route and nft table in it)',
          'delete namespace sydrydown-sw (and every link, route and nft table in it)',
          `remove ${rec.stateDir}`,
          `remove ${file}`,
          '',
        ].join('\n'),
      );
      assert.ok(fs.existsSync(file));
      assert.equal(sb.run(['--dry-run', 'lab', 'down', '--prefix', 'nosuchlab']).code, 2);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('agent --dry-run: the reconcile steps and HCN documents of its first pass, the files it would write; nothing written', () => {
    const nc = sb.file('net-conf.json', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096}}');
    const peers = sb.file(
      'agent.yaml',
      "peers:\n  - {node: n2, subnet: 10.244.2.0/24, publicIP: 192.168.0.12, backendType: vxlan, vni: 4096, vtepMAC: '0e:5a:c0:a8:00:0c'}\n",
    );
    const confDir = path.join(sb.dir, 'net.d');
    const subnetEnv = path.join(sb.dir, 'subnet.env');
    sb.ok(['network', 'create', '--type', 'NAT', '--name', 'other']); // the state file exists before
    const before = fs.readFileSync(sb.state, 'utf8');
    const r = sb.run([
      '--dry-run',
      'agent',
      '--config',
      peers,
      '--node',
      'n1',
      '--pod-cidr',
      '10.244.1.0/24',
      '--public-ip',
      '192.168.0.11',
      '--net-conf',
      nc,
      '--cni-conf-dir',
      confDir,
      '--cni-bin-dir',
      '',
      '--subnet-env',
      subnetEnv,
      '--socket',
      path.join(sb.dir, 'agent.sock'),
      '--metrics-address',
      '127.0.0.1:0',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# dry run: agent n1 would do the following; nothing was done\n/);
    assert.match(r.stdout, /^peer n2 10\.244\.2\.0\/24: programmed$/m);
    assert.match(r.stdout, /^step: create Network\/flannel\.4096: /m);
    assert.match(r.stdout, new RegExp(`^write the CNI conflist ${confDir}/`, 'm'));
    assert.match(r.stdout, new RegExp(`^write ${subnetEnv}$`, 'm'));
    assert.match(r.stdout, /# \d+\. HcnCreateNetwork\n\{\n {2}"Name": "flannel\.4096"/);
    assert.match(r.stdout, /"Type": "RemoteSubnetRoute",\n\s+"Settings": \{\n\s+"DestinationPrefix": "10\.244\.2\.0\/24"/);
    assert.equal(fs.readFileSync(sb.state, 'utf8'), before, 'the data plane is unchanged');
    assert.ok(!fs.existsSync(confDir) && !fs.existsSync(subnetEnv) && !fs.existsSync(path.join(sb.dir, 'agent.sock')));
  });
});
