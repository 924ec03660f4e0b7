/** Shared plumbing for the linux root suites: root/netns detection, unique names, background processes. */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export function canRunNetns(): boolean {
  if (process.platform !== 'linux' || typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  const probe = `sy-probe-${crypto.randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const uniquePrefix = (tag: string) => `${tag}${crypto.randomBytes(2).toString('hex')}`;

export const TCP_HELPER = path.join(__dirname, 'tcp.js');

/** Starts a TCP responder in `ns` and resolves once it listens. */
export function serve(ns: string, port: number, name: string): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, TCP_HELPER, 'serve', String(port), name], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`responder in ${ns} exited with ${code}`)));
  });
}

/** Connects from `ns` and returns the responder's answer ("<name> <source address seen>"), or undefined. */
export function get(ns: string, host: string, port: number): string | undefined {
  try {
    return execFileSync('ip', ['netns', 'exec', ns, process.execPath, TCP_HELPER, 'get', host, String(port)], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/** Runs tcpdump in `ns` until `count` packets were seen, while `during` runs. Returns tcpdump's text. */
export async function capture(
  ns: string,
  iface: string,
  filter: string[],
  count: number,
  during: () => void | Promise<void>,
): Promise<string> {
  const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-l', '-nn', '-i', iface, '-c', String(count), ...filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  await new Promise<void>((resolve) =>
    child.stderr!.on('data', (d) => {
      if (/listening on/.test(d.toString())) resolve();
    }),
  );
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await during();
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  } finally {
    child.kill('SIGTERM');
  }
  await done;
  return out;
}
