import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, BIN, DEL, ROOT, createNamespace, makeLab, runSync, type Lab } from './helpers';

/**
 * Each executable compiles its bundle with the V8 code cache in `<name>.cache` when that cache fits. A cache
 * that does not fit (other bundle, other node, truncated, garbage) must be ignored: same bytes out, same exit
 * status, and the file is left as it is.
 */
const NAMES = ['win-bridge', 'win-overlay', 'switchyard', 'switchyard-ipam'];

function header(file: string): string {
  const buf = fs.readFileSync(file);
  return buf.toString('latin1', 0, buf.indexOf(10));
}

describe('CNI executables: V8 code cache', () => {
  // Copies live under dist/ so `koffi` still resolves from node_modules for the ADD below.
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(ROOT, 'dist', '.code-cache-test-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function copy(name: string, cache?: Buffer): string {
    const file = path.join(dir, name);
    fs.copyFileSync(path.join(BIN, name), file);
    fs.chmodSync(file, 0o755);
    if (cache) fs.writeFileSync(`${file}.cache`, cache);
    return file;
  }

  it('ships a cache for this node next to every executable', () => {
    for (const name of NAMES) {
      const h = header(path.join(BIN, `${name}.cache`));
      const [magic, id, version, platformArch, bytes] = h.split(' ');
      assert.equal(magic, 'switchyard-code-cache', name);
      assert.match(id, /^[0-9a-f]{32}$/, name);
      assert.ok(fs.readFileSync(path.join(BIN, name), 'utf8').includes(`const ID = "${id}";`), `${name}: cache made for this bundle`);
      assert.equal(version, process.version, name);
      assert.equal(platformArch, `${process.platform}-${process.arch}`, name);
      assert.equal(Number(bytes), fs.statSync(path.join(BIN, `${name}.cache`)).size - h.length - 1, name);
    }
  });

  it('answers VERSION and protocol errors byte for byte the same with a missing, foreign, truncated or garbage cache', () => {
    const real = fs.readFileSync(path.join(BIN, 'win-bridge.cache'));
    const nl = real.indexOf(10);
    const [magic, id, version, arch] = real.toString('latin1', 0, nl).split(' ');
    const payload = real.subarray(nl + 1);
    const other = fs.readFileSync(path.join(BIN, 'switchyard-ipam.cache'));
    const stale: Record<string, Buffer | undefined> = {
      missing: undefined,
      'other node version': Buffer.concat([Buffer.from(`${magic} ${id} v0.0.1 ${arch} ${payload.length}\n`), payload]),
      'other platform': Buffer.concat([Buffer.from(`${magic} ${id} ${version} win32-x64 ${payload.length}\n`), payload]),
      'other bundle': Buffer.concat([Buffer.from(`${magic} ${'0'.repeat(32)} ${version} ${arch} ${payload.length}\n`), payload]),
      truncated: real.subarray(0, real.length - 1000),
      'garbage payload with a valid header': Buffer.concat([
        Buffer.from(`${magic} ${id} ${version} ${arch} ${payload.length}\n`),
        Buffer.alloc(payload.length, 0x5a),
      ]),
      // V8's own check: data made for another script (here switchyard-ipam's) under win-bridge's header
      "another script's V8 data": Buffer.concat([
        Buffer.from(`${magic} ${id} ${version} ${arch} ${other.length - other.indexOf(10) - 1}\n`),
        other.subarray(other.indexOf(10) + 1),
      ]),
      'empty file': Buffer.alloc(0),
    };
    const calls = [
      { env: { CNI_COMMAND: 'VERSION' }, stdin: '' },
      { env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1' }, stdin: '{}' }, // missing variables: code 4
      { env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: 'none', CNI_IFNAME: 'eth0', CNI_PATH: BIN }, stdin: '{"cniVersion":' }, // code 6
      { env: {}, stdin: '' }, // about text on stderr
    ];
    const expected = calls.map((c) => runSync('win-bridge', undefined, c.env, c.stdin));
    for (const [label, cache] of Object.entries(stale)) {
      const file = copy('win-bridge', cache);
      calls.forEach((c, i) => {
        const r = runSync(file, undefined, c.env, c.stdin);
        assert.deepEqual(
          { code: r.code, stdout: r.stdout, stderr: r.stderr },
          { code: expected[i].code, stdout: expected[i].stdout, stderr: expected[i].stderr },
          `${label}: ${JSON.stringify(c.env)}`,
        );
      });
      if (cache) assert.deepEqual(fs.readFileSync(`${file}.cache`), cache, `${label}: cache left as it was`);
      else assert.equal(fs.existsSync(`${file}.cache`), false, `${label}: no cache written at run time`);
    }
  });

  it('SWITCHYARD_CODE_CACHE_OUT makes a cache for the running node that later calls use', () => {
    const file = copy('switchyard-ipam');
    const before = runSync(file, undefined, { CNI_COMMAND: 'VERSION' }, '');
    const made = runSync(file, undefined, { CNI_COMMAND: 'VERSION', SWITCHYARD_CODE_CACHE_OUT: `${file}.cache` }, '');
    assert.deepEqual([made.code, made.stdout, made.stderr], [before.code, before.stdout, before.stderr]);
    const h = header(`${file}.cache`);
    assert.deepEqual(h.split(' ').slice(0, 4), header(path.join(BIN, 'switchyard-ipam.cache')).split(' ').slice(0, 4));
    assert.equal(Number(h.split(' ')[4]), fs.statSync(`${file}.cache`).size - h.length - 1);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['switchyard-ipam', 'switchyard-ipam.cache']);
    const after = runSync(file, undefined, { CNI_COMMAND: 'VERSION' }, '');
    assert.equal(after.stdout, before.stdout);
    assert.equal(after.code, 0);
  });

  it('a SWITCHYARD_CODE_CACHE_OUT that cannot be written is reported on stderr and changes neither output nor exit status', () => {
    for (const env of [{ CNI_COMMAND: 'VERSION' }, { CNI_COMMAND: 'ADD' }]) {
      const plain = runSync('win-bridge', undefined, env, '{}');
      const r = runSync('win-bridge', undefined, { ...env, SWITCHYARD_CODE_CACHE_OUT: path.join(dir, 'missing', 'x.cache') }, '{}');
      assert.deepEqual([r.code, r.stdout], [plain.code, plain.stdout]);
      assert.match(r.stderr, /^SWITCHYARD_CODE_CACHE_OUT: cannot write .*missing\/x\.cache: ENOENT/m);
    }
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  describe('a full ADD and DEL', () => {
    let lab: Lab;
    beforeEach(() => {
      lab = makeLab();
    });
    afterEach(() => lab.cleanup());

    it('works with a foreign cache exactly as with the shipped one', async () => {
      const s = await lab.service();
      try {
        await s.createNetwork({
          Name: 'cbr0',
          Type: 'L2Bridge',
          SchemaVersion: { Major: 2, Minor: 0 },
          Ipams: [
            {
              Type: 'Static',
              Subnets: [{ IpAddressPrefix: '10.244.0.0/16', Routes: [{ NextHop: '10.244.0.1', DestinationPrefix: '0.0.0.0/0' }] }],
            },
          ],
        });
      } finally {
        await s.close();
      }
      const ns = await createNamespace(lab);
      const conf = {
        cniVersion: '1.0.0',
        name: 'cbr0',
        type: 'win-bridge',
        apiVersion: 2,
        ipam: { type: 'switchyard-ipam', subnet: '10.244.0.0/16', rangeStart: '10.244.1.10', dataDir: lab.ipamDir },
      };
      const foreign = copy('win-bridge', Buffer.from('switchyard-code-cache 0 v0.0.1 x 3\nabc'));
      const shipped = path.join(BIN, 'win-bridge');
      const results = [];
      for (const [i, file] of [shipped, foreign].entries()) {
        lab.clearCalls();
        const add = runSync(file, lab, ADD(`pod${i}`, ns), conf);
        assert.equal(add.code, 0, add.stdout + add.stderr);
        results.push({ ips: add.json().ips.map((ip: { address: string }) => ip.address), ops: lab.calls().map((c) => c.op) });
        const del = runSync(file, lab, DEL(`pod${i}`, ns), conf);
        assert.equal(del.code, 0, del.stdout + del.stderr);
      }
      assert.deepEqual(results[0].ops, results[1].ops);
      assert.deepEqual(
        results.map((r) => r.ips),
        [['10.244.1.10/16'], ['10.244.1.11/16']],
      );
    });
  });
});
