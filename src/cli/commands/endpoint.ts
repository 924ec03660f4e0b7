/** switchyard endpoint create|list|get|delete, endpoint policy add|remove|update */
import { toHnsMac } from '../../net/mac';
import type { Command } from 'commander';
import type { HostNetworkService } from '../../dataplane/types';
import type { HostComputeEndpoint } from '../../hns/endpoint';
import type { HostComputeNetwork } from '../../hns/network';
import { SCHEMA_V2 } from '../../hns/schema';
import { ENDPOINT_STATS_COUNTERS, type EndpointStats } from '../../hns/endpoint-stats';
import { buildQuery } from '../../hns/query';
import { endpointPolicyRequest, type RequestType } from '../../hns/modify';
import { validateEndpoint, validateEndpointModify, assertValid, isIp, isMac, ipFamily, cidrContains } from '../../hns/validate';
import {
  withService,
  format,
  print,
  printMade,
  resolveNetwork,
  resolveEndpoint,
  resolveAll,
  resolveFlag,
  nameBook,
  NO_NAMES,
  did,
  isDryRun,
  IGNORE_NOT_FOUND_HELP,
  type NameBook,
} from '../context';
import { isNotFound } from '../../hns/errors';
import { render, type Column } from '../output';
import { parseEndpoint } from '../../hns/parse';
import { UsageError } from '../errors';
import { collect, policiesFromFlags, policyOption, requirePolicyFeatures } from '../policies';

/** The endpoint table: its network and namespace by name where they have one (`-o wide` adds their IDs). */
export function endpointColumns(names: NameBook = NO_NAMES): Column<HostComputeEndpoint>[] {
  return [
    { header: 'ID', get: (e) => e.ID },
    { header: 'NAME', get: (e) => e.Name },
    { header: 'NETWORK', get: (e) => names.network(e.HostComputeNetwork) },
    {
      header: 'IP',
      get: (e) =>
        (e.IpConfigurations ?? []).map((c) => (c.PrefixLength !== undefined ? `${c.IpAddress}/${c.PrefixLength}` : c.IpAddress)).join(','),
    },
    { header: 'MAC', get: (e) => e.MacAddress },
    { header: 'NAMESPACE', get: (e) => names.namespace(e.HostComputeNamespace) },
    { header: 'POLICIES', get: (e) => (e.Policies ?? []).map((p) => p.Type).join(',') },
  ];
}

export const ENDPOINT_WIDE: Column<HostComputeEndpoint>[] = [
  { header: 'NETWORK ID', get: (e) => e.HostComputeNetwork },
  { header: 'NAMESPACE ID', get: (e) => e.HostComputeNamespace },
];

/** Names are looked up only for the formats that print them. */
async function namesFor(svc: HostNetworkService, fmt: string): Promise<NameBook> {
  return fmt === 'table' || fmt === 'wide' ? nameBook(svc) : NO_NAMES;
}

interface CreateFlags {
  network: string;
  name: string;
  ip?: string[];
  mac?: string;
  policy?: string[];
  host?: boolean;
  output?: string;
}

