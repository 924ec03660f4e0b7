/**
 * A persistent PowerShell session (node-powershell), behind a small interface so the data plane can be
 * driven by a fake in tests (there is no PowerShell on the Linux CI machines).
 */
import { Writable } from 'node:stream';

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
  /** The session's environment (default: this process's); SWITCHYARD_HCN_LIBRARY etc. reach the module through it. */
  env?: NodeJS.ProcessEnv;
}

/**
 * pwsh's console host switches the terminal's cursor-key mode (ESC[?1h / ESC[?1l) around each command it reads
 * when TERM names a terminal, even with redirected streams; those bytes are not output.
 */
const TERMINAL_CONTROL = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]/g;

export function stripTerminalControl(text: string): string {
  return text.replace(TERMINAL_CONTROL, '');
}

export function nodePowerShell(options: NodePowerShellOptions): PsShell {
  // Lazy: node-powershell spawns a process; only the powershell data plane pays for it.
  const { PowerShell } = require('node-powershell') as typeof import('node-powershell');
  const ps = new PowerShell({
    executable: options.executable ?? (process.platform === 'win32' ? 'powershell' : 'pwsh'),
    executableOptions: { '-NoLogo': true, '-NoProfile': true, '-ExecutionPolicy': 'Bypass' },
    // The data plane enforces timeoutMs itself (and kills the session); this is only a backstop.
    invocationTimeout: options.timeoutMs + 5000,
    throwOnInvocationError: false,
    ...(options.env ? { spawnOptions: { env: options.env } } : {}),
  } as ConstructorParameters<typeof PowerShell>[0]);
  completeOnSecondDelimiter(ps as unknown as BulkReader);
  return {
    async invoke(script: string): Promise<string> {
      const r = await ps.invoke(script);
      return stripTerminalControl(r.raw);
    },
    async dispose(): Promise<void> {
      await ps.dispose();
    },
  };
}

interface BulkReader {
  readBulkFromOutput(stream: NodeJS.ReadableStream, delimiter: string): Promise<Buffer>;
}

/**
 * node-powershell (child-shell 5) brackets each command with a random delimiter written to stdout and stderr
 * and waits for the second one, but looks for it only from where the latest chunk begins minus the
 * delimiter's length: when both delimiters arrive in one chunk (stderr: "D\nD\n" for a command that writes
 * no error, read in one go) it finds the first one again and waits for output that never comes, so the call
 * hangs until its timeout. Seen under real pwsh here about once in a few dozen calls; the same race exists on
 * Windows. This reader keeps child-shell's contract (the trimmed bytes between the two delimiters) and counts
 * delimiters over everything read for the call.
 */
function completeOnSecondDelimiter(shell: BulkReader): void {
  shell.readBulkFromOutput = (stream, delimiter) =>
    new Promise<Buffer>((resolve) => {
      let text = '';
      // A pipe, as child-shell's own reader uses, so the stream's flow control is the one it expects.
      const sink = new Writable({
        decodeStrings: false,
        write(chunk: string | Buffer, _encoding, done) {
          text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
          done();
          const first = text.indexOf(delimiter);
          const second = first === -1 ? -1 : text.indexOf(delimiter, first + delimiter.length);
          if (second === -1) return;
          stream.unpipe(sink);
          sink.end();
          resolve(Buffer.from(text.slice(first + delimiter.length, second).replace(/^[\r\n ]+|[\r\n ]+$/g, ''), 'utf8'));
        },
      });
      stream.pipe(sink);
    });
}
