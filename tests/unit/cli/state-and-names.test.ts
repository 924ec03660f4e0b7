/**
 * Issue 11, defect 8 (rest): a malformed state file is refused identically by reads and writes (naming the
 * file and the entry, never rewritten); `--name` has a length limit and no control characters (exit 2
 * naming the flag); tables and `-o name` never print a stored string's control characters raw.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliSandbox } from './helpers';
import { loadState } from '../../../src/dataplane/linux/state';
import { escapeControl } from '../../../src/cli/output';

describe('CLI: malformed state files, names and terminal escapes', () => {
  let sb: CliSandbox;
  beforeEach(() => {
    sb = new CliSandbox();
    sb.ok(['network', 'create', '--name', 'n1', '--type', 'NAT', '--subnet', '10.9.0.0/24']);
  });
  afterEach(() => fs.rmSync(sb.dir, { recursive: true, force: true }));

  const corrupt = (from: RegExp, to: string) => fs.writeFileSync(sb.state, fs.readFileSync(sb.state, 'utf8').replace(from, to));

  for (const [what, from, to, entry] of [
    ['"Endpoints":[null]', /"Endpoints": \[\]/, '"Endpoints": [null]', 'entry Endpoints[0] must be an object, not null'],
    ['a number among the networks', /"Networks": \[/, '"Networks": [7,', 'entry Networks[0] must be an object, not a number'],
    ['a network without ID', /"Networks": \[/, '"Networks": [{"Name":"x"},', 'entry Networks[0] has no string "ID"'],
  ] as const) {
    it(`${what}: list and create refuse it alike, naming the file and the entry, and leave it as it is`, () => {
      corrupt(from, to);
      const before = fs.readFileSync(sb.state, 'utf8');
      const results = [
        sb.run(['network', 'list']),
        sb.run(['endpoint', 'list']),
        sb.run(['network', 'create', '--name', 'n2', '--type', 'NAT', '--subnet', '10.8.0.0/24']),
        sb.run(['namespace', 'create']),
      ];
      for (const r of results) {
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stderr, results[0].stderr, 'the same refusal for every command');
        assert.ok(r.stderr.includes(sb.state), r.stderr);
        assert.ok(r.stderr.includes(entry), r.stderr);
        assert.match(r.stderr, /fix or remove that entry/);
      }
      assert.equal(fs.readFileSync(sb.state, 'utf8'), before, 'never rewritten');
    });
  }

  it('the linux state loader refuses a null or document-less record naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-linux-state-'));
    try {
      const file = path.join(dir, 'linux.json');
      fs.writeFileSync(file, '{"networks":{},"endpoints":{"abc":null}}');
      assert.throws(
        () => loadState(file),
        (e: Error) => e.message.includes(file) && e.message.includes('entry endpoints["abc"] must be an object, not null'),
      );
      fs.writeFileSync(file, '{"networks":{"n":{"type":"NAT"}}}');
      assert.throws(() => loadState(file), /entry networks\["n"\] has no document with a string "ID"; fix or remove that entry/);
      fs.writeFileSync(file, '{"networks":{"n":{"doc":{"ID":"n"},"type":"NAT","mtu":1500}}}');
      assert.equal(loadState(file).networks.n.type, 'NAT');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [what, name, msg] of [
    ['a newline', 'a\nb', /--name: Name contains control characters/],
    ['a terminal escape', 'x\u001b[2J', /--name: Name contains control characters/],
    ['257 characters', 'n'.repeat(257), /--name: Name is longer than 256 characters/],
  ] as const) {
    it(`--name with ${what} exits 2 naming the flag and creates nothing`, () => {
      const before = fs.readFileSync(sb.state, 'utf8');
      for (const args of [
        ['network', 'create', '--name', name, '--type', 'NAT', '--subnet', '10.8.0.0/24'],
        ['endpoint', 'create', '--network', 'n1', '--name', name],
        ['namespace', 'create', '--name', name],
      ]) {
        const r = sb.run(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, msg);
        assert.ok(!r.stderr.includes('\u001b'), 'the value is not echoed');
      }
      assert.equal(fs.readFileSync(sb.state, 'utf8'), before);
    });
  }
  it('a 256-character name is accepted', () => {
    sb.ok(['namespace', 'create', '--name', 'n'.repeat(256)]);
  });

  it('-o table and -o name print stored control characters as escapes', () => {
    corrupt(/"Name":"n1"/, '"Name":"evil\\u001b[31mred\\nFAKE  row\\u009b"');
    const table = sb.ok(['network', 'list']);
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(table), JSON.stringify(table));
    assert.equal(table.split('\n').length, 3, 'no forged line');
    assert.ok(table.includes('evil\\x1b[31mred\\nFAKE  row\\x9b'), table);
    assert.equal(sb.ok(['network', 'list', '-o', 'name']), 'network/evil\\x1b[31mred\\nFAKE  row\\x9b\n');
    assert.equal(
      JSON.parse(sb.ok(['network', 'list', '-o', 'json']))[0].Name,
      'evil\u001b[31mred\nFAKE  row\u009b',
      'json keeps the value',
    );
  });

  it('escapeControl', () => {
    assert.equal(escapeControl('a\tb\r\u0000\u007f\u2028ok é'), 'a\\tb\\r\\x00\\x7f\\u2028ok é');
  });
});
