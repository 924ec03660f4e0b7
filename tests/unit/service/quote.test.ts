/**
 * Windows command-line quoting: src/service/quote.ts and native/service-host/quote.c make the same command line
 * for every argv of the corpus (tests/fixtures/windows-cmdline-corpus.json), and that line splits back into
 * the same argv — by the TypeScript CommandLineToArgvW, for random argv too (fast-check), and under Wine by
 * the real CommandLineToArgvW (quote-tool.exe).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { CommandLineError, parseWindowsCommandLine, quoteWindowsArg, windowsCommandLine } from '../../../src/service/quote';
import { NATIVE_BUILD, WinePrefix, wineUnavailable } from '../../helpers/wine';

const CORPUS: string[][] = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '../../../../tests/fixtures/windows-cmdline-corpus.json'), 'utf8'),
);
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
const unhex = (h: string) => Buffer.from(h === '-' ? '' : h, 'hex').toString('utf8');
const corpusInput = CORPUS.map((argv) => argv.map(hex).join(' ')).join('\n') + '\n';

function tsExpected(argv: string[]): string | undefined {
  try {
    return windowsCommandLine(argv);
  } catch (e) {
    assert.ok(e instanceof CommandLineError);
    return undefined;
  }
}

describe('service: Windows command-line quoting', () => {
  it('quotes only when needed and escapes by the backslash rules', () => {
    assert.equal(quoteWindowsArg('plain'), 'plain');
    assert.equal(quoteWindowsArg(''), '""');
    assert.equal(quoteWindowsArg('a b'), '"a b"');
    assert.equal(quoteWindowsArg('a"b'), '"a\\"b"');
    assert.equal(quoteWindowsArg('C:\\dir with space\\'), '"C:\\dir with space\\\\"');
    assert.equal(quoteWindowsArg('a\\\\"b'), '"a\\\\\\\\\\"b"');
    assert.equal(quoteWindowsArg('C:\\no\\space\\'), 'C:\\no\\space\\', 'backslashes not before a quote stay as they are');
    assert.equal(windowsCommandLine(['C:\\Program Files\\x.exe', 'a']), '"C:\\Program Files\\x.exe" a');
    assert.throws(() => windowsCommandLine(['C:\\a"b.exe']), /contains a quote/);
    assert.throws(() => windowsCommandLine(['']), /program path is empty/);
    assert.throws(() => windowsCommandLine(['x.exe', 'a\0b']), /argument 1 contains NUL/);
  });

  it('every corpus argv round-trips through the TypeScript CommandLineToArgvW', () => {
    for (const argv of CORPUS) {
      const line = tsExpected(argv);
      if (line === undefined) continue;
      assert.deepEqual(parseWindowsCommandLine(line), argv, line);
    }
  });

  it('random argv round-trip (fast-check)', () => {
    const arg = fc.string({ unit: fc.constantFrom('a', ' ', '\t', '"', '\\', 'é', '🚀', '\n', 'x') });
    const prog = fc.string({ unit: fc.constantFrom('C', ':', '\\', ' ', 'n', '.'), minLength: 1 });
    fc.assert(
      fc.property(prog, fc.array(arg, { maxLength: 6 }), (p, rest) => {
        const argv = [p, ...rest];
        assert.deepEqual(parseWindowsCommandLine(windowsCommandLine(argv)), argv);
      }),
      { numRuns: 2000 },
    );
  });

  it('the C quoting (quote.c, built with gcc) makes the same command lines as the TypeScript one', function () {
    const tool = path.join(NATIVE_BUILD, 'quote-tool');
    if (!fs.existsSync(tool)) this.skip();
    const r = spawnSync(tool, [], { input: corpusInput, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, CORPUS.length);
    CORPUS.forEach((argv, i) => {
      const expected = tsExpected(argv);
      if (expected === undefined) assert.equal(lines[i], 'E', `case ${i} must be refused by both`);
      else assert.equal(unhex(lines[i].slice(2)), expected, `case ${i}`);
    });
  });

  describe('under Wine: the real CommandLineToArgvW', function () {
    let wine: WinePrefix | undefined;
    before(function () {
      const why = wineUnavailable('quote-tool.exe');
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
      wine = new WinePrefix();
    });
    after(() => wine?.dispose());

    it("splits quote.c's command line back into the original argv for every corpus case", function () {
      const r = wine!.run([path.join(NATIVE_BUILD, 'quote-tool.exe')], corpusInput);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.replace(/\r/g, '').trim().split('\n');
      let i = 0;
      for (const argv of CORPUS) {
        const expected = tsExpected(argv);
        if (expected === undefined) {
          assert.equal(lines[i++], 'E');
          continue;
        }
        assert.equal(unhex(lines[i++].slice(2)), expected);
        const split = lines[i++].split(' ').slice(1).map(unhex);
        assert.deepEqual(split, argv, `CommandLineToArgvW(${expected})`);
      }
    });
  });
});
