/**
 * Wine for the service-host tests: a throw-away WINEPREFIX (WINEDEBUG=-all), commands run with execFile,
 * and the prefix's wineserver stopped and the prefix removed afterwards. `wineUnavailable()` says why the
 * Wine tests must skip (no wine64, or the Windows executables were not built because mingw-w64 is missing).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const WINE64 = process.env.SWITCHYARD_WINE64 ?? '/usr/lib/wine/wine64';
export const WINESERVER = path.join(path.dirname(WINE64), 'wineserver');
export const NATIVE_BUILD = path.resolve(__dirname, '../../../native/build');

export function wineUnavailable(...exes: string[]): string | undefined {
  if (!fs.existsSync(WINE64)) return `${WINE64} is missing (install Debian's wine64)`;
  for (const e of exes)
    if (!fs.existsSync(path.join(NATIVE_BUILD, e))) return `native/build/${e} is missing (mingw-w64 absent at build time)`;
  return undefined;
}

export class WinePrefix {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-wine-'));
  readonly env: NodeJS.ProcessEnv = { ...process.env, WINEPREFIX: this.dir, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };

  /** C:\ in this prefix, as a Linux path. */
  get driveC(): string {
    return path.join(this.dir, 'drive_c');
  }

  run(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(WINE64, args, { env: this.env, input, encoding: 'utf8', timeout: 120_000, cwd: this.dir });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /**
   * Creates the prefix and waits until wineboot's processes are done (about 10 s); services created before
   * that are lost when the first-run update restarts services.exe.
   */
  init(): void {
    execFileSync(WINE64, ['wineboot', '-u'], { env: this.env, stdio: 'ignore', timeout: 180_000 });
    execFileSync(WINESERVER, ['-w'], { env: this.env, stdio: 'ignore', timeout: 180_000 });
    // A wineserver (and services.exe) started by a later call would inherit that call's stdout pipe and hold it
    // open for seconds after the call ends; start them here with no pipes, and keep wineserver running.
    execFileSync(WINESERVER, ['-p'], { env: this.env, stdio: 'ignore', timeout: 30_000 });
    execFileSync(WINE64, ['sc.exe', 'query', 'eventlog'], { env: this.env, stdio: 'ignore', timeout: 60_000 });
  }

  dispose(): void {
    spawnSync(WINESERVER, ['-k'], { env: this.env, stdio: 'ignore', timeout: 30_000 });
    // The exiting wineserver saves the registry into the prefix, possibly after a first removal.
    for (let i = 0; i < 20 && fs.existsSync(this.dir); i++) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      spawnSync('sleep', ['0.25']);
    }
  }
}
