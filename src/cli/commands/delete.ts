/**
 * switchyard delete -f FILE: undoes an `apply -f FILE`. Every document is found first (networks and endpoints
 * by Name or ID, namespaces by Name or ID, load balancers by Name, ID, or frontend VIPs + ports), then deleted
 * in the reverse of apply's order: load balancers, namespaces, endpoints, networks. A missing object fails
 * the command before anything is deleted, unless --ignore-not-found. The host's HostDefault namespace is
 * never deleted (apply never creates it).
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import type { HostNetworkService } from '../../dataplane/types';
import { HnsError, HRESULT } from '../../hns/errors';
import { sameId } from '../../hns/json';
import { parseDocument, type HcnKind } from '../../hns/parse';
import type { HostComputeLoadBalancer } from '../../hns/loadbalancer';
import { readDocuments } from '../apply';
import { withService, print, did } from '../context';
import { UsageError } from '../errors';
import { parseOutputFormat, render, type Column } from '../output';

interface Row {
  Kind: HcnKind;
  Name: string;
  ID: string;
  Result: string;
}

const COLUMNS: Column<Row>[] = [
  { header: 'KIND', get: (r) => r.Kind },
  { header: 'NAME', get: (r) => r.Name },
  { header: 'ID', get: (r) => r.ID },
  { header: 'RESULT', get: (r) => r.Result },
];

type Doc = { ID?: string; Name?: string; Type?: string } & Partial<HostComputeLoadBalancer>;
const ORDER: HcnKind[] = ['LoadBalancer', 'Namespace', 'Endpoint', 'Network'];

function sameLb(a: HostComputeLoadBalancer, b: HostComputeLoadBalancer): boolean {
  const vips = (x: HostComputeLoadBalancer) => [...(x.FrontendVIPs ?? [])].sort().join(',');
  const ports = (x: HostComputeLoadBalancer) =>
    (x.PortMappings ?? [])
      .map((p) => `${p.Protocol}/${p.ExternalPort}`)
      .sort()
      .join(',');
  return vips(a) === vips(b) && ports(a) === ports(b);
}

async function find(svc: HostNetworkService, kind: HcnKind, d: Doc): Promise<Doc | undefined> {
  const list: Doc[] =
    kind === 'Network'
      ? await svc.listNetworks()
      : kind === 'Endpoint'
        ? await svc.listEndpoints()
        : kind === 'Namespace'
          ? await svc.listNamespaces()
          : await svc.listLoadBalancers();
  if (d.ID) {
    const byId = list.find((o) => sameId(o.ID, d.ID));
    if (byId) return byId;
  }
  if (d.Name) return list.find((o) => o.Name === d.Name);
  if (kind === 'LoadBalancer') return list.find((o) => sameLb(o as HostComputeLoadBalancer, d as HostComputeLoadBalancer));
  return undefined;
}

export function register(program: Command): void {
  program
    .command('delete')
    .description('delete what a file describes (undo apply -f), load balancers first, networks last')
    .requiredOption('-f, --filename <file>', 'HCN documents in JSON or YAML, as given to apply ("-" reads stdin)')
    .option('--ignore-not-found', 'an object that does not exist is reported, not an error')
    .option('-o, --output <format>', 'table|json|yaml|wide|name', 'table')
    .action(async (opts: { filename: string; ignoreNotFound?: boolean; output?: string }, cmd: Command) => {
      const fmt = parseOutputFormat(opts.output);
      let text: string;
      try {
        text = opts.filename === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(opts.filename, 'utf8');
      } catch (e) {
        throw new UsageError(`-f: cannot read ${opts.filename}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const docs = readDocuments(text, opts.filename).map((s) => ({ ...parseDocument(s.value, s.source), source: s.source }));
      await withService(cmd, async (svc) => {
        const rows: Row[] = [];
        const todo: { kind: HcnKind; live: Doc; row: Row }[] = [];
        for (const kind of ORDER)
          for (const d of docs.filter((x) => x.kind === kind).reverse()) {
            const want = d.doc as Doc;
            const live = await find(svc, kind, want);
            const row: Row = {
              Kind: kind,
              Name: want.Name ?? live?.Name ?? '',
              ID: live?.ID ?? want.ID ?? '',
              Result: did(cmd, 'deleted'),
            };
            rows.push(row);
            if (!live) {
              if (!opts.ignoreNotFound)
                throw new HnsError(
                  HRESULT.ERROR_NOT_FOUND,
                  `${d.source}: no ${kind} ${want.Name ?? want.ID ?? ''} to delete (--ignore-not-found to go on)`,
                  {
                    call: 'delete',
                    subject: `${kind} ${want.Name ?? want.ID ?? ''}`,
                  },
                  'not-found',
                );
              row.Result = 'not found';
            } else if (kind === 'Namespace' && String(live.Type).toLowerCase() === 'hostdefault') row.Result = 'kept (HostDefault)';
            else todo.push({ kind, live, row });
          }
        for (const t of todo) {
          const id = t.live.ID!;
          if (t.kind === 'LoadBalancer') await svc.deleteLoadBalancer(id);
          else if (t.kind === 'Namespace') await svc.deleteNamespace(id);
          else if (t.kind === 'Endpoint') await svc.deleteEndpoint(id);
          else await svc.deleteNetwork(id);
        }
        print(render(fmt, rows, COLUMNS));
      });
    });
}
