/** HcnCreateNamespace / HcnModifyNamespace (endpoint and container attach) / HcnDeleteNamespace on the emulator state. */
import {
  EndpointFlags,
  getCI,
  type HostComputeNamespace,
  type ModifyNamespaceRequest,
  NAMESPACE_TYPES,
  type NamespaceResource,
  SCHEMA_V2,
} from '../../hns';
import { assignId, clone, endpointIn, namespaceIn, sameGuid } from './lookup';
import { sameId } from '../../net/id';
import type { EmulatorState } from './state';
import { type Ctx, fail, isGuid } from './validate';

type Doc = Record<string, unknown>;

export function createNamespaceIn(s: EmulatorState, input: HostComputeNamespace, ctx: Ctx): HostComputeNamespace {
  const type = input.Type === undefined ? 'Host' : NAMESPACE_TYPES.find((t) => t.toLowerCase() === String(input.Type).toLowerCase());
  if (!type) fail('E_INVALIDARG', ctx, `(Type "${String(input.Type)}" must be one of ${NAMESPACE_TYPES.join(', ')})`);
  if (type === 'HostDefault' && s.Namespaces.some((n) => String(n.Type).toLowerCase() === 'hostdefault')) {
    fail('ERROR_OBJECT_ALREADY_EXISTS', ctx, '(the host already has its HostDefault namespace)');
  }
  if (type === 'Guest' || type === 'GuestDefault')
    fail(
      'HCN_E_REQUEST_UNSUPPORTED',
      ctx,
      `(${type} namespaces live in a utility VM; the emulated host runs process-isolated containers only)`,
    );
  if (input.Resources?.length) fail('E_INVALIDARG', ctx, '(Resources are added with HcnModifyNamespace, not on create)');
  const id = assignId(input.ID, s.Namespaces, 'namespace', ctx);
  const ns: HostComputeNamespace = {
    ...input,
    ID: id,
    NamespaceId: s.Host.NextNamespaceId++,
    NamespaceGuid: id,
    Type: type,
    Resources: [],
    SchemaVersion: { ...SCHEMA_V2 },
  };
  s.Namespaces.push(ns);
  return clone(ns);
}

export function modifyNamespaceIn(s: EmulatorState, id: string, req: ModifyNamespaceRequest, ctx: Ctx): HostComputeNamespace {
  const ns = namespaceIn(s, id, ctx);
  const rt = String(req?.ResourceType ?? '').toLowerCase();
  const op = String(req?.RequestType ?? '').toLowerCase();
  const settings = (req?.Settings ?? {}) as Doc;
  ns.Resources ??= [];
  if (op !== 'add' && op !== 'remove') fail('E_INVALIDARG', ctx, `(RequestType "${String(req?.RequestType)}" must be Add or Remove)`);
  if (rt === 'endpoint') {
    const epId = getCI<string>(settings, 'EndpointId');
    if (!isGuid(epId)) fail('HCN_E_GUID_CONVERSION_FAILURE', ctx, `(Settings.EndpointId "${String(epId)}" is not a GUID)`);
    const ep = endpointIn(s, epId, { ...ctx, subject: `namespace ${id} endpoint ${epId}` }, 'HCN_E_ENDPOINT_NOT_FOUND');
    const ectx = { ...ctx, subject: `namespace ${ns.ID} endpoint ${ep.ID}` };
    if (op === 'add') {
      if (((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0)
        fail('HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION', ectx, '(a remote endpoint cannot be added to a namespace)');
      if (ep.HostComputeNamespace && sameGuid(ep.HostComputeNamespace, ns.ID)) fail('HCN_E_ENDPOINT_ALREADY_ATTACHED', ectx);
      if (ep.HostComputeNamespace) fail('HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS', ectx, `(it is in namespace ${ep.HostComputeNamespace})`);
      ep.HostComputeNamespace = ns.ID;
      ns.Resources.push({ Type: 'Endpoint', Data: { ID: ep.ID } });
    } else {
      if (!ep.HostComputeNamespace || !sameGuid(ep.HostComputeNamespace, ns.ID))
        fail(
          'HCN_E_ENDPOINT_NOT_ATTACHED',
          ectx,
          `(it is ${ep.HostComputeNamespace ? 'in namespace ' + ep.HostComputeNamespace : 'in no namespace'})`,
        );
      delete ep.HostComputeNamespace;
      ns.Resources = ns.Resources.filter((r) => !(String(r.Type).toLowerCase() === 'endpoint' && sameGuid(r.Data.ID ?? r.Data.Id, ep.ID)));
    }
  } else if (rt === 'container') {
    const cid = getCI<string>(settings, 'ContainerId');
    if (typeof cid !== 'string' || cid === '') fail('E_INVALIDARG', ctx, '(Settings.ContainerId must name the container)');
    const has = (r: NamespaceResource) => String(r.Type).toLowerCase() === 'container' && sameId(String(r.Data.ID ?? r.Data.Id ?? ''), cid);
    if (op === 'add') {
      if (ns.Resources.some(has)) fail('ERROR_OBJECT_ALREADY_EXISTS', ctx, `(container ${cid} is already in the namespace)`);
      ns.Resources.push({ Type: 'Container', Data: { ID: cid } });
    } else {
      if (!ns.Resources.some(has)) fail('ERROR_NOT_FOUND', ctx, `(container ${cid} is not in the namespace)`);
      ns.Resources = ns.Resources.filter((r) => !has(r));
    }
  } else {
    fail('E_INVALIDARG', ctx, `(ResourceType "${String(req?.ResourceType)}" must be Endpoint or Container)`);
  }
  return clone(ns);
}

export function deleteNamespaceIn(s: EmulatorState, id: string, ctx: Ctx): void {
  const ns = namespaceIn(s, id, ctx);
  if (String(ns.Type).toLowerCase() === 'hostdefault') fail('E_INVALIDARG', ctx, '(the host default namespace cannot be deleted)');
  // Endpoints left in a deleted namespace go back to being unattached (containerd deletes the
  // namespace after CNI DEL, but a crashed pod may skip DEL).
  for (const e of s.Endpoints) if (e.HostComputeNamespace && sameGuid(e.HostComputeNamespace, ns.ID)) delete e.HostComputeNamespace;
  s.Namespaces = s.Namespaces.filter((n) => n !== ns);
}
