/**
 * switchyard lab up|down|list|demo: a multi-node cluster network as network namespaces on this machine (root).
 * By default each node runs a `switchyard agent` (etcd mode against an etcd the lab starts, or kubernetes
 * mode against the shipped fake API server) and pods are added through the CNI entrypoints against the
 * agents' sockets (src/lab/agent-lab.ts); `--no-agents` programs the nodes directly (src/lab/netns-driver.ts).
 * Without root, `demo` builds the same objects on the memory emulator and says so.
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDryRun, print } from '../context';
import { parseIntFlag, toJson } from '../output';
import { UsageError } from '../errors';
import type { LabNetworkType, LabSpec } from '../../lab/spec';
import { LabSpecError, nodeNetwork, peerRoute, planLab } from '../../lab/spec';
import type { AgentLab, AgentLabOptions, LabCniType } from '../../lab/agent-lab';
import { macFromIpv4, toHnsMac } from '../../net/mac';

interface LabOpts {
  prefix: string;
  nodes: string;
  pods: string;
  type: string;
  agents: boolean;
  subnetSource: string;
  cniType?: string;
}

function agentOptions(o: LabOpts): AgentLabOptions {
  if (o.subnetSource !== 'etcd' && o.subnetSource !== 'kubernetes')
    throw new UsageError(`--subnet-source: "${o.subnetSource}" must be etcd or kubernetes`);
  if (o.cniType !== undefined && !['switchyard', 'win-bridge', 'win-overlay'].includes(o.cniType))
    throw new UsageError(`--cni-type: "${o.cniType}" must be switchyard, win-bridge or win-overlay`);
  if (!o.agents && (o.subnetSource !== 'etcd' || o.cniType !== undefined))
    throw new UsageError('--no-agents: the lab without agents has no subnet source or CNI type; drop --subnet-source/--cni-type');
  return { subnetSource: o.subnetSource, ...(o.cniType ? { cniType: o.cniType as LabCniType } : {}) };
}

function spec(o: LabOpts): LabSpec {
  const type = ({ overlay: 'Overlay', l2bridge: 'L2Bridge' } as Record<string, LabNetworkType>)[o.type.toLowerCase()];
  if (!type) throw new UsageError(`--type: "${o.type}" must be overlay or l2bridge`);
  const nodes = parseIntFlag('--nodes', o.nodes, 1, MAX_NODES);
  const pods = parseIntFlag('--pods', o.pods, 0, MAX_PODS);
  try {
    planLab({ prefix: o.prefix, nodes, podsPerNode: pods, type });
  } catch (e) {
    if (e instanceof LabSpecError)
      throw new UsageError(
        e.message
          .replace(/^prefix/, '--prefix')
          .replace(/^nodes/, '--nodes')
          .replace(/^podsPerNode/, '--pods'),
      );
    throw e;
  }
  return { prefix: o.prefix, nodes, podsPerNode: pods, type };
}

/** planLab's limits (src/lab/spec.ts): node underlay addresses .10 up, one /24 of pods per node. */
const MAX_NODES = 50;
const MAX_PODS = 200;

const isRoot = () => process.platform === 'linux' && process.getuid?.() === 0;

function options(c: Command, prefix: string): Command {
  return c
    .option('--prefix <name>', 'prefix of every namespace the lab creates', prefix)
    .option('--nodes <n>', `number of nodes, 1..${MAX_NODES}`, '2')
    .option('--pods <n>', `pods per node, 0..${MAX_PODS}`, '2')
    .option('--type <type>', 'overlay (vxlan) or l2bridge (host-gw)', 'overlay')
    .option('--no-agents', 'no agents: program each node directly (the lab before agents)')
    .option(
      '--subnet-source <source>',
      'where the agents learn subnets and peers: etcd (a real etcd the lab starts) or kubernetes (the fake API server)',
      'etcd',
    )
    .option(
      '--cni-type <type>',
      "the pods' CNI plugin: switchyard, win-bridge or win-overlay (default: win-bridge on l2bridge, win-overlay on overlay)",
    );
}

/** The agent lab's picture: store, each node's agent and subnet, each pod's address. */
function describeAgentLab(l: AgentLab): void {
  print(
    l.etcd
      ? `etcd ${l.etcd.endpoint} (pid ${l.etcd.process.pid}, data ${l.etcd.dataDir})\n`
      : `fake API server ${l.apiserver!.url} (pid ${l.apiserver!.process.pid}), kubeconfig ${l.apiserver!.kubeconfig}\n`,
  );
  for (const a of l.agents) {
    if (!a.process) continue;
    print(
      `node ${a.node.name}: underlay ${a.node.underlayIp}, pod subnet ${l.subnet(a.node)}, agent pid ${a.process.pid}, socket ${a.socket}, log ${a.log}\n`,
    );
    for (const p of l.pods.filter((x) => x.node === a.node))
      print(`  pod ${p.name}: ${p.ip} via ${p.gateway ?? '?'} (CNI ADD through ${l.netConf(a.node).type} → the agent)\n`);
  }
}

