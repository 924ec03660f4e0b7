/**
 * What every command needs: the global options (--dataplane, --state), an open host network service,
 * the -o format, and name-or-ID resolution of networks, endpoints, namespaces and load balancers.
 */
import type { Command } from 'commander';
import type { DataplaneKind, HostNetworkService } from '../dataplane/types';
import { DATAPLANE_KINDS } from '../dataplane/types';
import { openDataplane } from '../dataplane/factory';
import { buildQuery } from '../hns/query';
import { HnsError, HRESULT, isNotFound } from '../hns/errors';
import { isGuid } from '../hns/validate';
import { sameId } from '../hns/json';
import type { HostComputeNetwork } from '../hns/network';
import type { HostComputeEndpoint } from '../hns/endpoint';
import type { HostComputeNamespace } from '../hns/namespace';
import type { HostComputeLoadBalancer } from '../hns/loadbalancer';
import { UsageError } from './errors';
import { parseOutputFormat, type OutputFormat } from './output';

export interface GlobalOptions {
  dataplane?: string;
  state?: string;
  dryRun?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function format(cmd: Command): OutputFormat {
  return parseOutputFormat((cmd.opts() as { output?: string }).output);
}

/** Commands that change the data plane: under --dry-run they say what they would do, even when it is nothing. */
const MUTATING = new Set(['create', 'delete', 'add', 'remove', 'update', 'attach', 'detach', 'apply']);

/** Opens the data plane the global options (or SWITCHYARD_DATAPLANE / SWITCHYARD_STATE) select, runs fn, closes it. */
export async function withService<T>(cmd: Command, fn: (svc: HostNetworkService) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  if (g.dataplane !== undefined && !DATAPLANE_KINDS.includes(g.dataplane as DataplaneKind)) {
    throw new UsageError(`--dataplane: "${g.dataplane}" is not a data plane: use one of ${DATAPLANE_KINDS.join(', ')}`);
  }
  let svc: HostNetworkService;
  try {
    svc = await openDataplane({ kind: g.dataplane as DataplaneKind | undefined, statePath: g.state });
  } catch (e) {
    // A data plane whose module is absent from this build (e.g. a partial install) is a configuration problem.
    const err = e as NodeJS.ErrnoException;
    if (err?.code === 'MODULE_NOT_FOUND' && /dataplane/.test(err.message)) {
      throw new UsageError(
        `--dataplane: the ${g.dataplane ?? process.env.SWITCHYARD_DATAPLANE ?? 'default'} data plane is not available in this build: choose another with --dataplane or SWITCHYARD_DATAPLANE`,
      );
    }
    throw e;
  }
  if (g.dryRun) {
    const { recordingDataplane, describeCalls } = require('../ops/dry-run') as typeof import('../ops/dry-run');
    const rec = recordingDataplane(svc);
    try {
      const out = await fn(rec.svc);
      // A read (list, get, status, diagram...) has nothing to report, and its output (JSON, SVG) stays whole.
      if (rec.calls.length || MUTATING.has(cmd.name())) print(describeCalls(rec.calls, (v) => require('./output').toJson(v)));
      return out;
    } finally {
      await svc.close();
    }
  }
  try {
    return await fn(svc);
  } finally {
    await svc.close();
  }
}

export function print(text: string): void {
  process.stdout.write(text);
}

/** Whether this run changes nothing (the global --dry-run). */
export function isDryRun(cmd: Command): boolean {
  return Boolean(globals(cmd).dryRun);
}

/** kubectl's wording of what a command did: "deleted", or "deleted (dry run)" when nothing was changed. */
export function did(cmd: Command, verb: string): string {
  return isDryRun(cmd) ? `${verb} (dry run)` : verb;
}

/**
 * Prints what a create (or modify) made. In a dry run nothing was made, so a table would show an object that
 * does not exist (with an ID HNS never gave): tables and `-o name` say `kind/name created (dry run)` as kubectl
 * does, and json/yaml print the document that would have been sent.
 */
export function printMade(cmd: Command, fmt: string, what: string, verb: string, rendered: () => string): void {
  if (isDryRun(cmd) && fmt !== 'json' && fmt !== 'yaml') return print(`${what} ${verb} (dry run)\n`);
  print(rendered());
}

/**
 * The names of the host's networks, endpoints and namespaces by ID (lower case), so tables can show a name
 * where HNS stores a GUID (an endpoint's network and namespace, a load balancer's backends).
 */
export interface NameBook {
  network(id: string | undefined): string | undefined;
  endpoint(id: string | undefined): string | undefined;
  namespace(id: string | undefined): string | undefined;
}

export const NO_NAMES: NameBook = { network: (id) => id, endpoint: (id) => id, namespace: (id) => id };

export async function nameBook(svc: HostNetworkService): Promise<NameBook> {
  const index = (objs: Named[], fallback: (o: Named) => string | undefined = () => undefined) =>
    new Map(objs.filter((o) => o.ID).map((o) => [o.ID!.toLowerCase(), o.Name || fallback(o)]));
  const [nets, eps, nss] = await Promise.all([svc.listNetworks(), svc.listEndpoints(), svc.listNamespaces()]);
  // The host's namespace has no name in HCN: its type says what it is.
  const hostDefault = (o: Named) => (String((o as { Type?: string }).Type).toLowerCase() === 'hostdefault' ? 'HostDefault' : undefined);
  const maps = { network: index(nets), endpoint: index(eps), namespace: index(nss, hostDefault) };
  const lookup = (m: Map<string, string | undefined>) => (id: string | undefined) => (id ? (m.get(id.toLowerCase()) ?? id) : undefined);
  return { network: lookup(maps.network), endpoint: lookup(maps.endpoint), namespace: lookup(maps.namespace) };
}

// ---- name-or-ID resolution -----------------------------------------------------------------------------

type Named = { ID?: string; Name?: string };

interface Resolver<T extends Named> {
  what: string;
  notFound: keyof typeof HRESULT;
  enumerate: string;
  get(svc: HostNetworkService, id: string): Promise<T>;
  list(svc: HostNetworkService, name: string): Promise<T[]>;
}

async function resolve<T extends Named>(svc: HostNetworkService, ref: string, r: Resolver<T>): Promise<T> {
  if (isGuid(ref)) {
    try {
      return await r.get(svc, ref.replace(/^\{|\}$/g, ''));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  // HNS filters by Name; filtering again here keeps us exact whatever the data plane's filter does.
  const matches = (await r.list(svc, ref)).filter((o) => o.Name === ref);
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new UsageError(`${matches.length} ${r.what}s are named "${ref}" (${matches.map((m) => m.ID).join(', ')}): use the ID`);
  }
  throw new HnsError(
    HRESULT[r.notFound],
    `no ${r.what} named or with ID "${ref}"`,
    { call: r.enumerate, subject: `${r.what} ${ref}` },
    'not-found',
  );
}

const NETWORK: Resolver<HostComputeNetwork> = {
  what: 'network',
  notFound: 'HCN_E_NETWORK_NOT_FOUND',
  enumerate: 'HcnEnumerateNetworks',
  get: (s, id) => s.getNetwork(id),
  list: (s, name) => s.listNetworks(buildQuery({ Name: name })),
};
const ENDPOINT: Resolver<HostComputeEndpoint> = {
  what: 'endpoint',
  notFound: 'HCN_E_ENDPOINT_NOT_FOUND',
  enumerate: 'HcnEnumerateEndpoints',
  get: (s, id) => s.getEndpoint(id),
  list: (s, name) => s.listEndpoints(buildQuery({ Name: name })),
};
const NAMESPACE: Resolver<HostComputeNamespace> = {
  what: 'namespace',
  notFound: 'ERROR_NOT_FOUND',
  enumerate: 'HcnEnumerateNamespaces',
  get: (s, id) => s.getNamespace(id),
  list: (s) => s.listNamespaces(),
};
const LOAD_BALANCER: Resolver<HostComputeLoadBalancer> = {
  what: 'load balancer',
  notFound: 'ERROR_NOT_FOUND',
  enumerate: 'HcnEnumerateLoadBalancers',
  get: (s, id) => s.getLoadBalancer(id),
  list: (s) => s.listLoadBalancers(),
};

export const resolveNetwork = (svc: HostNetworkService, ref: string) => resolve(svc, ref, NETWORK);
export const resolveEndpoint = (svc: HostNetworkService, ref: string) => resolve(svc, ref, ENDPOINT);
export const resolveNamespace = (svc: HostNetworkService, ref: string) => resolve(svc, ref, NAMESPACE);
export const resolveLoadBalancer = (svc: HostNetworkService, ref: string) => resolve(svc, ref, LOAD_BALANCER);

const LIST_COMMAND: Record<string, string> = { network: 'network', endpoint: 'endpoint', namespace: 'namespace', 'load balancer': 'lb' };

/**
 * A reference given in a flag (--network, --endpoint) must exist before anything is changed: a missing one
 * is bad input (exit 2), named after the flag.
 */
export async function resolveFlag<T>(
  flag: string,
  what: 'network' | 'endpoint' | 'namespace' | 'load balancer',
  ref: string,
  fn: (ref: string) => Promise<T>,
): Promise<T> {
  try {
    return await fn(ref);
  } catch (e) {
    if (isNotFound(e))
      throw new UsageError(`${flag}: no ${what} named or with ID "${ref}" exists (list them with: switchyard ${LIST_COMMAND[what]} list)`);
    throw e;
  }
}

/**
 * Resolves each ref first, so one typo in `delete a b c` deletes nothing. With `ignoreNotFound` (kubectl's
 * --ignore-not-found) a ref that names nothing is skipped instead.
 */
export async function resolveAll<T>(refs: string[], one: (ref: string) => Promise<T>, ignoreNotFound = false): Promise<T[]> {
  const out: T[] = [];
  for (const r of refs) {
    try {
      out.push(await one(r));
    } catch (e) {
      if (!(ignoreNotFound && isNotFound(e))) throw e;
    }
  }
  return out;
}

export const IGNORE_NOT_FOUND_HELP = 'an object that does not exist is not an error: exit 0, nothing printed for it';

export { sameId };
