/**
 * The Hyper-V lab driver: sends a plan (hyperv-plan.ts) to ps-modules/Switchyard.Lab's Invoke-SwitchyardLabPlan
 * through a node-powershell session, the same way the powershell data plane drives Switchyard.Hns: constant
 * script text, the plan and the module path as base64 literals, one JSON answer (the step records, or the
 * error) on the last line. Needs Windows with the Hyper-V and NetTCPIP modules, run as Administrator.
 */
import * as path from 'node:path';
import { moduleManifest, powerShellExecutable } from '../dataplane/windows/powershell';
import { importCommand } from '../dataplane/windows/powershell/command';
import { nodePowerShell, type PsShell } from '../dataplane/windows/powershell/shell';
import type { HyperVPlan } from './hyperv-plan';

export interface LabStep {
  Step: string;
  Target: string;
  Action: string;
  Status: 'done' | 'unchanged' | 'whatif';
}

export class HyperVLabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HyperVLabError';
  }
}

/** ps-modules/Switchyard.Lab/Switchyard.Lab.psd1 beside Switchyard.Hns (same search as the data plane). */
export function labModuleManifest(env: NodeJS.ProcessEnv): string {
  return path.join(path.dirname(path.dirname(moduleManifest(env))), 'Switchyard.Lab', 'Switchyard.Lab.psd1');
}

/** The only script the driver sends besides the import: constant apart from the base64 plan. */
export function applyCommand(plan: HyperVPlan, whatIf: boolean): string {
  const b64 = Buffer.from(JSON.stringify(plan), 'utf8').toString('base64');
  return (
    "try { ConvertTo-Json -Compress -Depth 3 -InputObject @(Invoke-SwitchyardLabPlan -EncodedJson '" +
    b64 +
    "'" +
    (whatIf ? ' -WhatIf' : '') +
    ' -Confirm:$false -ErrorAction Stop) } catch { ConvertTo-Json -Compress -InputObject @{ Error = $_.Exception.Message } }'
  );
}

export interface ApplyResult {
  steps: LabStep[];
  /** What PowerShell printed besides the answer (the -WhatIf lines). */
  printed: string[];
}

export async function applyHyperVPlan(
  plan: HyperVPlan,
  opts: { whatIf: boolean; env?: NodeJS.ProcessEnv; shell?: () => PsShell; timeoutMs?: number },
): Promise<ApplyResult> {
  const env = opts.env ?? process.env;
  const sh = opts.shell
    ? opts.shell()
    : nodePowerShell({ executable: powerShellExecutable(env), timeoutMs: opts.timeoutMs ?? 30 * 60_000, env });
  try {
    const imported = await sh.invoke(importCommand(labModuleManifest(env)));
    // Import-Module prints nothing when it works; anything else is its error (stderr).
    if (imported.trim() !== '') throw new HyperVLabError(`Import-Module Switchyard.Lab failed: ${imported.trim()}`);
    const raw = await sh.invoke(applyCommand(plan, opts.whatIf));
    const lines = raw
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    const last = lines.pop() ?? '';
    let answer: unknown;
    try {
      answer = JSON.parse(last);
    } catch {
      throw new HyperVLabError(`Invoke-SwitchyardLabPlan did not answer with JSON: ${raw.slice(0, 400)}`);
    }
    if (answer && !Array.isArray(answer) && typeof (answer as { Error?: unknown }).Error === 'string') {
      throw new HyperVLabError(`Invoke-SwitchyardLabPlan: ${(answer as { Error: string }).Error}`);
    }
    return { steps: answer as LabStep[], printed: lines };
  } finally {
    await sh.dispose().catch(() => undefined);
  }
}