async function agentDemo(o: LabOpts, s: LabSpec): Promise<void> {
  const { AgentLab } = require('../../lab/agent-lab') as typeof import('../../lab/agent-lab');
  const l = new AgentLab(s, agentOptions(o));
  try {
    print(
      `bringing up ${s.nodes} nodes × ${s.podsPerNode} pods on ${s.type === 'Overlay' ? 'vxlan' : 'host-gw'}: ${o.subnetSource === 'etcd' ? 'an etcd' : 'the fake API server'} on 127.0.0.1, one switchyard agent per node namespace (${s.prefix}-n*), pods added through the CNI entrypoint against each agent's socket\n`,
    );
    await l.up();
    describeAgentLab(l);
    const from = l.pods[0];
    if (from) {
      for (const to of l.pods.filter((p) => p !== from)) {
        const ok = l.ok(from.name, ['ping', '-c', '1', '-W', '2', to.ip]);
        print(`ping ${from.name} (${from.ip}) → ${to.name} (${to.ip}, node ${to.node.name}): ${ok ? 'ok' : 'FAILED'}\n`);
      }
    }
  } finally {
    await l.down();
    print('agents and store stopped, namespaces and state removed\n');
  }
}

async function demo(o: LabOpts): Promise<void> {
  const s = spec(o);
  if (!isRoot()) {
    await emulatorDemo(s);
    return;
  }
  if (o.agents) return agentDemo(o, s);
  const { NetnsLab } = require('../../lab/netns-driver') as typeof import('../../lab/netns-driver');
  const lab = new NetnsLab(s);
  try {
    print(`bringing up ${s.nodes} nodes × ${s.podsPerNode} pods on ${s.type} with the linux data plane (namespaces ${s.prefix}-*)\n`);
    await lab.up();
    for (const n of lab.plan.nodes) {
      print(
        `node ${n.name}: underlay ${n.underlayIp}, pod subnet ${n.podSubnet}${lab.runtimes[n.index].drMac ? `, VTEP MAC ${lab.runtimes[n.index].drMac}` : ''}\n`,
      );
      for (const p of n.pods)
        print(`  pod ${p.name}: ${lab.exec(p.name, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']).split(/\s+/)[3]}\n`);
    }
    const from = lab.plan.nodes[0].pods[0];
    if (from) {
      for (const to of lab.plan.nodes.flatMap((n) => n.pods).filter((p) => p !== from)) {
        const ok = lab.ok(from.name, ['ping', '-c', '1', '-W', '2', to.ip]);
        print(`ping ${from.name} (${from.ip}) → ${to.name} (${to.ip}): ${ok ? 'ok' : 'FAILED'}\n`);
      }
    }
  } finally {
    await lab.down();
    print('lab torn down\n');
  }
}

async function emulatorDemo(s: LabSpec): Promise<void> {
  const { openDataplane } = require('../../dataplane/factory') as typeof import('../../dataplane/factory');
  const plan = planLab(s);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-lab-demo-'));
  print('not root: network namespaces are unavailable, so the demo runs on the memory emulator (documents only, no packets)\n');
  try {
    const nets: { id: string; dr?: string }[] = [];
    const dps = [];
    for (const n of plan.nodes) {
      const dp = await openDataplane({ kind: 'memory', statePath: path.join(dir, `${n.name}.json`) });
      dps.push(dp);
      const net = await dp.createNetwork(nodeNetwork(plan, n));
      nets.push({
        id: net.ID!,
        dr: toHnsMac(macFromIpv4('0E-5A', n.underlayIp)!),
      });
      print(`node ${n.name}: network ${net.ID} (${net.Type}), pod subnet ${n.podSubnet}\n`);
      for (const p of n.pods) {
        const ep = await dp.createEndpoint(net.ID!, { Name: p.name, IpConfigurations: [{ IpAddress: p.ip, PrefixLength: 24 }] });
        print(`  endpoint ${ep.Name}: ${ep.IpConfigurations?.[0]?.IpAddress}\n`);
      }
    }
    for (const [i, n] of plan.nodes.entries()) {
      const peers = plan.nodes.filter((p) => p !== n).map((p) => peerRoute(plan, p, nets[p.index].dr));
      if (peers.length)
        await dps[i].modifyNetwork(nets[i].id, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: peers } });
      print(`node ${n.name}: ${peers.length} RemoteSubnetRoute policies\n`);
    }
    for (const dp of dps) await dp.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const NetnsLab = () => (require('../../lab/netns-driver') as typeof import('../../lab/netns-driver')).NetnsLab;

