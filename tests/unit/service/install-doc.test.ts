/**
 * docs/install.md: every command in its code blocks runs here and succeeds, in the order the page gives them.
 * `switchyard …` (also after `PS>`) runs the built CLI against a temporary root: Linux blocks with the fake
 * systemctl, Windows blocks with the SCM emulator; other `PS>` lines run in pwsh with Switchyard.Service
 * imported (skipped without a PowerShell); `kubectl apply -k DIR` runs as `kubectl kustomize DIR`.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAIN, ROOT, ServiceSandbox } from './helpers';

interface Block {
  kind: string;
  lines: string[];
}

function blocks(markdown: string): { tested: Block[]; untested: string[] } {
  const tested: Block[] = [];
  const untested: string[] = [];
  const re = /(<!-- test: (\w+) -->\n)?```[a-z]*\n([\s\S]*?)```/g;
  for (const m of markdown.matchAll(re)) {
    const lines = m[3]
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^(switchyard |kubectl |PS> )/.test(l));
    if (!lines.length) continue;
    if (m[2]) tested.push({ kind: m[2], lines });
    else untested.push(...lines);
  }
  return { tested, untested };
}

/** Splits a command line the way the shells on the page would for these simple commands (quotes, no expansion). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function findPwsh(): string | undefined {
  const candidates = [process.env.SWITCHYARD_PWSH, path.join(ROOT, 'tools/pwsh-host/out/pwsh')];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  const r = spawnSync('pwsh', ['-NoLogo', '-NoProfile', '-Command', 'exit 0'], { stdio: 'ignore' });
  return r.status === 0 ? 'pwsh' : undefined;
}

describe('docs/install.md: every command example runs', function () {
  this.timeout(300_000);
  const doc = fs.readFileSync(path.join(ROOT, 'docs/install.md'), 'utf8');
  const { tested, untested } = blocks(doc);
  const pwsh = findPwsh();
  const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
  let linux: ServiceSandbox;
  let windows: ServiceSandbox;
  let env: Record<'linux' | 'windows', NodeJS.ProcessEnv>;

  before(() => {
    linux = new ServiceSandbox('linux');
    windows = new ServiceSandbox('windows');
    for (const sb of [linux, windows]) sb.file('agent.yaml', 'nodeName: doc-node\n');
    const host = path.join(windows.root, 'C', 'Switchyard', 'switchyard-service.exe');
    fs.mkdirSync(path.dirname(host), { recursive: true });
    fs.writeFileSync(host, 'MZ');
    env = {
      linux: linux.env({ SWITCHYARD_SERVICE_ROOT: linux.root }),
      windows: windows.env({
        SWITCHYARD_SERVICE_ROOT: windows.root,
        SWITCHYARD_SERVICE_HOST_EXE: 'C:\\Switchyard\\switchyard-service.exe',
        SWITCHYARD_CLI: MAIN,
      }),
    };
  });
  after(() => {
    linux?.cleanup();
    windows?.cleanup();
  });

  it('has no untested command examples, and tests at least the install/uninstall path of both OSes', () => {
    assert.deepEqual(untested, []);
    const all = tested.flatMap((b) => b.lines.map((l) => `${b.kind}: ${l}`));
    for (const want of [
      'linux: switchyard service install --config agent.yaml',
      'linux: switchyard service uninstall',
      'windows: PS> switchyard service install --config agent.yaml',
      'windows: PS> switchyard service uninstall',
    ])
      assert.ok(all.includes(want), want);
  });

  let n = 0;
  for (const b of tested) {
    for (const line of b.lines) {
      it(`${String(++n).padStart(2, '0')} [${b.kind}] ${line}`, function () {
        const cmd = line.replace(/^PS> /, '');
        if (b.kind === 'kubectl') {
          if (!hasKubectl) this.skip();
          const [, verb, flag, dir] = words(cmd);
          assert.deepEqual([verb, flag], ['apply', '-k']);
          const r = spawnSync('kubectl', ['kustomize', path.join(ROOT, dir)], { encoding: 'utf8' });
          assert.equal(r.status, 0, r.stderr);
          assert.match(r.stdout, /kind: DaemonSet/);
          return;
        }
        const sb = b.kind === 'windows' ? windows : linux;
        const e = env[b.kind as 'linux' | 'windows'];
        let r;
        if (cmd.startsWith('switchyard ')) {
          r = spawnSync(process.execPath, [MAIN, ...words(cmd).slice(1)], { env: e, encoding: 'utf8', cwd: sb.dir });
        } else {
          if (!pwsh) this.skip();
          const script = `$ErrorActionPreference = 'Stop'; Import-Module ${JSON.stringify(path.join(ROOT, 'ps-modules/Switchyard.Service/Switchyard.Service.psd1')).replace(/^"|"$/g, "'")}; ${cmd} | Out-String -Width 200 | Write-Output`;
          r = spawnSync(pwsh!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script], { env: e, encoding: 'utf8', cwd: sb.dir });
        }
        assert.equal(r.status, 0, `${cmd}\n${r.stderr}${r.stdout}`);
        assert.doesNotMatch(r.stdout + r.stderr, /\berror\b/i);
      });
    }
  }
});
