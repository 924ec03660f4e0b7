/** ModifySettingRequest shapes, ../shared/reference/hcn-api.md §7 and §4.2. */
import type { NetworkPolicy, EndpointPolicy } from './policy';
import type { Dns } from './schema';

export type RequestType = 'Add' | 'Remove' | 'Update' | 'Refresh' | 'Reset';
export const REQUEST_TYPES: readonly RequestType[] = ['Add', 'Remove', 'Update', 'Refresh', 'Reset'];

export type NetworkResourceType = 'Policy' | 'DNS' | 'Extension' | 'Subnet' | 'IPSubnet';
export type EndpointResourceType = 'Port' | 'Policy';
export type NamespaceResourceType = 'Endpoint' | 'Container';

export interface ModifyRequest<R extends string, S> {
  ResourceType: R;
  RequestType: RequestType;
  ResourceUri?: string;
  Settings: S;
}

export type ModifyNetworkRequest =
  | ModifyRequest<'Policy', { Policies: NetworkPolicy[] }>
  | ModifyRequest<'DNS', Dns>
  | ModifyRequest<'Extension', { Id: string; IsEnabled: boolean }>
  | ModifyRequest<'Subnet', { Subnets: unknown[] }>
  | ModifyRequest<'IPSubnet', { SubnetId: string; IpSubnets: unknown[] }>;

export type ModifyEndpointRequest =
  | ModifyRequest<'Policy', { Policies: EndpointPolicy[] }>
  | ModifyRequest<'Port', { PortId?: string; VirtualNicName?: string; VirtualMachineId?: string }>;

export type ModifyNamespaceRequest =
  | ModifyRequest<'Endpoint', { EndpointId: string }>
  | ModifyRequest<'Container', { ContainerId: string }>;

export function networkPolicyRequest(requestType: RequestType, policies: NetworkPolicy[]): ModifyNetworkRequest {
  return { ResourceType: 'Policy', RequestType: requestType, Settings: { Policies: policies } };
}

export function endpointPolicyRequest(requestType: RequestType, policies: EndpointPolicy[]): ModifyEndpointRequest {
  return { ResourceType: 'Policy', RequestType: requestType, Settings: { Policies: policies } };
}

export function namespaceEndpointRequest(requestType: 'Add' | 'Remove', endpointId: string): ModifyNamespaceRequest {
  return { ResourceType: 'Endpoint', RequestType: requestType, Settings: { EndpointId: endpointId } };
}
