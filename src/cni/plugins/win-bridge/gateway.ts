/**
 * win-bridge hands pods `<subnet>.2` as their gateway: on Windows that is the host endpoint flannel or the
 * node agent creates (cbr0_ep). Where the data plane says the gateway must have an owner before it is
 * handed out (capabilities.gatewayNeedsOwner, the linux plane), an ADD without one fails naming what is
 * missing, instead of giving the pod a gateway nothing answers for.
 */
import type { HostNetworkService } from '../../../dataplane/types';
import { buildQuery } from '../../../hns/query';
import { CniError, ErrCode } from '../../protocol/errors';
import { formatIP, networkOf, parseCIDR, type IP } from '../../ipam/ip';
import { sameId } from '../common/hns';

/** win-bridge gateway: network address of the IPAM address with 2 added to its last byte (no carry). */
export function bridgeGateway(ip: IP, prefix: number): IP {
  const net = networkOf(ip, prefix);
  return { v: net.v, n: (net.n & ~0xffn) | (((net.n & 0xffn) + 2n) & 0xffn) };
}

/** Checked before IPAM, so a refused ADD reserves nothing; the gateway is that of the network's first subnet. */
export async function requireGatewayOwner(s: HostNetworkService, network: string, networkId: string): Promise<void> {
  if (!s.capabilities.gatewayNeedsOwner) return;
  const net = await s.getNetwork(networkId);
  const subnet = parseCIDR(net.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix ?? '');
  if (!subnet) return;
  const gateway = formatIP(bridgeGateway(subnet.ip, subnet.prefix));
  const own = (net.Ipams ?? [])
    .flatMap((i) => i.Subnets ?? [])
    .flatMap((sub) => sub.Routes ?? [])
    .some((r) => r.NextHop === gateway);
  if (own) return;
  const hostNs = (await s.listNamespaces(buildQuery())).find((n) => String(n.Type).toLowerCase() === 'hostdefault');
  const eps = await s.listEndpoints(buildQuery());
  const owner = eps.find(
    (e) =>
      sameId(e.HostComputeNetwork, networkId) &&
      (e.IpConfigurations ?? []).some((c) => c.IpAddress === gateway) &&
      !!hostNs &&
      sameId(e.HostComputeNamespace, hostNs.ID),
  );
  if (owner) return;
  throw new CniError(
    ErrCode.TryAgainLater,
    `network ${network} has no host endpoint at ${gateway}, the gateway win-bridge gives pods`,
    `run the switchyard agent (it creates the host endpoint), or create one: switchyard endpoint create --network ${network} --name ${network}_ep --ip ${gateway} --host`,
  );
}
