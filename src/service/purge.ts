/**
 * The hook `service uninstall --purge` calls to remove the node's pod network: the agent's own cleanup,
 * run as `switchyard agent cleanup --config FILE` in a child process (the same CLI, so the agent's code decides
 * what it created and removes only that). SWITCHYARD_AGENT_CLEANUP names another executable to run instead
 * (given `--config FILE`), for packaging and tests.
 *
 * COORDINATOR: the agent must provide the `agent cleanup --config FILE` subcommand (exit 0 when the network and
 * everything the agent created are gone). Until it exists, --purge is refused before anything is changed.
 */
import { execFile } from 'node:child_process';

export interface AgentCleanup {
  /** Why the cleanup cannot run, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  run(configPath: string): Promise<string>;
  /** The command line, for --dry-run and messages. */
  describe(configPath: string): string[];
}

function exec(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stdout ? err.message : '') });
    });
  });
}

export function agentCleanup(nodePath: string, cliPath: string, env: NodeJS.ProcessEnv = process.env): AgentCleanup {
  const override = env.SWITCHYARD_AGENT_CLEANUP;
  const argv = (cfg: string) => (override ? [override, '--config', cfg] : [nodePath, cliPath, 'agent', 'cleanup', '--config', cfg]);
  return {
    async unavailable() {
      if (override) return undefined;
      // An unknown subcommand with --help prints the parent's help and exits 0: look for the command's own usage.
      const r = await exec(nodePath, [cliPath, 'agent', 'cleanup', '--help']);
      return r.code === 0 && /Usage: switchyard agent cleanup\b/.test(r.stdout)
        ? undefined
        : "this build has no `switchyard agent cleanup` (the agent's cleanup), so the pod network cannot be removed";
    },
    async run(cfg) {
      const [file, ...args] = argv(cfg);
      const r = await exec(file, args);
      if (r.code !== 0) throw new Error(`agent cleanup (${argv(cfg).join(' ')}) exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
      return r.stdout;
    },
    describe: argv,
  };
}