/** The HCN document `endpoint create` sends, checked against the network's subnets before anything changes. */
export function endpointFromFlags(f: CreateFlags, network: HostComputeNetwork): HostComputeEndpoint {
  if (f.name.trim() === '') throw new UsageError('--name: must not be empty');
  const doc: HostComputeEndpoint = { Name: f.name, HostComputeNetwork: network.ID };
  const subnets = (network.Ipams ?? [])
    .flatMap((i) => i.Subnets ?? [])
    .map((s) => s.IpAddressPrefix)
    .filter((p): p is string => !!p);
  const families = new Set<number>();
  for (const ip of f.ip ?? []) {
    if (!isIp(ip)) throw new UsageError(`--ip: "${ip}" is not an IP address (e.g. 10.244.1.5)`);
    const fam = ipFamily(ip)!;
    if (families.has(fam))
      throw new UsageError(`--ip: a second IPv${fam} address "${ip}": an endpoint has at most one IPv4 and one IPv6 address`);
    families.add(fam);
    if (subnets.length > 0 && !subnets.some((s) => cidrContains(s, ip))) {
      throw new UsageError(
        `--ip: ${ip} is not in any subnet of network ${network.Name} (${subnets.join(', ')}): pick an address inside it`,
      );
    }
  }
  if (f.ip?.length) doc.IpConfigurations = f.ip.map((ip) => ({ IpAddress: ip }));
  if (f.mac !== undefined) {
    if (!isMac(f.mac)) throw new UsageError(`--mac: "${f.mac}" is not a MAC address (e.g. 00-15-5D-52-C0-05)`);
    doc.MacAddress = toHnsMac(f.mac);
  }
  const policies = policiesFromFlags(f.policy, 'endpoint');
  if (policies.length > 0) doc.Policies = policies;
  doc.SchemaVersion = { ...SCHEMA_V2 };
  return assertValid('endpoint', doc, validateEndpoint(doc, { create: true }));
}

