/**
 * Where the real PowerShell for the tests is: SWITCHYARD_PWSH, or the host scripts/setup-pwsh.sh builds from
 * Microsoft.PowerShell.SDK (tools/pwsh-host/out/pwsh). Suites that need it skip with this message without it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
export const BUILT_PWSH = path.join(ROOT, 'tools/pwsh-host/out/pwsh');
export const NO_PWSH = 'no PowerShell host: run `bash scripts/setup-pwsh.sh` (builds tools/pwsh-host/out/pwsh) or set SWITCHYARD_PWSH';

export function realPwsh(): string | undefined {
  const given = process.env.SWITCHYARD_PWSH;
  if (given) return given;
  return fs.existsSync(BUILT_PWSH) ? BUILT_PWSH : undefined;
}

/** The environment for a pwsh child: no stub test switches from the parent, plus what the test adds. */
export function pwshEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HCNSTUB_')));
  // .NET's first-run and telemetry chatter would otherwise land on the session's stdout.
  return {
    ...env,
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_NOLOGO: '1',
    POWERSHELL_TELEMETRY_OPTOUT: '1',
    POWERSHELL_UPDATECHECK: 'Off',
    ...extra,
  };
}
