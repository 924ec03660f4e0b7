/** switchyard network create|list|get|delete, network policy add|remove */
import type { Command } from 'commander';
import { formatCidr, formatIp, networkOf, nextIp, parseCidr } from '../../net/ip';
import type { HostComputeNetwork, Subnet } from '../../hns/network';
import type { NetworkPolicy } from '../../hns/policy';
import { SCHEMA_V2 } from '../../hns/schema';
import { validateNetwork, validateNetworkModify, assertValid, isCidr, isIp, cidrContains, ipFamily } from '../../hns/validate';
import { findPolicies } from '../../hns/policy';
import { withService, format, print, printMade, resolveNetwork, resolveAll, did, IGNORE_NOT_FOUND_HELP, isDryRun } from '../context';
import { isNotFound } from '../../hns/errors';
import { parseIntFlag, render, type Column } from '../output';
import { parseNetwork } from '../../hns/parse';
import { UsageError } from '../errors';
import { collect, policiesFromFlags, policyOption, requirePolicyFeatures } from '../policies';
import { networkPolicyRequest } from '../../hns/modify';
import { supports, minimumVersion, formatVersion } from '../../hns/version';

const CLI_TYPES = ['L2Bridge', 'Overlay', 'Transparent', 'NAT'] as const;
/** flannel's default VNI on Windows (it refuses anything below 4096). */
export const DEFAULT_VNI = 4096;
/**
 * The VSIDs HNS takes for an Overlay network: Hyper-V network virtualization reserves the ones below 4096
 * (flannel refuses them on Windows for that reason), and a VXLAN VNI is 24 bits.
 */
export const VNI_MIN = 4096;
export const VNI_MAX = 16777215;

export const NETWORK_COLUMNS: Column<HostComputeNetwork>[] = [
  { header: 'ID', get: (n) => n.ID },
  { header: 'NAME', get: (n) => n.Name },
  { header: 'TYPE', get: (n) => n.Type ?? 'NAT' },
  {
    header: 'SUBNETS',
    get: (n) =>
      subnets(n)
        .map((s) => s.IpAddressPrefix)
        .join(','),
  },
  {
    header: 'GATEWAYS',
    get: (n) =>
      subnets(n)
        .flatMap((s) => (s.Routes ?? []).map((r) => r.NextHop))
        .join(','),
  },
  {
    header: 'VNI',
    get: (n) =>
      subnets(n)
        .flatMap((s) => findPolicies(s.Policies, 'VSID').map((p) => p.Settings?.IsolationId))
        .join(','),
  },
  {
    header: 'ADAPTER',
    get: (n) =>
      findPolicies(n.Policies, 'NetAdapterName')
        .map((p) => (p.Settings as { NetworkAdapterName?: string }).NetworkAdapterName)
        .join(','),
  },
];

const POLICY_COLUMNS: Column<NetworkPolicy>[] = [
  { header: 'TYPE', get: (p) => String(p.Type) },
  { header: 'SETTINGS', get: (p) => JSON.stringify(p.Settings ?? {}) },
];

function subnets(n: HostComputeNetwork): Subnet[] {
  return (n.Ipams ?? []).flatMap((i) => i.Subnets ?? []);
}

interface CreateFlags {
  type: string;
  name: string;
  subnet?: string[];
  gateway?: string[];
  adapter?: string;
  vni?: string;
  output?: string;
}

