/**
 * The PowerShell module's own P/Invoke binding (ps-modules/Switchyard.Hns/Switchyard.Hns.Native.cs), compiled
 * as C# 5 (what Windows PowerShell 5.1's Add-Type accepts) with Mono's mcs and run under Mono against the
 * stub, with computenetwork.dll / vmcompute.dll / ole32.dll mapped to libhcnstub.so. Needs the Debian
 * package mono-mcs (compiler + runtime); skips itself without it, like the root suites do without root.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { STUB_LIBRARY } from './stub';

const ROOT = path.resolve(__dirname, '../../..');
const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;

describe('PowerShell module P/Invoke binding (C#) against the stub under Mono', function () {
  let dir: string;
  before(function () {
    if (!has('mcs') || !has('mono')) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-csharp-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('compiles as C# 5 and passes every check (UTF-16, GUIDs, HRESULTs, records, frees, handles)', function () {
    const exe = path.join(dir, 'check.exe');
    const build = spawnSync(
      'mcs',
      [
        '-langversion:5',
        '-warnaserror',
        `-out:${exe}`,
        path.join(ROOT, 'ps-modules/Switchyard.Hns/Switchyard.Hns.Native.cs'),
        path.join(ROOT, 'tests/abi/csharp/HcnApiCheck.cs'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(build.status, 0, `${build.stdout}\n${build.stderr}`);
    const map = ['computenetwork.dll', 'vmcompute.dll', 'ole32.dll']
      .map((d) => `  <dllmap dll="${d}" target="${STUB_LIBRARY}" />`)
      .join('\n');
    fs.writeFileSync(`${exe}.config`, `<configuration>\n${map}\n</configuration>\n`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HCNSTUB_')));
    const run = spawnSync('mono', [exe], { encoding: 'utf8', env });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.doesNotMatch(run.stdout, /^FAIL/m);
    assert.match(run.stdout, /all checks passed/);
  });
});
