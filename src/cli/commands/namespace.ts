/** switchyard namespace create|list|get|delete|attach|detach */
import type { Command } from 'commander';
import { NAMESPACE_TYPES, type HostComputeNamespace } from '../../hns/namespace';
import { SCHEMA_V2 } from '../../hns/schema';
import { validateNamespace, assertValid } from '../../hns/validate';
import {
  withService,
  format,
  print,
  printMade,
  resolveNamespace,
  resolveEndpoint,
  resolveAll,
  resolveFlag,
  nameBook,
  NO_NAMES,
  did,
  IGNORE_NOT_FOUND_HELP,
  type NameBook,
} from '../context';
import { render, type Column } from '../output';
import { parseNamespace } from '../../hns/parse';
import { UsageError } from '../errors';
import { isGuid, normalizeGuid } from '../../net/id';

const endpointIds = (n: HostComputeNamespace): string[] =>
  (n.Resources ?? []).filter((r) => r.Type === 'Endpoint').map((r) => String(r.Data.ID ?? r.Data.Id));

/** The namespace table: its endpoints by name (`-o wide` adds their IDs). */
export const namespaceColumns = (names: NameBook = NO_NAMES): Column<HostComputeNamespace>[] => [
  { header: 'ID', get: (n) => n.ID },
  { header: 'NAME', get: (n) => n.Name },
  { header: 'TYPE', get: (n) => n.Type },
  { header: 'COMPARTMENT', get: (n) => n.NamespaceId },
  {
    header: 'ENDPOINTS',
    get: (n) =>
      endpointIds(n)
        .map((id) => names.endpoint(id))
        .join(','),
  },
];

const NAMESPACE_WIDE: Column<HostComputeNamespace>[] = [{ header: 'ENDPOINT IDS', get: (n) => endpointIds(n).join(',') }];

async function namesFor(svc: Parameters<typeof nameBook>[0], fmt: string): Promise<NameBook> {
  return fmt === 'table' || fmt === 'wide' ? nameBook(svc) : NO_NAMES;
}

export function register(program: Command): void {
  const ns = program.command('namespace').description('HostComputeNamespace: create, list, get, delete, attach, detach endpoints');

  ns.command('create')
    .description('create a namespace (HcnCreateNamespace)')
    .option('--type <type>', NAMESPACE_TYPES.join('|'), 'Host')
    .option('--name <name>', 'name, so apply and get can find it')
    .option('--id <guid>', 'the namespace ID (HCN callers choose the GUID; default: HNS makes one up)')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (opts: { type: string; name?: string; id?: string }, cmd: Command) => {
      const fmt = format(cmd);
      const type = NAMESPACE_TYPES.find((t) => t.toLowerCase() === opts.type.toLowerCase());
      if (!type) throw new UsageError(`--type: "${opts.type}" is not a namespace type: use one of ${NAMESPACE_TYPES.join(', ')}`);
      if (opts.id !== undefined && !isGuid(opts.id))
        throw new UsageError(`--id: "${opts.id}" is not a GUID (e.g. 9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10)`);
      const doc: HostComputeNamespace = {};
      if (opts.id !== undefined) doc.ID = normalizeGuid(opts.id);
      if (opts.name !== undefined) doc.Name = opts.name;
      doc.Type = type;
      doc.SchemaVersion = { ...SCHEMA_V2 };
      assertValid('namespace', doc, validateNamespace(doc, { create: true }));
      await withService(cmd, async (svc) => {
        const made = await svc.createNamespace(doc);
        printMade(cmd, fmt, `namespace/${doc.Name ?? doc.ID ?? doc.Type}`, 'created', () =>
          render(fmt, made, namespaceColumns(), parseNamespace, NAMESPACE_WIDE),
        );
      });
    });

  ns.command('list')
    .description('list namespaces (HcnEnumerateNamespaces)')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (_opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) =>
        print(render(fmt, await svc.listNamespaces(), namespaceColumns(await namesFor(svc, fmt)), parseNamespace, NAMESPACE_WIDE)),
      );
    });

  ns.command('get')
    .description('show one namespace by ID (or name)')
    .argument('<namespace>', 'ID or name')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) => {
        const n = await resolveNamespace(svc, ref);
        print(render(fmt, n, namespaceColumns(await namesFor(svc, fmt)), parseNamespace, NAMESPACE_WIDE));
      });
    });

  ns.command('delete')
    .description('delete namespaces (HcnDeleteNamespace)')
    .argument('<namespace...>', 'IDs or names')
    .option('--ignore-not-found', IGNORE_NOT_FOUND_HELP)
    .action(async (refs: string[], opts: { ignoreNotFound?: boolean }, cmd: Command) => {
      await withService(cmd, async (svc) => {
        const list = await resolveAll(refs, (r) => resolveNamespace(svc, r), opts.ignoreNotFound);
        for (const n of list) {
          await svc.deleteNamespace(n.ID!);
          print(`namespace ${n.Name ? n.Name + ' ' : ''}${n.ID} ${did(cmd, 'deleted')}\n`);
        }
      });
    });

  for (const [verb, desc] of [
    ['attach', 'add an endpoint to a namespace (HcnModifyNamespace, RequestType Add)'],
    ['detach', 'remove an endpoint from a namespace (HcnModifyNamespace, RequestType Remove)'],
  ] as const) {
    ns.command(verb)
      .description(desc)
      .argument('<namespace>', 'namespace ID or name')
      .argument('<endpoint>', 'endpoint name or ID')
      .action(async (nsRef: string, epRef: string, _opts: unknown, cmd: Command) => {
        await withService(cmd, async (svc) => {
          const n = await resolveFlag('<namespace>', 'namespace', nsRef, (r) => resolveNamespace(svc, r));
          const e = await resolveFlag('<endpoint>', 'endpoint', epRef, (r) => resolveEndpoint(svc, r));
          if (verb === 'attach') await svc.attachEndpoint(n.ID!, e.ID!);
          else await svc.detachEndpoint(n.ID!, e.ID!);
          const ns = n.Name ? `${n.Name} ${n.ID}` : n.ID;
          print(`endpoint ${e.Name ?? e.ID} ${did(cmd, `${verb === 'attach' ? 'attached to' : 'detached from'} namespace ${ns}`)}\n`);
        });
      });
  }
}
