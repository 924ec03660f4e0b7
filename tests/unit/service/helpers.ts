/** Runs `switchyard service ...` as a separate process with a temp root, a fake systemctl on PATH and a fake SCM. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../../..');
export const MAIN = path.join(ROOT, 'dist/src/cli/main.js');
export const FIXTURES = path.join(ROOT, 'tests/fixtures/service');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class ServiceSandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-svc-'));
  readonly root = path.join(this.dir, 'root');
  readonly systemctlDir = path.join(this.dir, 'systemctl');
  readonly scmState = path.join(this.dir, 'scm.json');
  readonly cleanupLog = path.join(this.dir, 'cleanup.log');

  constructor(readonly platform: 'linux' | 'windows' = 'linux') {
    fs.mkdirSync(this.root);
    fs.mkdirSync(this.systemctlDir);
  }

  env(more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${FIXTURES}:${process.env.PATH}`,
      FAKE_SYSTEMCTL_DIR: this.systemctlDir,
      FAKE_CLEANUP_LOG: this.cleanupLog,
      SWITCHYARD_SERVICE_PLATFORM: this.platform,
      SWITCHYARD_SCM: `memory:${this.scmState}`,
      ProgramData: 'C:\\ProgramData',
      ...more,
    };
    delete env.NODE_EXTRA_CA_CERTS;
    return env;
  }

  run(args: string[], more: NodeJS.ProcessEnv = {}): Run {
    const r = spawnSync(process.execPath, [MAIN, 'service', ...args], { env: this.env(more), encoding: 'utf8', cwd: this.dir });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  ok(args: string[], more: NodeJS.ProcessEnv = {}): string {
    const r = this.run(args, more);
    if (r.code !== 0) throw new Error(`switchyard service ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** systemctl calls since the last take, one string per call with arguments joined by "|". */
  takeCalls(): string[] {
    const f = path.join(this.systemctlDir, 'calls');
    if (!fs.existsSync(f)) return [];
    const calls = fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean);
    fs.rmSync(f);
    return calls;
  }

  file(name: string, text: string): string {
    const p = path.join(this.dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
    return p;
  }

  at(hostPath: string): string {
    return path.join(this.root, hostPath);
  }

  /** Every file under the root, relative, sorted. */
  tree(): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(path.relative(this.root, p));
      }
    };
    walk(this.root);
    return out.sort();
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
