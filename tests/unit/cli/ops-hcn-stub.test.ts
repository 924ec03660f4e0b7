/**
 * Issue 16 point 5: the operator tools on the hcn data plane, through the FFI binding over the stub library
 * (state shared through HCNSTUB_STATE_FILE, so every CLI process sees the objects another one created):
 * `status` reads the data plane, `diagram` labels what HCN reports, `diagnose` bundles the HCN documents and
 * says which data plane it read, `--dry-run` and `--ignore-not-found` behave as on the emulator.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliSandbox, ROOT, tarList } from './helpers';

const STUB = path.join(ROOT, 'native/build/libhcnstub.so');

describe('cli: operator tools on the hcn data plane (FFI over the stub library)', function () {
  this.timeout(60_000);
  let sb: CliSandbox;
  let env: NodeJS.ProcessEnv;
  let pod: { ID: string; IpConfigurations: { IpAddress: string }[]; MacAddress: string };

  before(function () {
    if (!fs.existsSync(STUB)) this.skip();
    sb = new CliSandbox();
    env = { SWITCHYARD_DATAPLANE: 'hcn', SWITCHYARD_HCN_LIBRARY: STUB, HCNSTUB_STATE_FILE: path.join(sb.dir, 'stub-state.json') };
    sb.ok(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.7.0/24'], env);
    pod = JSON.parse(sb.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'web-1', '--ip', '10.244.7.10', '-o', 'json'], env));
    sb.ok(
      [
        'lb',
        'create',
        '--name',
        'web',
        '--vip',
        '10.96.0.30',
        '--protocol',
        'tcp',
        '--port',
        '80',
        '--target-port',
        '8080',
        '--endpoint',
        'web-1',
      ],
      env,
    );
  });
  after(() => sb?.cleanup());

  it('status reads the hcn data plane: the network, its subnet, the LB count; exit 0', () => {
    const j = JSON.parse(sb.ok(['status', '--no-agent', '-o', 'json'], env)) as Record<string, unknown>;
    assert.equal(j.source, 'dataplane');
    const text = JSON.stringify(j);
    assert.match(text, /cbr0/);
    assert.match(text, /10\.244\.7\.0\/24/);
    const table = sb.ok(['status', '--no-agent'], env);
    assert.match(table, /cbr0/);
  });

  it('diagram labels the network, the endpoint with its IP and MAC and the LB VIP, as HCN reported them', () => {
    sb.ok(['diagram', '-o', path.join(sb.dir, 'node.svg')], env);
    const svg = fs.readFileSync(path.join(sb.dir, 'node.svg'), 'utf8').replace(/&#45;/g, '-');
    for (const s of ['cbr0', '10.244.7.0/24', 'web-1', '10.244.7.10', pod.MacAddress, '10.96.0.30'])
      assert.ok(svg.includes(s), `${s} in the SVG`);
  });

  it('diagnose bundles the HCN documents and names the data plane', () => {
    const r = sb.run(
      ['diagnose', '-o', 'hcn.tar.gz', '--socket', path.join(sb.dir, 'none.sock'), '--metrics-url', 'http://127.0.0.1:1/metrics'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const files = tarList(path.join(sb.dir, 'hcn.tar.gz'));
    assert.match(files.get('versions.json')!, /"dataplane": "hcn"/);
    assert.match(files.get('hns/endpoints.json')!, new RegExp(pod.ID, 'i'));
    assert.match(files.get('hns/networks.json')!, /"Name": "cbr0"/);
    assert.match(files.get('hns/loadbalancers.json')!, /10\.96\.0\.30/);
  });

  it('--dry-run changes nothing in the stub; --ignore-not-found skips an absent name', () => {
    const state = env.HCNSTUB_STATE_FILE!;
    const before = fs.readFileSync(state, 'utf8');
    assert.match(sb.ok(['endpoint', 'delete', 'web-1', '--dry-run'], env), /deleted \(dry run\)/);
    assert.equal(fs.readFileSync(state, 'utf8'), before);
    assert.equal(sb.run(['network', 'delete', 'nope'], env).code, 1);
    const r = sb.run(['network', 'delete', 'nope', '--ignore-not-found'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
  });
});
