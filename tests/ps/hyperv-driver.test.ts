/**
 * The Hyper-V lab end to end from TypeScript: spec (YAML) → planHyperV → applyHyperVPlan → node-powershell →
 * real pwsh → ps-modules/Switchyard.Lab, with the Hyper-V/NetTCPIP cmdlets provided by
 * tests/ps/fixtures/FakeHyperV.ps1 (loaded into the session first; it logs every call that would change the
 * host). Plus the planner's field errors. The apply part skips, saying why, when the host was not built.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodePowerShell, type PsShell } from '../../src/dataplane/windows/powershell/shell';
import { applyCommand, applyHyperVPlan } from '../../src/lab/hyperv-driver';
import { parseLabSpec, planHyperV } from '../../src/lab/hyperv-plan';
import { LabSpecError, planLab, type LabSpec } from '../../src/lab/spec';
import { NO_PWSH, ROOT, pwshEnv, realPwsh } from './pwsh';

const fixture = (name: string): LabSpec => {
  const file = path.join(ROOT, 'tests/ps/fixtures', name);
  return parseLabSpec(fs.readFileSync(file, 'utf8'), file);
};

describe('Hyper-V lab plan (src/lab/hyperv-plan.ts)', function () {
  it('plans 1 Linux control plane + 2 Windows workers from the spec the netns lab reads', function () {
    const spec = fixture('lab-hyperv.yaml');
    const netns = planLab(spec);
    const plan = planHyperV(spec);
    assert.deepEqual(
      plan.Vms.map((v) => v.Name),
      netns.nodes.map((n) => n.name),
      'the same node names as the netns lab',
    );
    assert.deepEqual(
      plan.Vms.map((v) => v.Adapters[0].IPAddress),
      netns.nodes.map((n) => n.underlayIp),
      'the same underlay addresses',
    );
    assert.deepEqual(
      plan.Vms.map((v) => [v.Os, v.Role, v.NestedVirtualization, v.MemoryStartupBytes]),
      [
        ['linux', 'control-plane', false, 2 * 1024 ** 3],
        ['windows', 'worker', true, 4 * 1024 ** 3],
        ['windows', 'worker', true, 4 * 1024 ** 3],
      ],
    );
    assert.ok(plan.Vms.every((v) => v.Generation === 2 && v.Adapters[0].MacAddressSpoofing && v.VhdPath.startsWith('D:\\VMs\\')));
    assert.deepEqual(
      plan.Switches.map((s) => [s.Name, s.Type]),
      [
        ['lab1-pods', 'NAT'],
        ['lab1-uplink', 'External'],
      ],
    );
    assert.equal(new Set(plan.Vms.map((v) => v.Adapters[0].StaticMacAddress)).size, 3, 'distinct static MACs');
  });

  it('keeps the netns lab working without a hyperv section, and refuses to plan Hyper-V without one', function () {
    const spec: LabSpec = { prefix: 'x', nodes: 2, podsPerNode: 1, type: 'Overlay' };
    assert.equal(planLab(spec).nodes.length, 2);
    assert.throws(
      () => planHyperV(spec),
      (e: Error) => e instanceof LabSpecError && /^hyperv:/.test(e.message),
    );
  });

  it('names the field of every bad value', function () {
    const base = fixture('lab-hyperv.yaml');
    const bad = (edit: (s: LabSpec) => void, field: RegExp) => {
      const s = JSON.parse(JSON.stringify(base)) as LabSpec;
      edit(s);
      assert.throws(
        () => planHyperV(s),
        (e: Error) => e instanceof LabSpecError && field.test(e.message),
        String(field),
      );
    };
    bad((s) => {
      s.hyperv!.nodes.pop();
    }, /^hyperv\.nodes: 2 entries for 3 nodes/);
    bad((s) => {
      s.hyperv!.vmPath = 'relative\\dir';
    }, /^hyperv\.vmPath:/);
    bad((s) => {
      s.hyperv!.nodes[1].os = 'macos' as never;
    }, /^hyperv\.nodes\[1\]\.os:/);
    bad((s) => {
      s.hyperv!.nodes[0].memoryMB = 100;
    }, /^hyperv\.nodes\[0\]\.memoryMB:/);
    bad((s) => {
      s.hyperv!.nodes[2].switches = ['nope'];
    }, /^hyperv\.nodes\[2\]\.switches\[0\]:/);
    bad((s) => {
      s.hyperv!.switches![0].type = 'Bridge' as never;
    }, /^hyperv\.switches\[0\]\.type:/);
    bad((s) => {
      delete s.hyperv!.switches![0].netAdapterName;
    }, /^hyperv\.switches\[0\]\.netAdapterName:/);
    bad((s) => {
      s.nodes = 0;
    }, /^nodes:/);
  });

  it('sends the plan as a base64 literal only: the command text is constant apart from it', function () {
    const plan = planHyperV(fixture('lab-hyperv.yaml'));
    plan.Vms[0].ParentVhdPath = "D:\\x'; Remove-Item -Recurse C:\\ ; '$(calc)`";
    const cmd = applyCommand(plan, true);
    assert.equal(
      cmd.replace(/'[A-Za-z0-9+/]*={0,2}'/, "'<plan>'"),
      "try { ConvertTo-Json -Compress -Depth 3 -InputObject @(Invoke-SwitchyardLabPlan -EncodedJson '<plan>' -WhatIf -Confirm:$false -ErrorAction Stop) } catch { ConvertTo-Json -Compress -InputObject @{ Error = $_.Exception.Message } }",
    );
  });
});

describe('Hyper-V lab driver through node-powershell and real pwsh (fake Hyper-V cmdlets)', function () {
  this.timeout(180_000);
  const pwsh = realPwsh();
  let session: PsShell | undefined;
  before(async function () {
    if (!pwsh) {
      console.log(`      skipped: ${NO_PWSH}`);
      this.skip();
    }
    session = nodePowerShell({ executable: pwsh, timeoutMs: 120_000, env: pwshEnv() });
    const fake = Buffer.from(path.join(ROOT, 'tests/ps/fixtures/FakeHyperV.ps1'), 'utf8').toString('base64');
    await session.invoke(`. ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${fake}')))`);
  });
  after(async () => session?.dispose());
  // The driver disposes its shell after each apply; this one lives for the whole suite (the fake host's state).
  const shell = (): PsShell => ({ invoke: (s) => session!.invoke(s), dispose: async () => undefined });
  const changes = async (): Promise<string[]> =>
    JSON.parse(
      (
        await session!.invoke('ConvertTo-Json -Compress -InputObject @($global:FakeHyperVChanges); $global:FakeHyperVChanges.Clear()')
      ).trim(),
    ) as string[];

  it('-WhatIf prints the plan and changes nothing; apply makes the calls; a second apply makes none; a change makes only its own', async function () {
    const plan = planHyperV(fixture('lab-hyperv.yaml'));
    const preview = await applyHyperVPlan(plan, { whatIf: true, shell });
    assert.ok(
      preview.steps.length > 10 && preview.steps.every((s) => s.Status === 'whatif' || s.Status === 'unchanged'),
      JSON.stringify(preview.steps.slice(0, 3)),
    );
    assert.ok(
      preview.printed.some((l) => /What if: .*"New-VM generation 2.*on target "lab1-n1"/.test(l)),
      `what-if lines: ${preview.printed.slice(0, 5).join(' | ')}`,
    );
    assert.deepEqual(await changes(), []);

    const applied = await applyHyperVPlan(plan, { whatIf: false, shell });
    const made = await changes();
    assert.ok(made.includes('New-VMSwitch lab1-pods Internal') && made.includes('New-VMSwitch lab1-uplink Ethernet'), made.join('\n'));
    assert.ok(made.includes('New-NetNat lab1-pods 192.168.77.0/24'));
    assert.equal(made.filter((c) => c.startsWith('New-VM ')).length, 3);
    assert.ok(made.includes('Set-VMProcessor lab1-n1 2 True') && made.includes('Set-VMProcessor lab1-n0 2 False'));
    assert.equal(made.filter((c) => / pods On 00155D/.test(c)).length, 3, 'MAC spoofing on every pod adapter');
    assert.equal(
      applied.steps.filter((s) => s.Status === 'done').length,
      made.length - 3 * 2,
      'one step per call (New-VM step also renames the adapter and turns checkpoints off)',
    );

    const again = await applyHyperVPlan(plan, { whatIf: false, shell });
    assert.deepEqual(await changes(), [], 'a second apply with no change makes no call');
    assert.ok(again.steps.every((s) => s.Status === 'unchanged'));

    await applyHyperVPlan(planHyperV(fixture('lab-hyperv-changed.yaml')), { whatIf: false, shell });
    assert.deepEqual((await changes()).sort(), [
      'Add-VMNetworkAdapter lab1-n1 storage lab1-storage',
      'Add-VMNetworkAdapter lab1-n2 storage lab1-storage',
      'New-VMSwitch lab1-storage Private',
      'Set-VMMemory lab1-n1 8589934592',
      'Set-VMMemory lab1-n2 8589934592',
      'Set-VMProcessor lab1-n1 4 True',
      'Set-VMProcessor lab1-n2 4 True',
    ]);
  });

  it('reports a refusal from the module as an error naming the field', async function () {
    const plan = planHyperV(fixture('lab-hyperv.yaml'));
    (plan.Vms[2] as { Generation: number }).Generation = 1;
    await assert.rejects(applyHyperVPlan(plan, { whatIf: false, shell }), /Vms\[2\]\.Generation must be 2/);
    assert.deepEqual(await changes(), []);
  });
});
