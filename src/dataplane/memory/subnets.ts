/** HcnModifyNetwork `Subnet` and `IPSubnet` requests (docs/hcn-model.md, "Modify requests"). */
import { getCI, type HostComputeNetwork, type Subnet } from '../../hns';
import { contains, parseIp } from '../../net';
import { newGuid, sameGuid } from './lookup';
import type { EmulatorState } from './state';
import { fail, subnetsOf, type Ctx } from './validate';

type Doc = Record<string, unknown>;

export function modifySubnets(s: EmulatorState, net: HostComputeNetwork, op: string, subnets: Subnet[], ctx: Ctx): void {
  net.Ipams ??= [{ Type: 'Static', Subnets: [] }];
  if (!net.Ipams.length) net.Ipams.push({ Type: 'Static', Subnets: [] });
  const ipam = net.Ipams[0];
  ipam.Subnets ??= [];
  if (op === 'add') {
    for (const sub of subnets) {
      sub.ID ??= newGuid();
      ipam.Subnets.push(sub);
    }
    subnetsOf(net, ctx);
    return;
  }
  if (op === 'remove') {
    for (const sub of subnets) {
      let found = false;
      for (const ip of net.Ipams) {
        const i = (ip.Subnets ?? []).findIndex(
          (x) => (sub.ID && sameGuid(x.ID, sub.ID)) || (sub.IpAddressPrefix && x.IpAddressPrefix === sub.IpAddressPrefix),
        );
        if (i < 0) continue;
        const info = subnetsOf({ Ipams: [{ Subnets: [ip.Subnets![i]] }] })[0];
        const inUse =
          info &&
          s.Endpoints.some(
            (e) =>
              sameGuid(e.HostComputeNetwork, net.ID) &&
              (e.IpConfigurations ?? []).some((c) => {
                const a = parseIp(c.IpAddress);
                return !!a && contains(info.cidr, a);
              }),
          );
        if (inUse) fail('HCN_E_ENTITY_HAS_REFERENCES', ctx, `(subnet ${ip.Subnets![i].IpAddressPrefix} still has endpoints)`);
        ip.Subnets!.splice(i, 1);
        found = true;
        break;
      }
      if (!found) fail('HCN_E_SUBNET_NOT_FOUND', ctx, `(subnet ${sub.ID ?? sub.IpAddressPrefix})`);
    }
    return;
  }
  fail('E_INVALIDARG', ctx, `(RequestType "${ctx.requestType ?? op}" is not valid for Subnet: use Add or Remove)`);
}

export function modifyIpSubnets(net: HostComputeNetwork, op: string, settings: Doc, ctx: Ctx): void {
  const subnetId = getCI<string>(settings, 'SubnetId');
  const sub = (net.Ipams ?? []).flatMap((i) => i.Subnets ?? []).find((x) => sameGuid(x.ID, subnetId));
  if (!sub) fail('HCN_E_SUBNET_NOT_FOUND', ctx, `(subnet ${String(subnetId)})`);
  const outer = subnetsOf({ Ipams: [{ Subnets: [sub] }] })[0];
  const items = getCI<{ ID?: string; IpAddressPrefix?: string; Flags?: number }[]>(settings, 'IpSubnets') ?? [];
  sub.IpSubnets ??= [];
  for (const item of items) {
    if (op === 'add') {
      const c = parseIp(String(item.IpAddressPrefix ?? '').split('/')[0]);
      if (!c || !outer || !contains(outer.cidr, c))
        fail('HCN_E_INVALID_IP_SUBNET', ctx, `(IP subnet ${String(item.IpAddressPrefix)} is not inside ${sub.IpAddressPrefix})`);
      sub.IpSubnets.push({ ...item, ID: item.ID ?? newGuid() });
    } else if (op === 'remove') {
      const i = sub.IpSubnets.findIndex((x) => (item.ID && sameGuid(x.ID, item.ID)) || x.IpAddressPrefix === item.IpAddressPrefix);
      if (i < 0) fail('HCN_E_SUBNET_NOT_FOUND', ctx, `(IP subnet ${item.ID ?? item.IpAddressPrefix})`);
      sub.IpSubnets.splice(i, 1);
    } else {
      fail('E_INVALIDARG', ctx, `(RequestType "${ctx.requestType ?? op}" is not valid for IPSubnet: use Add or Remove)`);
    }
  }
}