export function register(program: Command): void {
  const endpoint = program.command('endpoint').description('HostComputeEndpoint: create, list, get, delete');

  endpoint
    .command('create')
    .description('create an endpoint on a network (HcnCreateEndpoint)')
    .requiredOption('--network <network>', 'network name or ID')
    .requiredOption('--name <name>', 'endpoint name')
    .option('--ip <ip>', 'IP address (default: HNS assigns one from the subnet); repeat once for dual stack', collect)
    .option('--mac <mac>', 'MAC address (default: HNS assigns one from the MAC pool)')
    .option('--policy <json>', 'endpoint policy as HCN v2 JSON {"Type":...,"Settings":{...}} (repeatable)', collect)
    .option('--host', 'attach it to the HostDefault namespace: a host endpoint (the node holds its address on the network)')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (opts: CreateFlags, cmd: Command) => {
      const fmt = format(cmd);
      // Bad --policy JSON fails before the data plane is even opened.
      const policies = policiesFromFlags(opts.policy, 'endpoint');
      await withService(cmd, async (svc) => {
        requirePolicyFeatures(await svc.version(), policies);
        const network = await resolveFlag('--network', 'network', opts.network, (r) => resolveNetwork(svc, r));
        const doc = endpointFromFlags(opts, network);
        let created = await svc.createEndpoint(network.ID!, doc);
        if (opts.host) created = await attachToHost(svc, created);
        const names = await namesFor(svc, fmt);
        printMade(cmd, fmt, `endpoint/${doc.Name}`, 'created', () =>
          render(fmt, created, endpointColumns(names), parseEndpoint, ENDPOINT_WIDE),
        );
      });
    });

  endpoint
    .command('list')
    .description('list endpoints (HcnEnumerateEndpoints)')
    .option('--network <network>', 'only endpoints of this network (name or ID)')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (opts: { network?: string }, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) => {
        let eps = await svc.listEndpoints();
        if (opts.network !== undefined) {
          const net = await resolveFlag('--network', 'network', opts.network, (r) => resolveNetwork(svc, r));
          eps = eps.filter((e) => e.HostComputeNetwork?.toLowerCase() === net.ID!.toLowerCase());
        }
        print(render(fmt, eps, endpointColumns(await namesFor(svc, fmt)), parseEndpoint, ENDPOINT_WIDE));
      });
    });

  endpoint
    .command('get')
    .description('show one endpoint by name or ID')
    .argument('<endpoint>', 'name or ID')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) => {
        const ep = await resolveEndpoint(svc, ref);
        print(render(fmt, ep, endpointColumns(await namesFor(svc, fmt)), parseEndpoint, ENDPOINT_WIDE));
      });
    });

  endpoint
    .command('stats')
    .description('traffic counters of one endpoint (HNS GET /endpointstats/<id>)')
    .argument('<endpoint>', 'name or ID')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) => {
        if (!svc.endpointStats) throw new UsageError(`the ${svc.kind} data plane has no endpoint statistics`);
        const ep = await resolveEndpoint(svc, ref);
        const stats = await svc.endpointStats(ep.ID!);
        const columns: Column<EndpointStats>[] = [
          { header: 'ENDPOINT', get: () => ep.Name ?? ep.ID },
          ...ENDPOINT_STATS_COUNTERS.map((k) => ({ header: k, get: (s: EndpointStats) => String(s[k]) })),
        ];
        print(render(fmt, stats, columns));
      });
    });

  endpoint
    .command('delete')
    .description('delete endpoints by name or ID (HcnDeleteEndpoint)')
    .argument('<endpoint...>', 'names or IDs')
    .option('--ignore-not-found', IGNORE_NOT_FOUND_HELP)
    .action(async (refs: string[], opts: { ignoreNotFound?: boolean }, cmd: Command) => {
      await withService(cmd, async (svc) => {
        const eps = await resolveAll(refs, (r) => resolveEndpoint(svc, r), opts.ignoreNotFound);
        for (const e of eps) {
          await svc.deleteEndpoint(e.ID!);
          print(`endpoint ${e.Name ? e.Name + ' ' : ''}${e.ID} ${did(cmd, 'deleted')}\n`);
        }
      });
    });

  const policy = endpoint.command('policy').description('add, remove or replace endpoint policies (HcnModifyEndpoint)');
  for (const [verb, requestType] of [
    ['add', 'Add'],
    ['remove', 'Remove'],
    ['update', 'Update'],
  ] as [string, RequestType][]) {
    const c = policyOption(policy.command(verb), 'endpoint', true)
      .description(`${verb} endpoint policies: ModifyEndpoint {ResourceType: Policy, RequestType: ${requestType}}`)
      .argument('<endpoint>', 'endpoint name or ID')
      .option('-o, --output <format>', 'table|json|yaml', 'table');
    if (verb === 'remove') c.option('--ignore-not-found', 'an endpoint that does not exist is not an error: exit 0, nothing printed');
    c.action(async (ref: string, opts: { policy: string[]; ignoreNotFound?: boolean }, cmd: Command) => {
      const fmt = format(cmd);
      const policies = policiesFromFlags(opts.policy, 'endpoint');
      const request = endpointPolicyRequest(requestType, policies);
      assertValid('endpoint modify request', request, validateEndpointModify(request));
      await withService(cmd, async (svc) => {
        requirePolicyFeatures(await svc.version(), policies);
        let ep: HostComputeEndpoint;
        try {
          ep = await resolveEndpoint(svc, ref);
        } catch (e) {
          if (opts.ignoreNotFound && isNotFound(e)) return;
          throw e;
        }
        const after = await svc.modifyEndpoint(ep.ID!, request);
        if (isDryRun(cmd) && fmt !== 'json' && fmt !== 'yaml') {
          const n = policies.length;
          const done = { add: 'added', remove: 'removed', update: 'set' }[verb];
          return print(`endpoint/${ep.Name ?? ep.ID} configured (dry run): ${n} ${n === 1 ? 'policy' : 'policies'} would be ${done}\n`);
        }
        print(render(fmt, after, endpointColumns(await namesFor(svc, fmt)), parseEndpoint, ENDPOINT_WIDE));
      });
    });
  }
}

/** Attaches a new endpoint to the host's HostDefault namespace; removes the endpoint when that fails. */
async function attachToHost(svc: HostNetworkService, ep: HostComputeEndpoint): Promise<HostComputeEndpoint> {
  try {
    const host = (await svc.listNamespaces(buildQuery())).find((n) => String(n.Type).toLowerCase() === 'hostdefault');
    if (!host) throw new Error(`--host: the ${svc.kind} data plane has no HostDefault namespace`);
    await svc.attachEndpoint(host.ID!, ep.ID!);
    return await svc.getEndpoint(ep.ID!);
  } catch (e) {
    await svc.deleteEndpoint(ep.ID!).catch(() => undefined);
    throw e;
  }
}
