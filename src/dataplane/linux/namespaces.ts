/**
 * Namespaces and attachment. A namespace is a netns: registered by path (ID = /var/run/netns/...) or created
 * as a named netns for a GUID ID. Attaching an endpoint creates its pod interface inside the netns.
 */
import * as path from 'node:path';
import {
  EndpointFlags,
  HRESULT,
  HnsError,
  SCHEMA_V2,
  type HostComputeNamespace,
  type HostComputeQuery,
  type ModifyNamespaceRequest,
} from '../../hns';
import type { AttachOptions } from '../types';
import type { LinuxContext } from './context';
import { clone } from './clone';
import { newId } from './ids';
import { failpoint } from './failpoints';
import { liveView, markDetached } from './endpoints';
import { isNetnsPath } from './netns';
import { BadNetworkError, vethName } from './realize-network';
import { attach, detach, detachLater } from './realize-endpoint';
import { queryMatcher } from './query';
import { attachToHost, hostNamespace, HOST_NAMESPACE_ID, isHostNamespace } from './host';
import { childProcess } from './lazy';
import { key, type LinuxState } from './state';
import { compactGuid } from '../../net/id';

export function listNamespaces(c: LinuxContext, query?: HostComputeQuery): HostComputeNamespace[] {
  const s = c.read();
  return [hostNamespace(s), ...Object.values(s.namespaces).map((n) => n.doc)].filter(queryMatcher(query)).map(clone);
}

export function getNamespace(c: LinuxContext, id: string): HostComputeNamespace {
  if (isHostNamespace(id)) return hostNamespace(c.read());
  const n = c.read().namespaces[key(id)];
  if (!n) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnOpenNamespace', subject: `namespace ${id}` });
  return clone(n.doc);
}

