/**
 * Runs the Pester tests in tests/ps/*.Tests.ps1 under real PowerShell (the host scripts/setup-pwsh.sh builds, with
 * Pester 5.7.1 in its module path) and fails with Pester's own failures. Switchyard.Hns tests load the stub
 * library through SWITCHYARD_HCN_LIBRARY; Switchyard.Lab tests mock the Hyper-V and NetTCPIP cmdlets.
 * Skips, saying why, when the host was not built.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { STUB_LIBRARY } from '../abi/stub';
import { parseLabSpec, planHyperV } from '../../src/lab/hyperv-plan';
import { NO_PWSH, ROOT, pwshEnv, realPwsh } from './pwsh';

interface PesterSummary {
  Result: string;
  PassedCount: number;
  FailedCount: number;
  SkippedCount: number;
  NotRunCount: number;
  Failed: { Path: string; Message: string }[];
  Errors: string[];
}

/** Constant script: the test file and the result file arrive as environment variables, never as script text. */
const RUNNER = `
$ErrorActionPreference = 'Stop'
Import-Module Pester -RequiredVersion 5.7.1
$c = New-PesterConfiguration
$c.Run.Path = $env:SY_PESTER_FILE
$c.Run.PassThru = $true
$c.Output.Verbosity = 'Normal'
$r = Invoke-Pester -Configuration $c
$summary = [ordered]@{
  Result = $r.Result; PassedCount = $r.PassedCount; FailedCount = $r.FailedCount; SkippedCount = $r.SkippedCount; NotRunCount = $r.NotRunCount
  Failed = @($r.Failed | ForEach-Object { [ordered]@{ Path = ($_.ExpandedPath); Message = (($_.ErrorRecord | ForEach-Object { $_.ToString() }) -join '; ') } })
  Errors = @($r.Containers | Where-Object { $_.Result -eq 'Failed' } | ForEach-Object { $_.ErrorRecord | ForEach-Object { $_.ToString() } })
}
$summary | ConvertTo-Json -Depth 5 | Set-Content -Path $env:SY_PESTER_RESULT -Encoding utf8
`;

describe('Pester tests of ps-modules under real PowerShell', function () {
  this.timeout(300_000);
  const pwsh = realPwsh();
  let dir = '';
  before(function () {
    if (!pwsh) {
      console.log(`      skipped: ${NO_PWSH}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-pester-'));
    // The lab tests apply the plans src/lab/hyperv-plan.ts makes from the fixture specs.
    for (const name of ['lab-hyperv', 'lab-hyperv-changed']) {
      const file = path.join(ROOT, 'tests/ps/fixtures', `${name}.yaml`);
      fs.writeFileSync(path.join(dir, `${name}.plan.json`), JSON.stringify(planHyperV(parseLabSpec(fs.readFileSync(file, 'utf8'), file))));
    }
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const files = fs
    .readdirSync(path.join(ROOT, 'tests/ps'))
    .filter((f) => f.endsWith('.Tests.ps1'))
    .sort();
  for (const file of files) {
    it(`${file} passes`, function () {
      const result = path.join(dir, `${file}.json`);
      const run = spawnSync(pwsh!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', RUNNER], {
        encoding: 'utf8',
        cwd: ROOT,
        env: pwshEnv({
          SWITCHYARD_HCN_LIBRARY: STUB_LIBRARY,
          SY_PESTER_FILE: path.join(ROOT, 'tests/ps', file),
          SY_PESTER_RESULT: result,
          NO_COLOR: '1',
          TERM: 'dumb',
          SY_LAB_PLAN: path.join(dir, 'lab-hyperv.plan.json'),
          SY_LAB_PLAN_CHANGED: path.join(dir, 'lab-hyperv-changed.plan.json'),
        }),
        maxBuffer: 64 * 1024 * 1024,
      });
      assert.ok(fs.existsSync(result), `Pester did not finish (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
      const summary = JSON.parse(fs.readFileSync(result, 'utf8').replace(/^\uFEFF/, '')) as PesterSummary;
      const failures = [...(summary.Failed ?? []).map((f) => `${f.Path}: ${f.Message}`), ...(summary.Errors ?? [])];
      assert.equal(summary.FailedCount + (summary.Errors?.length ?? 0), 0, `Pester failures in ${file}:\n${failures.join('\n')}`);
      assert.ok(summary.PassedCount > 0, `Pester ran no test in ${file}:\n${run.stdout}`);
      console.log(`      Pester: ${summary.PassedCount} passed, ${summary.FailedCount} failed, ${summary.SkippedCount} skipped`);
    });
  }
});
