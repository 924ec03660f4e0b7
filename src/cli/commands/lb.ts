/** switchyard lb create|list|get|delete */
import type { Command } from 'commander';
import type { HostComputeLoadBalancer } from '../../hns/loadbalancer';
import { LoadBalancerFlags, LoadBalancerDistribution } from '../../hns/loadbalancer';
import { SCHEMA_V2, Protocol } from '../../hns/schema';
import { validateLoadBalancer, assertValid, isIp, ipFamily } from '../../hns/validate';
import { supports, minimumVersion, formatVersion, type HnsFeature } from '../../hns/version';
import {
  withService,
  format,
  print,
  printMade,
  resolveEndpoint,
  resolveLoadBalancer,
  resolveAll,
  resolveFlag,
  nameBook,
  NO_NAMES,
  did,
  IGNORE_NOT_FOUND_HELP,
  type NameBook,
} from '../context';
import { parseIntFlag, render, type Column } from '../output';
import { parseLoadBalancer } from '../../hns/parse';
import { UsageError } from '../errors';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const PROTOCOL_NAMES: Record<number, string> = { [Protocol.TCP]: 'tcp', [Protocol.UDP]: 'udp' };

/** The load balancer table: its backends by endpoint name (`-o wide` adds their IDs). */
export const lbColumns = (names: NameBook = NO_NAMES): Column<HostComputeLoadBalancer>[] => [
  { header: 'ID', get: (l) => l.ID },
  { header: 'NAME', get: (l) => l.Name },
  { header: 'VIPS', get: (l) => (l.FrontendVIPs?.length ? l.FrontendVIPs.join(',') : '*') },
  {
    header: 'PORTS',
    get: (l) =>
      (l.PortMappings ?? []).map((m) => `${PROTOCOL_NAMES[m.Protocol] ?? m.Protocol}/${m.ExternalPort}->${m.InternalPort}`).join(','),
  },
  { header: 'ENDPOINTS', get: (l) => (l.HostComputeEndpoints ?? []).map((id) => names.endpoint(id)).join(',') },
  { header: 'FLAGS', get: (l) => lbFlags(l).join(',') },
];

const LB_WIDE: Column<HostComputeLoadBalancer>[] = [{ header: 'ENDPOINT IDS', get: (l) => (l.HostComputeEndpoints ?? []).join(',') }];

async function namesFor(svc: Parameters<typeof nameBook>[0], fmt: string): Promise<NameBook> {
  return fmt === 'table' || fmt === 'wide' ? nameBook(svc) : NO_NAMES;
}

function lbFlags(l: HostComputeLoadBalancer): string[] {
  const out: string[] = [];
  const flags = typeof l.Flags === 'number' ? l.Flags : 0;
  if (flags & LoadBalancerFlags.EnableDirectServerReturn) out.push('dsr');
  if (flags & LoadBalancerFlags.IPv6) out.push('ipv6');
  if ((l.PortMappings ?? []).some((m) => m.DistributionType === LoadBalancerDistribution.SourceIP)) out.push('affinity');
  return out;
}

const port = (flag: string, v: string): number => parseIntFlag(flag, v, 1, 65535);

function protocol(v: string): number {
  const p = v.toLowerCase();
  if (p === 'tcp' || p === '6') return Protocol.TCP;
  if (p === 'udp' || p === '17') return Protocol.UDP;
  throw new UsageError(`--protocol: "${v}" is not tcp or udp`);
}

interface CreateFlags {
  vip: string[];
  protocol: string;
  port: string;
  targetPort: string;
  endpoint: string[];
  dsr?: boolean;
  affinity?: boolean;
  sourceVip?: string;
  name?: string;
  output?: string;
}

/** Everything about the flags that can be checked without HNS; endpoint IDs are filled in afterwards. */
export function loadBalancerFromFlags(f: CreateFlags, endpointIds: string[]): HostComputeLoadBalancer {
  const families = new Set<number>();
  for (const vip of f.vip) {
    if (!isIp(vip)) throw new UsageError(`--vip: "${vip}" is not an IP address (e.g. 10.96.0.10)`);
    families.add(ipFamily(vip)!);
  }
  if (f.sourceVip !== undefined) {
    if (!isIp(f.sourceVip)) throw new UsageError(`--source-vip: "${f.sourceVip}" is not an IP address`);
    families.add(ipFamily(f.sourceVip)!);
  }
  if (families.size > 1) throw new UsageError('--vip/--source-vip: mix IPv4 and IPv6; create one load balancer per family');
  let flags: number = LoadBalancerFlags.None;
  if (f.dsr) flags |= LoadBalancerFlags.EnableDirectServerReturn;
  if (families.has(6)) flags |= LoadBalancerFlags.IPv6;
  const doc: HostComputeLoadBalancer = {};
  if (f.name !== undefined) doc.Name = f.name;
  doc.HostComputeEndpoints = endpointIds;
  if (f.sourceVip !== undefined) doc.SourceVIP = f.sourceVip;
  doc.FrontendVIPs = f.vip;
  doc.PortMappings = [
    {
      Protocol: protocol(f.protocol),
      InternalPort: port('--target-port', f.targetPort),
      ExternalPort: port('--port', f.port),
      DistributionType: f.affinity ? LoadBalancerDistribution.SourceIP : LoadBalancerDistribution.None,
      Flags: 0,
    },
  ];
  doc.Flags = flags;
  doc.SchemaVersion = { ...SCHEMA_V2 };
  return doc;
}

