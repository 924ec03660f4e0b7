/**
 * switchyard diagram [-o FILE.svg|FILE.png|FILE.dot]: a picture of the node (and, with the agent, its peers):
 * networks, endpoints, the host endpoint, load balancers and peers with the path to each. Without -o the SVG
 * goes to stdout.
 */
import type { Command } from 'commander';
import type { AgentStatus } from '../../agent/agent';
import { agentSocket, fetchAgentStatus } from '../../ops/agent-client';
import { readSnapshot } from '../../ops/snapshot';
import { buildTopology, toDot } from '../../ops/topology';
import { dotToSvg, svgToPng } from '../../ops/render';
import { writeFileAtomicSync } from '../../util/atomic-write';
import { withService, print } from '../context';
import { UsageError } from '../errors';
import { parseIntFlag } from '../output';

export function register(program: Command): void {
  program
    .command('diagram')
    .description('draw the node: networks, endpoints, host endpoint, load balancers, peers and the path to each (SVG, PNG or DOT)')
    .option('-o, --output <file>', 'FILE.svg, FILE.png or FILE.dot (default: SVG on stdout)')
    .option('--width <px>', 'PNG width in pixels, 100..10000 (default: the picture at 96 dpi)')
    .option('--socket <path>', "the agent's local API (env SWITCHYARD_AGENT_SOCKET)")
    .option('--no-agent', 'do not ask the agent: draw the data plane only')
    .action(async (opts: { output?: string; width?: string; socket?: string; agent: boolean }, cmd: Command) => {
      const out = pictureOptions(opts);
      const agent = opts.agent ? ((await fetchAgentStatus(agentSocket(opts.socket))) as AgentStatus | undefined) : undefined;
      const dot = await withService(cmd, async (svc) => toDot(buildTopology(await readSnapshot(svc), agent)));
      await emitPicture(dot, out);
    });
}

export interface PictureOptions {
  output?: string;
  ext: 'svg' | 'png' | 'dot';
  width?: number;
}

/** -o and --width, checked before anything is read. */
export function pictureOptions(opts: { output?: string; width?: string }): PictureOptions {
  const ext = opts.output ? /\.(svg|png|dot)$/i.exec(opts.output)?.[1]?.toLowerCase() : 'svg';
  if (!ext) throw new UsageError(`-o/--output: "${opts.output}" must end in .svg, .png or .dot`);
  const width = opts.width !== undefined ? parseIntFlag('--width', opts.width, 100, 10000) : undefined;
  return { ...(opts.output ? { output: opts.output } : {}), ext: ext as PictureOptions['ext'], ...(width ? { width } : {}) };
}

/** Writes the picture as DOT, SVG (Graphviz's layout) or PNG (resvg), to the file or stdout. */
export async function emitPicture(dot: string, o: PictureOptions): Promise<void> {
  if (o.ext === 'dot') return write(o.output, dot);
  const svg = await dotToSvg(dot);
  if (o.ext === 'svg') return write(o.output, svg);
  const png = svgToPng(svg, o.width);
  write(o.output, png.data);
  process.stderr.write(`wrote ${o.output} (${png.width}x${png.height})\n`);
}

function write(file: string | undefined, data: string | Buffer): void {
  if (!file) return print(typeof data === 'string' ? data : data.toString('base64'));
  writeFileAtomicSync(file, data, 0o644);
}
