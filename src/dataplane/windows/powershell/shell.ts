/**
 * A persistent PowerShell session (node-powershell), behind a small interface so the data plane can be
 * driven by a fake in tests (there is no PowerShell on the Linux CI machines).
 */
export interface PsShell {
  /** Runs one script and returns what it wrote to the output stream. */
  invoke(script: string): Promise<string>;
  /** Ends the session (kills the process). */
  dispose(): Promise<void>;
}

export interface NodePowerShellOptions {
  /** `powershell` (Windows PowerShell 5.1, default on Windows) or `pwsh`; env SWITCHYARD_POWERSHELL. */
  executable?: string;
  timeoutMs: number;
}

export function nodePowerShell(options: NodePowerShellOptions): PsShell {
  // Lazy: node-powershell spawns a process; only the powershell data plane pays for it.
  const { PowerShell } = require('node-powershell') as typeof import('node-powershell');
  const ps = new PowerShell({
    executable: options.executable ?? (process.platform === 'win32' ? 'powershell' : 'pwsh'),
    executableOptions: { '-NoLogo': true, '-NoProfile': true, '-NonInteractive': true, '-ExecutionPolicy': 'Bypass' },
    // The data plane enforces timeoutMs itself (and kills the session); this is only a backstop.
    invocationTimeout: options.timeoutMs + 5000,
    throwOnInvocationError: false,
  } as ConstructorParameters<typeof PowerShell>[0]);
  return {
    async invoke(script: string): Promise<string> {
      const r = await ps.invoke(script);
      return r.raw;
    },
    async dispose(): Promise<void> {
      await ps.dispose();
    },
  };
}