export function register(program: Command): void {
  const lb = program.command('lb').description('HostComputeLoadBalancer: create, list, get, delete');

  lb.command('create')
    .description('create a load balancer (HcnCreateLoadBalancer)')
    .requiredOption('--vip <ip>', 'frontend VIP (repeatable)', collect)
    .requiredOption('--protocol <tcp|udp>', 'tcp or udp')
    .requiredOption('--port <port>', 'frontend (external) port, 1..65535')
    .requiredOption('--target-port <port>', 'backend (internal) port on the endpoints, 1..65535')
    .requiredOption('--endpoint <endpoint...>', 'backend endpoints by name or ID (repeatable)')
    .option('--dsr', 'direct server return (HNS >= 9.3/10.2)')
    .option('--affinity', 'session affinity by source IP (HNS >= 12.0)')
    .option('--source-vip <ip>', 'source VIP for overlay networks')
    .option('--name <name>', 'name, so apply and get can find it')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (opts: CreateFlags, cmd: Command) => {
      const fmt = format(cmd);
      loadBalancerFromFlags(opts, []);
      await withService(cmd, async (svc) => {
        const version = await svc.version();
        const need = (flag: string, feature: HnsFeature) => {
          if (!supports(version, feature)) {
            throw new UsageError(
              `${flag}: this host's HNS ${formatVersion(version)} has no ${feature} support (needs HNS ${formatVersion(minimumVersion(feature))} or later)`,
            );
          }
        };
        if (opts.dsr) need('--dsr', 'DSR');
        if (opts.affinity) need('--affinity', 'SessionAffinity');
        if (opts.vip.some((v) => ipFamily(v) === 6)) need('--vip', 'IPv6DualStack');
        const eps = await resolveAll(opts.endpoint, (r) => resolveFlag('--endpoint', 'endpoint', r, (x) => resolveEndpoint(svc, x)));
        const doc = loadBalancerFromFlags(
          opts,
          eps.map((e) => e.ID!),
        );
        assertValid('load balancer', doc, validateLoadBalancer(doc, { create: true }));
        const made = await svc.createLoadBalancer(doc);
        const what = `lb/${doc.Name ?? `${doc.FrontendVIPs!.join(',')}:${doc.PortMappings![0].ExternalPort}`}`;
        const names = await namesFor(svc, fmt);
        printMade(cmd, fmt, what, 'created', () => render(fmt, made, lbColumns(names), parseLoadBalancer, LB_WIDE));
      });
    });

  lb.command('list')
    .description('list load balancers (HcnEnumerateLoadBalancers)')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (_opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) =>
        print(render(fmt, await svc.listLoadBalancers(), lbColumns(await namesFor(svc, fmt)), parseLoadBalancer, LB_WIDE)),
      );
    });

  lb.command('get')
    .description('show one load balancer by ID (or name)')
    .argument('<lb>', 'ID or name')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) => {
        const l = await resolveLoadBalancer(svc, ref);
        print(render(fmt, l, lbColumns(await namesFor(svc, fmt)), parseLoadBalancer, LB_WIDE));
      });
    });

  lb.command('delete')
    .description('delete load balancers by ID or name (HcnDeleteLoadBalancer)')
    .argument('<lb...>', 'IDs or names')
    .option('--ignore-not-found', IGNORE_NOT_FOUND_HELP)
    .action(async (refs: string[], opts: { ignoreNotFound?: boolean }, cmd: Command) => {
      await withService(cmd, async (svc) => {
        const lbs = await resolveAll(refs, (r) => resolveLoadBalancer(svc, r), opts.ignoreNotFound);
        for (const l of lbs) {
          await svc.deleteLoadBalancer(l.ID!);
          print(`load balancer ${l.Name ? l.Name + ' ' : ''}${l.ID} ${did(cmd, 'deleted')}\n`);
        }
      });
    });
}
