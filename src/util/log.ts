/**
 * Operational logs through winston, off unless asked for: winston costs ~100 ms to load, which a per-pod
 * CNI process must not pay on every ADD. With SWITCHYARD_LOG_FILE (and optionally SWITCHYARD_LOG_LEVEL,
 * default info) every process appends JSON lines to that file; kubelet often discards a plugin's stderr,
 * so this is where an operator finds what a CNI call did.
 *
 * Processes end with process.exitCode rather than process.exit(), so Node drains the file stream first.
 *
 * Secrets never reach the log: values under keys that look like credentials are replaced before writing.
 */

export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

const SECRET_KEY = /pass(word)?|secret|token|credential|private[-_]?key|^key$|authorization|cert(ificate)?[-_]?data|key[-_]?data/i;

/** Deep copy with credential-looking values replaced, so meta can be logged as given. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

const NOOP: Logger = { error() {}, warn() {}, info() {}, debug() {} };

/**
 * The log file and its missing directories are created with fixed modes (0600 / 0700) whatever the umask,
 * and never through a symlink: a link planted where the log goes is refused (logging is then off, said
 * once on stderr) rather than followed by a root process.
 */
export function prepareLogFile(file: string): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const { mkdirPrivate } = require('./atomic-write') as typeof import('./atomic-write');
  mkdirPrivate(path.dirname(path.resolve(file)));
  const fd = fs.openSync(
    file,
    fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0),
    0o600,
  );
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) fs.fchmodSync(fd, 0o600);
  } finally {
    fs.closeSync(fd);
  }
}
const cache = new Map<string, Logger>();

export function getLogger(component: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const file = env.SWITCHYARD_LOG_FILE;
  if (!file) return NOOP;
  const key = `${component}\u0000${file}`;
  let logger = cache.get(key);
  if (logger) return logger;
  try {
    prepareLogFile(file);
  } catch (e) {
    process.stderr.write(`switchyard: not logging to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    cache.set(key, NOOP);
    return NOOP;
  }
  const winston = require('winston') as typeof import('winston');
  const w = winston.createLogger({
    level: env.SWITCHYARD_LOG_LEVEL ?? 'info',
    defaultMeta: { component, pid: process.pid },
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.File({ filename: file, options: { flags: 'a', mode: 0o600 } })],
  });
  const emit = (level: keyof Logger) => (message: string, meta?: Record<string, unknown>) => {
    w.log(level, message, meta ? (redact(meta) as Record<string, unknown>) : undefined);
  };
  logger = { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug') };
  cache.set(key, logger);
  return logger;
}
