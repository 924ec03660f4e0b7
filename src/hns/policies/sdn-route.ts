/** SDNRoute (endpoint, v1 `ROUTE`): e.g. flannel's `{"DestinationPrefix":"<service CIDR>","NeedEncap":true}`. */
import { prefixInRange, splitCidr } from '../../net/ip';
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';
import { clean } from './v1-form';

export interface SdnRouteSettings {
  DestinationPrefix: string;
  NextHop?: string;
  NeedEncap?: boolean;
  AutomaticEndpointMonitor?: boolean;
}

export const sdnRoute: PolicyDescriptor = {
  type: 'SDNRoute',
  keys: ['DestinationPrefix', 'NextHop', 'NeedEncap', 'AutomaticEndpointMonitor'],
  check: (c, p, s) => {
    c.cidr(at(p, 'DestinationPrefix'), s.DestinationPrefix);
    if (s.NextHop !== undefined && s.NextHop !== '') c.ip(at(p, 'NextHop'), s.NextHop);
    if (s.NeedEncap !== undefined) c.boolean(at(p, 'NeedEncap'), s.NeedEncap);
    if (s.AutomaticEndpointMonitor !== undefined) c.boolean(at(p, 'AutomaticEndpointMonitor'), s.AutomaticEndpointMonitor);
  },
  hnsCheck: (s, refuse) => {
    const c = splitCidr(getCI(s, 'DestinationPrefix'));
    if (!c || !prefixInRange(c)) refuse.invalid(`DestinationPrefix "${String(getCI(s, 'DestinationPrefix'))}" is not a prefix`);
  },
  v1: {
    type: 'ROUTE',
    toV2: (p) => {
      const g = (k: string) => getCI(p, k);
      return {
        Type: 'SDNRoute',
        Settings: clean({
          DestinationPrefix: g('DestinationPrefix') as string,
          NextHop: g('NextHop') as string | undefined,
          NeedEncap: g('NeedEncap') as boolean | undefined,
        }),
      };
    },
    toV1: (s) => {
      const g = (k: string) => getCI(s, k);
      return clean({ Type: 'ROUTE', DestinationPrefix: g('DestinationPrefix'), NextHop: g('NextHop'), NeedEncap: g('NeedEncap') });
    },
  },
};