/** Builds the HCN document `network create` sends; every flag problem is a UsageError naming the flag. */
export function networkFromFlags(f: CreateFlags): HostComputeNetwork {
  const type = CLI_TYPES.find((t) => t.toLowerCase() === f.type.toLowerCase());
  if (!type) throw new UsageError(`--type: "${f.type}" is not a network type: use one of ${CLI_TYPES.join(', ')}`);
  if (f.name.trim() === '') throw new UsageError('--name: must not be empty');
  const subnetsIn = f.subnet ?? [];
  const gateways = f.gateway ?? [];
  if (gateways.length > subnetsIn.length)
    throw new UsageError('--gateway: each --gateway belongs to the --subnet given at the same position; add the --subnet');
  if ((type === 'L2Bridge' || type === 'Overlay') && subnetsIn.length === 0) {
    throw new UsageError(`--subnet: a ${type} network needs the pod subnet, e.g. --subnet 10.244.1.0/24`);
  }
  let vni: number | undefined;
  if (f.vni !== undefined) {
    if (type !== 'Overlay') throw new UsageError(`--vni: only Overlay networks carry a VNI (this is ${type})`);
    vni = parseIntFlag('--vni', f.vni, VNI_MIN, VNI_MAX, 'HNS reserves VSIDs below 4096; flannel uses 4096');
  } else if (type === 'Overlay') {
    vni = DEFAULT_VNI;
  }
  const families = new Set<number>();
  const hcnSubnets: Subnet[] = subnetsIn.map((prefix, i) => {
    if (!isCidr(prefix)) throw new UsageError(`--subnet: "${prefix}" is not a valid CIDR prefix (e.g. 10.244.1.0/24)`);
    const fam = ipFamily(prefix.split('/')[0])!;
    const network = networkAddress(prefix);
    if (network !== prefix) throw new UsageError(`--subnet: "${prefix}" has host bits set: use ${network}`);
    if (families.has(fam))
      throw new UsageError(`--subnet: a second IPv${fam} subnet "${prefix}": give at most one IPv4 and one IPv6 subnet`);
    families.add(fam);
    const gw = gateways[i] ?? firstHost(prefix);
    if (!isIp(gw)) throw new UsageError(`--gateway: "${gw}" is not an IP address (e.g. 10.244.1.1)`);
    if (!cidrContains(prefix, gw)) throw new UsageError(`--gateway: ${gw} is not inside --subnet ${prefix}: use an address in ${prefix}`);
    const s: Subnet = { IpAddressPrefix: prefix, Routes: [{ NextHop: gw, DestinationPrefix: fam === 4 ? '0.0.0.0/0' : '::/0' }] };
    if (vni !== undefined) s.Policies = [{ Type: 'VSID', Settings: { IsolationId: vni } }];
    return s;
  });
  const policies: NetworkPolicy[] = [];
  if (f.adapter !== undefined) {
    if (f.adapter.trim() === '') throw new UsageError('--adapter: must name a network adapter, e.g. --adapter Ethernet');
    policies.push({ Type: 'NetAdapterName', Settings: { NetworkAdapterName: f.adapter } });
  }
  const doc: HostComputeNetwork = { Name: f.name, Type: type };
  if (hcnSubnets.length > 0) doc.Ipams = [{ Type: 'Static', Subnets: hcnSubnets }];
  if (policies.length > 0) doc.Policies = policies;
  doc.SchemaVersion = { ...SCHEMA_V2 };
  return assertValid('network', doc, validateNetwork(doc, { create: true }));
}

function networkAddress(prefix: string): string {
  const c = parseCidr(prefix)!;
  return formatCidr(networkOf(c.ip, c.prefix), c.prefix);
}

/** The gateway flannel and win-overlay use: the first host address of the subnet. */
export function firstHost(prefix: string): string {
  const c = parseCidr(prefix)!;
  const net = networkOf(c.ip, c.prefix);
  // /31, /32 (and /127, /128) have no network address to skip.
  const hostless = c.prefix >= (c.ip.v === 4 ? 31 : 127);
  return formatIp(hostless ? net : nextIp(net));
}