export function register(program: Command): void {
  const lab = program.command('lab').description('a multi-node pod network as network namespaces on this machine (root)');
  options(lab.command('up').description('bring a lab up and leave it running (remove it with `lab down`)'), 'sylab').action(
    async (o: LabOpts, cmd: Command) => {
      const s = spec(o);
      const agentOpts = agentOptions(o);
      if (
        NetnsLab()
          .list()
          .some((r) => r.spec.prefix === s.prefix)
      )
        throw new UsageError(`--prefix: a lab "${s.prefix}" is running already (lab list; lab down --prefix ${s.prefix})`);
      if (isDryRun(cmd)) {
        const { describeLabUp } = require('../../ops/lab-dry-run') as typeof import('../../ops/lab-dry-run');
        return print(describeLabUp(planLab(s), o.agents ? agentOpts : undefined, NetnsLab().recordPath(s.prefix), toJson));
      }
      if (!isRoot()) throw new UsageError('lab up needs root (network namespaces); `lab demo` runs on the emulator without it');
      if (o.agents) {
        const { AgentLab } = require('../../lab/agent-lab') as typeof import('../../lab/agent-lab');
        const l = new AgentLab(s, agentOpts);
        await l.up();
        describeAgentLab(l);
        print(`recorded in ${l.detach()}; remove it with: switchyard lab down --prefix ${s.prefix}\n`);
        return;
      }
      const l = new (NetnsLab())(s);
      await l.up();
      for (const n of l.plan.nodes) {
        print(
          `${n.name}  ${n.underlayIp}  ${n.podSubnet}  SWITCHYARD_LINUX_NETNS=/var/run/netns/${n.name} SWITCHYARD_LINUX_STATE=${l.nodeEnv(n).SWITCHYARD_LINUX_STATE}\n`,
        );
        for (const p of n.pods) print(`  ${p.name}  ${p.ip}\n`);
      }
      print(`recorded in ${await l.detach()}\n`);
    },
  );
  lab
    .command('down')
    .description('remove a lab left running by `lab up`: stop its agents and store, delete its namespaces and files')
    .option('--prefix <name>', 'the prefix given to lab up', 'sylab')
    .action((o: { prefix: string }, cmd: Command) => {
      let removed: string[];
      const rec = NetnsLab()
        .list()
        .find((r) => r.spec.prefix === o.prefix);
      if (isDryRun(cmd)) {
        if (!rec) throw new UsageError(`--prefix: no running lab with prefix "${o.prefix}" (lab list shows the running ones)`);
        const { describeLabDown } = require('../../ops/lab-dry-run') as typeof import('../../ops/lab-dry-run');
        return print(describeLabDown(rec, NetnsLab().recordPath(o.prefix)));
      }
      if (!isRoot()) throw new UsageError('lab down needs root (network namespaces)');
      try {
        removed = NetnsLab().teardown(o.prefix);
      } catch (e) {
        throw new UsageError(`--prefix: ${(e as Error).message}`);
      }
      print(`stopped ${rec?.processes?.length ?? 0} processes, removed ${removed.length} namespaces and ${rec?.stateDir ?? 'the state'}\n`);
    });
  lab
    .command('list')
    .description('labs left running by `lab up` on this machine')
    .action(() => {
      const { isRunning } = require('../../lab/processes') as typeof import('../../lab/processes');
      const recs = NetnsLab().list();
      if (!recs.length) return print('no lab is running\n');
      for (const r of recs) {
        const procs = r.processes ?? [];
        const running = procs.filter((p) => isRunning(p)).length;
        print(
          `${r.spec.prefix}: ${r.spec.nodes} nodes, ${r.spec.type === 'Overlay' ? 'vxlan' : 'host-gw'}, ${r.subnetSource ? `${r.subnetSource} ${r.store}` : 'no agents'}, ${r.namespaces.length} namespaces, ${running}/${procs.length} processes running, state ${r.stateDir}\n`,
        );
        for (const a of r.agents ?? []) print(`  ${a.node}: ${a.subnet ?? '?'}, SWITCHYARD_AGENT_SOCKET=${a.socket}\n`);
      }
    });
  lab
    .command('diagram')
    .description('draw a running lab: every node (its network, host endpoint, pods) and the path between them (SVG, PNG or DOT)')
    .option('--prefix <name>', 'the prefix given to lab up', 'sylab')
    .option('-o, --output <file>', 'FILE.svg, FILE.png or FILE.dot (default: SVG on stdout)')
    .option('--width <px>', 'PNG width in pixels, 100..10000 (default: the picture at 96 dpi)')
    .action(async (o: { prefix: string; output?: string; width?: string }) => {
      const { pictureOptions, emitPicture } = require('./diagram') as typeof import('./diagram');
      const out = pictureOptions(o);
      if (!isRoot()) throw new UsageError('lab diagram needs root (it reads the nodes inside their network namespaces)');
      const rec = NetnsLab()
        .list()
        .find((r) => r.spec.prefix === o.prefix);
      if (!rec) throw new UsageError(`--prefix: no running lab with prefix "${o.prefix}" (lab list shows the running ones)`);
      const { labClusterDot } = require('../../ops/lab-diagram') as typeof import('../../ops/lab-diagram');
      await emitPicture(await labClusterDot(rec), out);
    });
  options(lab.command('demo').description('bring up nodes × pods, show addresses and pings, tear everything down'), 'sydemo').action(
    (o: LabOpts) => demo(o),
  );
  registerHyperV(lab);
}

