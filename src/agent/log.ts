/**
 * The agent's structured log: winston JSON lines, to stdout in the foreground or to `--log-file` with
 * size-based rotation. Metadata passes through util/log's redaction, and the agent never hands it a netconf,
 * runtimeConfig or token in the first place (it logs names, IDs, prefixes and reasons).
 */
import * as path from 'node:path';
import { prepareLogFile, redact, type Logger } from '../util/log';

export interface AgentLogOptions {
  file?: string;
  level?: string;
  /** Rotation: bytes per file and files kept (the current one included). */
  maxSize?: number;
  maxFiles?: number;
  /** Tests: no output at all. */
  silent?: boolean;
}

export interface AgentLogger extends Logger {
  close(): Promise<void>;
}

export function createAgentLogger(opts: AgentLogOptions = {}): AgentLogger {
  const winston = require('winston') as typeof import('winston');
  // Fixed modes (0600 file, 0700 new directories) and no symlink followed (src/util/log.ts).
  if (opts.file) prepareLogFile(path.resolve(opts.file));
  const transports = opts.file
    ? [
        new winston.transports.File({
          filename: path.resolve(opts.file),
          maxsize: opts.maxSize ?? 10 * 1024 * 1024,
          maxFiles: opts.maxFiles ?? 5,
          tailable: true,
          options: { flags: 'a', mode: 0o600 },
        }),
      ]
    : [new winston.transports.Console({ stderrLevels: [] })];
  const w = winston.createLogger({
    level: opts.level ?? 'info',
    silent: opts.silent === true,
    defaultMeta: { component: 'agent', pid: process.pid },
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports,
  });
  const emit = (level: 'error' | 'warn' | 'info' | 'debug') => (message: string, meta?: Record<string, unknown>) => {
    w.log(level, message, meta ? (redact(meta) as Record<string, unknown>) : undefined);
  };
  return {
    error: emit('error'),
    warn: emit('warn'),
    info: emit('info'),
    debug: emit('debug'),
    close: () =>
      new Promise<void>((resolve) => {
        if (!opts.file) return resolve();
        // The file transport finishes after the logger does: wait for it, so the last lines are on disk.
        const t = transports[0];
        const timer = setTimeout(resolve, 1000);
        t.once('finish', () => {
          clearTimeout(timer);
          resolve();
        });
        w.end();
      }),
  };
}