export function register(program: Command): void {
  const network = program.command('network').description('HostComputeNetwork: create, list, get, delete');

  network
    .command('create')
    .description('create a network (HcnCreateNetwork)')
    .requiredOption('--type <type>', `network type: ${CLI_TYPES.join('|')}`)
    .requiredOption('--name <name>', 'network name')
    .option('--subnet <cidr>', 'pod subnet (repeat once for dual stack)', collect)
    .option('--gateway <ip>', 'gateway of the --subnet at the same position (default: its first address)', collect)
    .option('--adapter <name>', 'bind to this network adapter (NetAdapterName policy)')
    .option('--vni <n>', `Overlay: VXLAN network identifier, ${VNI_MIN}..${VNI_MAX} (VSID policy; default ${DEFAULT_VNI})`)
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (opts: CreateFlags, cmd: Command) => {
      const fmt = format(cmd);
      const doc = networkFromFlags(opts);
      await withService(cmd, async (svc) => {
        const version = await svc.version();
        if ((opts.subnet ?? []).some((p) => p.includes(':')) && !supports(version, 'IPv6DualStack')) {
          throw new UsageError(
            `--subnet: IPv6 subnets need HNS ${formatVersion(minimumVersion('IPv6DualStack'))} or later (dual stack); this host runs HNS ${formatVersion(version)}`,
          );
        }
        const made = await svc.createNetwork(doc);
        printMade(cmd, fmt, `network/${doc.Name}`, 'created', () => render(fmt, made, NETWORK_COLUMNS, parseNetwork));
      });
    });

  network
    .command('list')
    .description('list networks (HcnEnumerateNetworks)')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (_opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) => print(render(fmt, await svc.listNetworks(), NETWORK_COLUMNS, parseNetwork)));
    });

  network
    .command('get')
    .description('show one network by name or ID')
    .argument('<network>', 'name or ID')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) => print(render(fmt, await resolveNetwork(svc, ref), NETWORK_COLUMNS, parseNetwork)));
    });

  network
    .command('delete')
    .description('delete networks by name or ID (HcnDeleteNetwork)')
    .argument('<network...>', 'names or IDs')
    .option('--ignore-not-found', IGNORE_NOT_FOUND_HELP)
    .action(async (refs: string[], opts: { ignoreNotFound?: boolean }, cmd: Command) => {
      await withService(cmd, async (svc) => {
        const nets = await resolveAll(refs, (r) => resolveNetwork(svc, r), opts.ignoreNotFound);
        for (const n of nets) {
          await svc.deleteNetwork(n.ID!);
          print(`network ${n.Name ? n.Name + ' ' : ''}${n.ID} ${did(cmd, 'deleted')}\n`);
        }
      });
    });

  const policy = network
    .command('policy')
    .description('add or remove network policies (HcnModifyNetwork), e.g. RemoteSubnetRoute, HostRoute');
  for (const [verb, requestType] of [
    ['add', 'Add'],
    ['remove', 'Remove'],
  ] as const) {
    const c = policyOption(policy.command(verb), 'network', true)
      .description(`${verb} network policies: ModifyNetwork {ResourceType: Policy, RequestType: ${requestType}}`)
      .argument('<network>', 'network name or ID')
      .option('-o, --output <format>', 'table|json|yaml', 'table');
    if (verb === 'remove') c.option('--ignore-not-found', `a network that does not exist is not an error: exit 0, nothing printed`);
    c.action(async (ref: string, opts: { policy: string[]; ignoreNotFound?: boolean }, cmd: Command) => {
      const fmt = format(cmd);
      const policies = policiesFromFlags(opts.policy, 'network');
      const request = networkPolicyRequest(requestType, policies);
      assertValid('network modify request', request, validateNetworkModify(request));
      await withService(cmd, async (svc) => {
        requirePolicyFeatures(await svc.version(), policies);
        let net: HostComputeNetwork;
        try {
          net = await resolveNetwork(svc, ref);
        } catch (e) {
          if (opts.ignoreNotFound && isNotFound(e)) return;
          throw e;
        }
        const after = await svc.modifyNetwork(net.ID!, request);
        if (isDryRun(cmd) && fmt !== 'json' && fmt !== 'yaml') {
          const n = policies.length;
          return print(
            `network/${net.Name ?? net.ID} configured (dry run): ${n} ${n === 1 ? 'policy' : 'policies'} would be ${verb === 'add' ? 'added' : 'removed'}\n`,
          );
        }
        // A table shows the network's resulting policies (what flannel's peers look like now); json/yaml the document.
        if (fmt === 'table' || fmt === 'wide') print(render(fmt, parseNetwork(after).Policies ?? [], POLICY_COLUMNS));
        else print(render(fmt, after, NETWORK_COLUMNS, parseNetwork));
      });
    });
  }
}
