/**
 * The command examples of docs/*.md, extracted so tests can run them: every `$ ` line of a ```console
 * block (with `\` continuations) is an example; the `(exit N)` written in its output is the exit status
 * it must have (0 when none is written). A ```yaml or ```json block whose first line is `# <file name>`
 * is a file the examples use. Plain ``` blocks are synopses, not examples.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

export const ROOT = path.resolve(__dirname, '../../..');
const MAIN = path.join(ROOT, 'dist/src/cli/main.js');

export interface Example {
  doc: string;
  line: number;
  text: string;
  argv: string[];
  exit: number;
}
export interface DocExamples {
  doc: string;
  examples: Example[];
  files: Record<string, string>;
}

/** Shell words: single and double quotes, backslash escapes; no expansion (the docs use none). */
export function shellWords(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${text}`);
      cur += text.slice(i + 1, end);
      has = true;
      i = end;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) cur += text[j] === '\\' ? text[++j] : text[j];
      has = true;
      i = j;
    } else if (ch === '\\') {
      cur += text[++i] ?? '';
      has = true;
    } else if (ch === '#' && !has && cur === '') {
      break; // a comment
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

export function extract(docPath: string): DocExamples {
  const doc = path.relative(ROOT, docPath);
  const lines = fs.readFileSync(docPath, 'utf8').split('\n');
  const examples: Example[] = [];
  const files: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const lang = fence[1];
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    const body = lines.slice(i + 1, j);
    if ((lang === 'yaml' || lang === 'json') && /^#\s*(\S+)\s*$/.test(body[0] ?? ''))
      files[/^#\s*(\S+)/.exec(body[0])![1]] = body.slice(1).join('\n') + '\n';
    if (lang === 'console') {
      for (let k = 0; k < body.length; k++) {
        if (!body[k].startsWith('$ ')) continue;
        const start = k;
        let text = body[k].slice(2);
        while (text.endsWith('\\') && k + 1 < body.length) text = text.slice(0, -1) + ' ' + body[++k].trim();
        let exit = 0;
        for (let m = k + 1; m < body.length && !body[m].startsWith('$ '); m++) {
          const e = /\(exit (\d+)\)\s*$/.exec(body[m]);
          if (e) exit = Number(e[1]);
        }
        examples.push({ doc, line: i + 2 + start, text, argv: shellWords(text), exit });
      }
    }
    i = j;
  }
  return { doc, examples, files };
}

export function allDocs(): DocExamples[] {
  const dir = path.join(ROOT, 'docs');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => extract(path.join(dir, f)));
}

/** Examples that need root and network namespaces (the lab, `ip netns`): run by the root docs test only. */
export function needsNetns(e: Example): boolean {
  const argv = e.argv[0] === 'sudo' ? e.argv.slice(1) : e.argv;
  return argv[0] === 'ip' || (argv[0] === 'switchyard' && argv[1] === 'lab');
}

/** Runs one example in `cwd` with `env`: `switchyard` is this build's CLI; `sudo` is dropped (tests run as root or not at all). */
export function run(e: Example, cwd: string, env: NodeJS.ProcessEnv): { code: number; out: string } {
  let argv = e.argv[0] === 'sudo' ? e.argv.slice(1) : e.argv;
  if (argv[0] === 'switchyard') argv = [process.execPath, MAIN, ...argv.slice(1)];
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}
