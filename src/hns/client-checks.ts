/**
 * The checks hcsshim makes on the client side before HcnCreateNetwork (hcn/hcnnetwork.go, HostComputeNetwork.Create),
 * with its messages: every subnet with an address prefix needs routes that all have a NextHop, one of them a
 * default route. HNS never sees a network that fails them, so the HCN data planes refuse it before any call.
 */
import { HRESULT, HnsError } from './errors';
import type { HostComputeNetwork } from './network';

export function checkNetworkAsHcsshim(doc: HostComputeNetwork, call: string, subject: string): void {
  (doc.Ipams ?? []).forEach((ipam, i) =>
    (ipam.Subnets ?? []).forEach((subnet, j) => {
      if (!subnet.IpAddressPrefix) return;
      const at = `Ipams[${i}].Subnets[${j}]`;
      let hasDefault = false;
      (subnet.Routes ?? []).forEach((route, k) => {
        if (!route.NextHop) {
          throw new HnsError(
            HRESULT.E_INVALIDARG,
            `network create error, subnet has address prefix but no gateway specified (${at}.Routes[${k}].NextHop)`,
            { call, subject },
            'bad-input',
          );
        }
        if (route.DestinationPrefix === '0.0.0.0/0' || route.DestinationPrefix === '::/0') hasDefault = true;
      });
      if (!hasDefault) {
        throw new HnsError(HRESULT.E_INVALIDARG, `network create error, no default gateway (${at}.Routes)`, { call, subject }, 'bad-input');
      }
    }),
  );
}
