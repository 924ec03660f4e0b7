/**
 * Every command example in docs/*.md runs (memory data plane, a temporary state per document, the
 * document's examples in order) and exits as the document says. Examples that need network namespaces
 * (the lab, `ip netns`) run in the root docs test (tests/linux/docs.test.ts), which also runs every
 * example on the linux data plane.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allDocs, extract, needsNetns, run, shellWords } from './docs-examples';

describe('docs: every command example runs as written (memory data plane)', function () {
  it('the extractor finds console examples, continuations, exit codes and named files', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-docs-'));
    try {
      const f = path.join(tmp, 'x.md');
      fs.writeFileSync(
        f,
        '```\nswitchyard synopsis\n```\n```yaml\n# a.yaml\nName: x\n```\n```console\n$ switchyard a \\\n    --b \'{"c": 1}\'\nout\n$ switchyard d\nerr   (exit 2)\n```\n',
      );
      const d = extract(f);
      assert.deepEqual(
        d.examples.map((e) => [e.argv, e.exit]),
        [
          [['switchyard', 'a', '--b', '{"c": 1}'], 0],
          [['switchyard', 'd'], 2],
        ],
      );
      assert.deepEqual(d.files, { 'a.yaml': 'Name: x\n' });
      assert.deepEqual(shellWords(`a "b c" 'd e' f # g`), ['a', 'b c', 'd e', 'f']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  const docs = allDocs().filter((d) => d.examples.length);
  it('the docs have examples to run', () => assert.ok(docs.reduce((n, d) => n + d.examples.length, 0) >= 10));

  for (const d of docs) {
    it(`${d.doc}: ${d.examples.filter((e) => !needsNetns(e)).length} examples`, function () {
      this.timeout(120_000);
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-docs-'));
      try {
        for (const [name, text] of Object.entries(d.files)) fs.writeFileSync(path.join(tmp, name), text);
        const env = { ...process.env, SWITCHYARD_DATAPLANE: 'memory', SWITCHYARD_STATE: path.join(tmp, 'hns.json'), HOME: tmp };
        for (const e of d.examples.filter((x) => !needsNetns(x))) {
          const r = run(e, tmp, env);
          assert.equal(r.code, e.exit, `${e.doc}:${e.line}: $ ${e.text}\n${r.out}`);
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});
