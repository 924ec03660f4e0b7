/**
 * switchyard status: the node at a glance. Asks the agent over its local API and merges what the data plane
 * holds; without an agent, the data plane alone. Exit 1 when a problem of severity error is found.
 */
import type { Command } from 'commander';
import type { AgentStatus } from '../../agent/agent';
import { agentSocket, fetchAgentStatus } from '../../ops/agent-client';
import { readSnapshot } from '../../ops/snapshot';
import { buildStatus, statusText } from '../../ops/status';
import { withService, print } from '../context';
import { ExitWith, parseOutputFormat, toJson, toYaml } from '../output';
import { EXIT_FAILURE } from '../errors';

export function register(program: Command): void {
  program
    .command('status')
    .description("the node's networks, host endpoints, peers, load balancers, reconciles, CNI calls and problems (exit 1 on a problem)")
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .option(
      '--socket <path>',
      "the agent's local API (env SWITCHYARD_AGENT_SOCKET; default /run/switchyard/agent.sock, \\\\.\\pipe\\switchyard-agent)",
    )
    .option('--no-agent', 'do not ask the agent: read the data plane only')
    .action(async (opts: { output?: string; socket?: string; agent: boolean }, cmd: Command) => {
      const fmt = parseOutputFormat(opts.output);
      const socket = agentSocket(opts.socket);
      const agent = opts.agent ? ((await fetchAgentStatus(socket)) as AgentStatus | undefined) : undefined;
      const status = await withService(cmd, async (svc) => buildStatus(await readSnapshot(svc), socket, agent));
      print(fmt === 'json' ? toJson(status) : fmt === 'yaml' ? toYaml(status) : statusText(status));
      if (!status.ok) throw new ExitWith(EXIT_FAILURE);
    });
}
