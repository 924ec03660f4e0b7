/**
 * Host endpoints: the HCN model's HostDefault namespace is the node itself. An endpoint attached to it is
 * realized as its address on the network's bridge (next to the gateway address), so the node answers for
 * it: e.g. win-bridge's `<subnet>.2` pod gateway, which flannel's cbr0_ep or the node agent owns on Windows.
 * The linux plane's HostDefault namespace has the fixed ID below (one per node: per state file).
 */
import { HRESULT, HnsError, SCHEMA_V2, type HostComputeNamespace } from '../../hns';
import type { LinuxContext } from './context';
import { addHostAddress, hostAddress } from './realize-endpoint';
import { key, type EndpointRecord, type LinuxState, type NetworkRecord } from './state';

export const HOST_NAMESPACE_ID = '00000000-0000-0000-0000-000000000001';

export const isHostNamespace = (id: string): boolean => key(id) === key(HOST_NAMESPACE_ID);

/** The HostDefault namespace document, with the host endpoints as its resources. */
export function hostNamespace(s: LinuxState): HostComputeNamespace {
  const eps = Object.values(s.endpoints).filter((e) => e.host && e.attached);
  return {
    ID: HOST_NAMESPACE_ID,
    NamespaceId: 1,
    Type: 'HostDefault',
    Resources: eps.map((e) => ({ Type: 'Endpoint', Data: { ID: e.doc.ID } })),
    SchemaVersion: { ...SCHEMA_V2 },
  };
}

export function attachToHost(c: LinuxContext, net: NetworkRecord, ep: EndpointRecord, call: string): void {
  const subject = { call, subject: `endpoint ${ep.doc.ID}` };
  if (!net.bridge) {
    throw new HnsError(
      HRESULT.HCN_E_REQUEST_UNSUPPORTED,
      `network ${net.doc.Name ?? net.doc.ID} (${net.type}) has no bridge: host endpoints need an L2Bridge, Overlay or NAT network`,
      subject,
      'unsupported',
    );
  }
  const a = hostAddress(net, ep);
  if (!a)
    throw new HnsError(
      HRESULT.E_INVALIDARG,
      "IpConfigurations[0].IpAddress: a host endpoint needs an address in the network's subnet",
      subject,
      'bad-input',
    );
  if (a.ip === net.gateway) {
    throw HnsError.of(
      'HCN_E_ADDR_INVALID_OR_RESERVED',
      subject,
      `IpConfigurations[0].IpAddress ${a.ip} is the gateway of network ${net.doc.Name ?? net.doc.ID}, which the bridge already holds`,
    );
  }
  addHostAddress(c.rt, net, ep);
  ep.host = true;
  ep.attached = true;
  ep.doc.HostComputeNamespace = HOST_NAMESPACE_ID;
}

/** Whether the host endpoint's address is still on its bridge (liveView, reconcile). */
export function hostAddressPresent(c: LinuxContext, net: NetworkRecord | undefined, ep: EndpointRecord): boolean {
  const a = net ? hostAddress(net, ep) : undefined;
  const br = net?.bridge ? c.rt.linkByName(net.bridge) : undefined;
  if (!a || !br) return false;
  return c.rt.addresses(br.index).some((x) => x.ip === a.ip && x.prefixLen === a.prefixLen);
}
