/** Runs the built CLI as a separate process against a temporary memory data plane state file. */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../../..');
export const MAIN = path.join(ROOT, 'dist/src/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CliSandbox {
  readonly dir: string;
  readonly state: string;
  constructor(readonly extraEnv: NodeJS.ProcessEnv = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cli-'));
    this.state = path.join(this.dir, 'state.json');
  }
  env(more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SWITCHYARD_DATAPLANE: 'memory',
      SWITCHYARD_STATE: this.state,
      ...this.extraEnv,
      ...more,
    };
    delete env.NODE_EXTRA_CA_CERTS; // re-reading the CA bundle costs every child ~50 ms
    delete env.SWITCHYARD_CALL_LOG;
    return env;
  }
  run(args: string[], more: NodeJS.ProcessEnv = {}, input?: string): CliResult {
    const r = spawnSync(process.execPath, [MAIN, ...args], { env: this.env(more), encoding: 'utf8', input, cwd: this.dir });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }
  runAsync(args: string[]): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, ...args], { env: this.env(), cwd: this.dir });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }
  /** Runs and insists on exit 0, returning stdout. */
  ok(args: string[], more: NodeJS.ProcessEnv = {}): string {
    const r = this.run(args, more);
    if (r.code !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }
  file(name: string, text: string): string {
    const p = path.join(this.dir, name);
    fs.writeFileSync(p, text);
    return p;
  }
  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The entries of a tar.gz (the bundle's top folder stripped) and their text. */
export function tarList(file: string): Map<string, string> {
  const tar = require('tar') as typeof import('tar');
  const out = new Map<string, string>();
  tar.t({
    file,
    sync: true,
    onReadEntry: (e) => {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => out.set(e.path.split('/').slice(1).join('/'), Buffer.concat(chunks).toString('utf8')));
    },
  });
  return out;
}