/** A namespace whose ID is a netns path registers that namespace; otherwise a named netns is created. */
export function createNamespace(c: LinuxContext, doc: HostComputeNamespace): Promise<HostComputeNamespace> {
  const id = doc.ID ?? newId();
  return c.mutate('HcnCreateNamespace', `namespace ${id}`, (s) => {
    if (s.namespaces[key(id)] || isHostNamespace(id))
      throw HnsError.of('ERROR_ALREADY_EXISTS', { call: 'HcnCreateNamespace', subject: `namespace ${id}` });
    if (String(doc.Type ?? '').toLowerCase() === 'hostdefault') {
      throw HnsError.of(
        'ERROR_OBJECT_ALREADY_EXISTS',
        { call: 'HcnCreateNamespace', subject: `namespace ${id}` },
        `(the node already has its HostDefault namespace ${HOST_NAMESPACE_ID})`,
      );
    }
    let nsPath = id;
    let created = false;
    if (id.startsWith('/')) {
      if (!isNetnsPath(id)) throw new BadNetworkError(`ID: ${id} is not a network namespace path (e.g. /var/run/netns/<name>)`);
    } else {
      const name = `sy-${compactGuid(id).slice(0, 12)}`;
      childProcess().execFileSync('ip', ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
      nsPath = `/var/run/netns/${name}`;
      created = true;
    }
    const stored: HostComputeNamespace = { Type: 'Host', Resources: [], ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
    s.namespaces[key(id)] = { doc: stored, path: nsPath, created };
    return clone(stored);
  });
}

export async function modifyNamespace(c: LinuxContext, id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace> {
  if (request.ResourceType === 'Endpoint') {
    const ep = request.Settings.EndpointId;
    if (request.RequestType === 'Remove') await detachEndpoint(c, id, ep);
    else await attachEndpoint(c, id, ep);
    const s = c.read();
    if (isHostNamespace(id)) return hostNamespace(s);
    const n = s.namespaces[key(id)];
    return clone(
      n ? n.doc : { ID: id, Type: 'Host', Resources: [{ Type: 'Endpoint', Data: { ID: ep } }], SchemaVersion: { ...SCHEMA_V2 } },
    );
  }
  throw HnsError.of(
    'HCN_E_REQUEST_UNSUPPORTED',
    { call: 'HcnModifyNamespace', subject: `namespace ${id}` },
    `ResourceType ${request.ResourceType} is not supported by the linux data plane`,
  );
}

export async function deleteNamespace(c: LinuxContext, id: string): Promise<void> {
  await c.mutate('HcnDeleteNamespace', `namespace ${id}`, (s) => {
    if (isHostNamespace(id))
      throw new HnsError(
        HRESULT.E_INVALIDARG,
        'the HostDefault namespace (the node itself) cannot be deleted',
        { call: 'HcnDeleteNamespace', subject: `namespace ${id}` },
        'bad-input',
      );
    const n = s.namespaces[key(id)];
    if (!n) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnDeleteNamespace', subject: `namespace ${id}` });
    for (const ep of Object.values(s.endpoints)) {
      if (ep.attached && ep.netns === n.path) {
        detach(c.rt, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep);
        markDetached(ep);
      }
    }
    if (n.created) childProcess().execFileSync('ip', ['netns', 'del', path.basename(n.path)], { stdio: ['ignore', 'ignore', 'pipe'] });
    delete s.namespaces[key(id)];
    c.syncRules(s);
  });
}

function nsPath(s: LinuxState, namespaceId: string, call: string): string {
  const reg = s.namespaces[key(namespaceId)];
  if (reg) return reg.path;
  if (namespaceId.startsWith('/') && isNetnsPath(namespaceId)) return namespaceId;
  throw HnsError.of(
    'ERROR_NOT_FOUND',
    { call, subject: `namespace ${namespaceId}` },
    `${namespaceId} is neither a registered namespace nor a network namespace path`,
  );
}

export async function attachEndpoint(c: LinuxContext, namespaceId: string, endpointId: string, options?: AttachOptions): Promise<void> {
  const call = 'HcnModifyNamespace(Add Endpoint)';
  const ifname = options?.interfaceName ?? 'eth0';
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname))
    throw new HnsError(
      HRESULT.E_INVALIDARG,
      `interfaceName: "${ifname}" is not a Linux interface name (1-15 letters, digits, _ . -)`,
      { call, subject: `endpoint ${endpointId}` },
      'bad-input',
    );
  // A pod interface being deleted (an earlier detach's veth) may carry the name this attach creates.
  await c.settleKernel();
  await c.mutate(
    call,
    `endpoint ${endpointId}`,
    (s) => {
      const ep = c.endpoint(s, endpointId, call);
      const toHost = isHostNamespace(namespaceId);
      const ns = toHost ? '' : nsPath(s, namespaceId, call);
      if ((ep.doc.Flags ?? 0) & EndpointFlags.RemoteEndpoint)
        throw HnsError.of('HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION', { call, subject: `endpoint ${endpointId}` });
      const net = c.network(s, ep.doc.HostComputeNetwork ?? '', call);
      if (toHost) {
        if (ep.attached)
          throw HnsError.of(
            'HCN_E_ENDPOINT_ALREADY_ATTACHED',
            { call, subject: `endpoint ${endpointId}` },
            `endpoint is already attached to ${ep.host ? 'the host' : ep.netns}`,
          );
        attachToHost(c, net, ep, call);
        c.persistBeforeReturn();
        c.syncRules(s, false, ep);
        return;
      }
      if (ep.attached) {
        // An attachment whose pod interface vanished (netns deleted, link removed) is stale: clear it and re-attach.
        if (liveView(ep).HostComputeNamespace)
          throw HnsError.of(
            'HCN_E_ENDPOINT_ALREADY_ATTACHED',
            { call, subject: `endpoint ${endpointId}` },
            `endpoint is already attached to ${ep.netns}`,
          );
        detach(c.rt, net, ep);
        markDetached(ep);
      }
      if (net.type === 'Transparent') {
        // A macvlan lives only inside the pod namespace, where the orphan sweep cannot see it: record the
        // intent before creating it so reconcile finds it after a crash. (Host veths are found by name.)
        ep.attaching = { netns: ns, ifname };
        c.save(s);
      }
      let linked = false;
      try {
        const r = attach(c.rt, net, ep, ns, ifname, vethName(ep.doc.ID!));
        linked = true;
        failpoint(c.env, 'linux.attach.after-links');
        ep.veth = r.veth;
        ep.netns = ns;
        ep.ifname = ifname;
        ep.attached = true;
        delete ep.attaching;
        c.syncRules(s, false, ep);
      } catch (e) {
        // attach() removes what it created when it fails itself; later failures (nft) undo the links here.
        if (linked) detach(c.rt, net, { ...ep, netns: ns, ifname, veth: net.type === 'Transparent' ? undefined : vethName(ep.doc.ID!) });
        markDetached(ep);
        throw e;
      }
      const reg = s.namespaces[key(namespaceId)];
      if (reg) reg.doc.Resources = [...(reg.doc.Resources ?? []), { Type: 'Endpoint', Data: { ID: ep.doc.ID } }];
      ep.doc.HostComputeNamespace = reg ? reg.doc.ID : ns;
    },
    { deferrable: true },
  );
}

export async function detachEndpoint(c: LinuxContext, namespaceId: string, endpointId: string): Promise<void> {
  const call = 'HcnModifyNamespace(Remove Endpoint)';
  // The record goes first and the pod veth after it, off the lock (a crash in between leaves a link of
  // ours that no record wants: the reconcile sweep removes it).
  const unlink = await c.mutate(
    call,
    `endpoint ${endpointId}`,
    (s) => {
      const ep = c.endpoint(s, endpointId, call);
      const ns = isHostNamespace(namespaceId) ? undefined : nsPath(s, namespaceId, call);
      if (!ep.attached || (ns === undefined ? !ep.host : ep.netns !== ns))
        throw HnsError.of(
          'HCN_E_ENDPOINT_NOT_ATTACHED',
          { call, subject: `endpoint ${endpointId}` },
          `endpoint is not attached to ${namespaceId}`,
        );
      if (ep.host) c.persistBeforeReturn();
      const rest = detachLater(c.rt, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep);
      markDetached(ep);
      const reg = s.namespaces[key(namespaceId)];
      if (reg)
        reg.doc.Resources = (reg.doc.Resources ?? []).filter(
          (r) => !(r.Type === 'Endpoint' && key(String(r.Data.ID ?? r.Data.Id ?? '')) === key(endpointId)),
        );
      c.syncRules(s, false, ep);
      return rest;
    },
    { deferrable: true },
  );
  await c.afterMutation(unlink());
}
