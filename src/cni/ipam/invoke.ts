/**
 * Delegation to another plugin binary, as the reference does it (cni pkg/invoke): the binary is searched
 * in CNI_PATH (`;` on Windows, trying `.exe` first), gets the caller's environment with CNI_COMMAND
 * overridden and the very same stdin bytes; its stderr is passed through; a non-zero exit is read back
 * from stdout as a CNI error keeping its code.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CniError } from '../protocol/errors';
import { writeCallStderr } from '../call-context';

export class DelegateError extends Error {}

export function findInPath(plugin: string, cniPath: string, platform: NodeJS.Platform = process.platform): string {
  if (plugin === '') throw new DelegateError('no plugin name provided');
  // Named, not echoed: the error JSON is logged and ipam.type is whatever the config says.
  if (plugin.includes('/') || plugin.includes('\\')) throw new DelegateError('invalid plugin name in ipam.type: a path, not a file name');
  const sep = platform === 'win32' ? ';' : ':';
  const dirs = cniPath.split(sep).filter((d) => d !== '');
  if (dirs.length === 0) throw new DelegateError('no paths provided');
  const exts = platform === 'win32' ? ['.exe', ''] : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const full = path.join(dir, plugin + ext);
      try {
        if (fs.statSync(full).isFile()) return full;
      } catch {
        // not in this directory
      }
    }
  }
  throw new DelegateError(`failed to find plugin "${plugin}" in path [${dirs.join(' ')}]`);
}

export interface ExecOptions {
  env: Record<string, string | undefined>;
  stdin: Buffer;
  command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC';
}

/** Runs the plugin and returns its stdout on success; throws CniError (code kept) on failure. */
export function execPlugin(file: string, opts: ExecOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
    env.CNI_COMMAND = opts.command;
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err.push(d);
      writeCallStderr(d);
    });
    child.on('error', (e) => reject(new DelegateError(`failed to execute ${file}: ${e.message}`)));
    child.stdin.on('error', () => {
      // the child may exit without reading stdin; its exit status tells the story
    });
    child.stdin.end(opts.stdin);
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) return resolve(stdout);
      const status = signal ? `signal: ${signal}` : `exit status ${code}`;
      if (stdout.trim() === '') {
        const stderr = Buffer.concat(err).toString('utf8');
        return reject(
          new CniError(0, stderr ? `netplugin failed: ${JSON.stringify(stderr)}` : `netplugin failed with no error message: ${status}`),
        );
      }
      try {
        const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
        reject(
          new CniError(
            typeof e.code === 'number' ? e.code : 0,
            typeof e.msg === 'string' ? e.msg : '',
            typeof e.details === 'string' ? e.details : '',
          ),
        );
      } catch (pe) {
        reject(
          new CniError(0, `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}: ${(pe as Error).message}`),
        );
      }
    });
  });
}

export async function delegate(plugin: string, opts: ExecOptions & { cniPath: string }): Promise<string> {
  return execPlugin(findInPath(plugin, opts.cniPath), opts);
}
