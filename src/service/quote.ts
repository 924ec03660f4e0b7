/**
 * Windows command lines: one string that the child splits back into argv with CommandLineToArgvW's rules
 * (the same as the Microsoft C runtime's since 2008). Every argument the service installer puts into a
 * command line (the SCM's ImagePath) goes through quoteWindowsArg, and native/service-host/quote.c implements
 * the same rules for the command line the service host gives CreateProcessW; tests hold both to one corpus.
 *
 * The rules, for an argument after the program name:
 * - 2n backslashes then a quote → n backslashes, and the quote opens or closes a quoted section;
 * - 2n+1 backslashes then a quote → n backslashes and a literal quote;
 * - backslashes not followed by a quote are literal;
 * - space and tab separate arguments outside a quoted section.
 * The program name (argv[0]) is different: it ends at the next quote when it starts with one, else at the
 * next space or tab, and backslashes are never escapes — so a program path can be quoted but cannot hold a
 * quote (no Windows file name can).
 */

export class CommandLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandLineError';
  }
}

const NEEDS_QUOTES = /[ \t\n\v"]/;

/** One argument (not the program name), quoted only when it has to be. */
export function quoteWindowsArg(arg: string): string {
  if (arg.length > 0 && !NEEDS_QUOTES.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    if (ch === '"') {
      out += '\\'.repeat(backslashes * 2 + 1) + '"';
    } else {
      out += '\\'.repeat(backslashes) + ch;
    }
    backslashes = 0;
  }
  // The closing quote must not be escaped by the argument's own trailing backslashes.
  return out + '\\'.repeat(backslashes * 2) + '"';
}

/** The program name: quoted when it has blanks; a quote or an empty name cannot be expressed. */
export function quoteWindowsProgram(program: string): string {
  if (program.length === 0) throw new CommandLineError('program path is empty');
  if (program.includes('"'))
    throw new CommandLineError(`program path ${JSON.stringify(program)} contains a quote, which a Windows command line cannot carry`);
  if (/[\r\n\0]/.test(program)) throw new CommandLineError(`program path ${JSON.stringify(program)} contains a line break or NUL`);
  return /[ \t]/.test(program) ? `"${program}"` : program;
}

/** argv → the command line CreateProcessW (or the SCM's ImagePath) takes. NUL cannot be carried. */
export function windowsCommandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new CommandLineError('empty argv');
  argv.forEach((a, i) => {
    if (a.includes('\0')) throw new CommandLineError(`argument ${i} contains NUL`);
  });
  return [quoteWindowsProgram(argv[0]), ...argv.slice(1).map(quoteWindowsArg)].join(' ');
}

/**
 * CommandLineToArgvW, written out: what a Windows program sees for `line`. Used by tests to prove the
 * quoting round-trips, and by `service status` to show the installed ImagePath as argv.
 */
export function parseWindowsCommandLine(line: string): string[] {
  const argv: string[] = [];
  let i = 0;
  // Program name.
  let prog = '';
  if (line[0] === '"') {
    i = 1;
    while (i < line.length && line[i] !== '"') prog += line[i++];
    if (i < line.length) i++; // closing quote
  } else {
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') prog += line[i++];
  }
  argv.push(prog);
  // The rest.
  for (;;) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= line.length) break;
    let arg = '';
    let quoted = false;
    while (i < line.length) {
      const ch = line[i];
      if (!quoted && (ch === ' ' || ch === '\t')) break;
      if (ch === '\\') {
        let n = 0;
        while (line[i] === '\\') {
          n++;
          i++;
        }
        if (line[i] === '"') {
          arg += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) {
            arg += '"';
            i++;
          }
        } else {
          arg += '\\'.repeat(n);
        }
        continue;
      }
      if (ch === '"') {
        i++;
        // Inside a quoted section, "" is a literal quote and the section goes on (post-2008 rule).
        if (quoted && line[i] === '"') {
          arg += '"';
          i++;
          continue;
        }
        quoted = !quoted;
        continue;
      }
      arg += ch;
      i++;
    }
    argv.push(arg);
  }
  return argv;
}