interface HyperVOpts {
  driver: string;
  file: string;
  whatif?: boolean;
  output?: string;
}

/** lab plan|apply --driver hyperv -f spec.yaml: the spec's Hyper-V plan, applied through ps-modules/Switchyard.Lab. */
function registerHyperV(lab: Command): void {
  const load = (o: HyperVOpts) => {
    if (o.driver !== 'hyperv')
      throw new UsageError(`--driver: "${o.driver}" cannot plan or apply; use hyperv (the netns lab uses lab up|down)`);
    const { parseLabSpec, planHyperV } = require('../../lab/hyperv-plan') as typeof import('../../lab/hyperv-plan');
    let text: string;
    try {
      text = fs.readFileSync(o.file, 'utf8');
    } catch (e) {
      throw new UsageError(`--file: cannot read ${o.file}: ${(e as Error).message}`);
    }
    try {
      return planHyperV(parseLabSpec(text, o.file));
    } catch (e) {
      if (e instanceof LabSpecError) throw new UsageError(`${o.file}: ${e.message}`);
      throw e;
    }
  };
  lab
    .command('plan')
    .description('print the Hyper-V plan of a lab spec (switches, VMs, disks, adapters, addresses)')
    .requiredOption('--driver <driver>', 'hyperv')
    .requiredOption('-f, --file <spec>', 'lab spec (YAML or JSON)')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((o: HyperVOpts) => {
      const plan = load(o);
      if (o.output === 'json') return print(`${JSON.stringify(plan, null, 2)}\n`);
      for (const s of plan.Switches)
        print(
          `switch ${s.Name}: ${s.Type}${s.NetAdapterName ? ` on ${s.NetAdapterName}` : ''}${s.HostAddress ? `, host ${s.HostAddress}/${s.PrefixLength}` : ''}${s.NatPrefix ? `, NAT ${s.NatPrefix}` : ''}\n`,
        );
      for (const v of plan.Vms) {
        print(
          `vm ${v.Name}: ${v.Os} ${v.Role}, generation ${v.Generation}, ${v.MemoryStartupBytes / 1048576} MB, ${v.ProcessorCount} CPUs${v.NestedVirtualization ? ', nested virtualization' : ''}, disk ${v.VhdPath} on ${v.ParentVhdPath}\n`,
        );
        for (const a of v.Adapters)
          print(
            `  adapter ${a.Name} on ${a.SwitchName}${a.MacAddressSpoofing ? ', MAC spoofing on' : ''}${a.StaticMacAddress ? `, MAC ${a.StaticMacAddress}` : ''}${a.IPAddress ? `, ${a.IPAddress}/${a.PrefixLength}${a.Gateway ? ` via ${a.Gateway}` : ''}` : ''}\n`,
          );
      }
    });
  lab
    .command('apply')
    .description('bring this Hyper-V host to a lab spec through PowerShell (Switchyard.Lab); idempotent')
    .requiredOption('--driver <driver>', 'hyperv')
    .requiredOption('-f, --file <spec>', 'lab spec (YAML or JSON)')
    .option('--whatif', 'show what would change, change nothing')
    .action(async (o: HyperVOpts) => {
      const plan = load(o);
      const { applyHyperVPlan } = require('../../lab/hyperv-driver') as typeof import('../../lab/hyperv-driver');
      const r = await applyHyperVPlan(plan, { whatIf: !!o.whatif });
      for (const line of r.printed) print(`${line}\n`);
      for (const s of r.steps) print(`${s.Status.padEnd(9)} ${s.Step.padEnd(13)} ${s.Target}: ${s.Action}\n`);
      const changed = r.steps.filter((s) => s.Status !== 'unchanged').length;
      print(
        `${changed} ${o.whatif ? 'change(s) would be made' : 'change(s) made'}, ${r.steps.length - changed} step(s) already as planned\n`,
      );
    });
}
