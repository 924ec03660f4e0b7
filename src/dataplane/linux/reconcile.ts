/**
 * Crash and reboot recovery: brings the kernel back in line with the state file when the data plane opens
 * (only when something needs repair; the returned report says what changed).
 * Recreates networks whose links are gone (reboot), removes links left by an interrupted attach or by
 * objects no longer recorded, forgets attachments whose links disappeared (and the whole pod endpoint when
 * its container namespace is gone too), and reapplies the nft tables
 * when anything was rebuilt.
 *
 * Only links this instance created are ever deleted: every bridge, veth and vxlan it creates carries the
 * instance's owner tag in its alias (LinuxContext.ownerTag, from the state file's path); a `syb*`/`syx*`/
 * `syv*` link without that tag belongs to someone else (another state file, another instance) and is left alone.
 */
import * as fs from 'node:fs';
import type { LinuxContext } from './context';
import { markDetached } from './endpoints';
import { writeSysctl } from './netns';
import { OWN_LINK, realizeNetwork } from './realize-network';
import { addHostAddress, detach } from './realize-endpoint';
import { hostAddressPresent } from './host';
import { key, withStateLock, type EndpointRecord, type LinuxState } from './state';

export interface ReconcileReport {
  removedLinks: string[];
  rebuiltNetworks: string[];
  abandonedAttaches: string[];
  /** Pod endpoints whose interface and namespace are both gone (a reboot): their records are dropped. */
  removedEndpoints: string[];
}

/** Cheap check for per-pod processes: whether anything at all needs repair (no lock, no state write). */
function needsReconcile(c: LinuxContext, s: LinuxState): boolean {
  const all = c.rt.links();
  const byName = new Map(all.map((l) => [l.name, l]));
  const wanted = new Set<string>();
  for (const rec of Object.values(s.networks)) {
    for (const name of [rec.bridge, rec.vxlan]) {
      if (!name) continue;
      if (!byName.has(name)) return true;
      wanted.add(name);
    }
  }
  for (const ep of Object.values(s.endpoints)) {
    if (ep.host && ep.attached && !hostAddressPresent(c, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep)) return true;
    if (ep.attaching && !ep.attached) return true;
    if (!ep.attached || !ep.veth) continue;
    const veth = byName.get(ep.veth);
    const br = byName.get(s.networks[key(ep.doc.HostComputeNetwork ?? '')]?.bridge ?? '');
    if (!veth || (br && veth.master !== br.index)) return true;
    wanted.add(ep.veth);
  }
  return all.some((l) => mine(c, l) && !wanted.has(l.name));
}

function dropEndpoint(s: LinuxState, ep: EndpointRecord): void {
  const id = key(ep.doc.ID!);
  delete s.endpoints[id];
  for (const ns of Object.values(s.namespaces))
    ns.doc.Resources = (ns.doc.Resources ?? []).filter((r) => !(r.Type === 'Endpoint' && key(String(r.Data.ID ?? r.Data.Id ?? '')) === id));
}

/** A link this instance created and may delete: our name pattern and our owner tag. */
function mine(c: LinuxContext, l: { name: string; alias?: string }): boolean {
  return OWN_LINK.test(l.name) && l.alias === c.ownerTag;
}

export async function reconcile(c: LinuxContext): Promise<ReconcileReport> {
  const report: ReconcileReport = { removedLinks: [], rebuiltNetworks: [], abandonedAttaches: [], removedEndpoints: [] };
  if (!fs.existsSync(c.statePath)) {
    // Nothing recorded: any link with our names is a leftover of a crashed first run.
    await withStateLock(c.statePath, () => {
      if (fs.existsSync(c.statePath)) return;
      for (const l of c.rt.links()) if (mine(c, l) && c.rt.deleteLink(l.name)) report.removedLinks.push(l.name);
    });
    return report;
  }
  if (!needsReconcile(c, c.read())) return report;
  await c.mutate('reconcile', c.netns ?? 'host', (s) => {
    const all = c.rt.links();
    const links = new Set(all.map((l) => l.name));
    let rebuild = false;
    for (const rec of Object.values(s.networks)) {
      if ((rec.bridge && !links.has(rec.bridge)) || (rec.vxlan && !links.has(rec.vxlan))) {
        realizeNetwork(c.rt, rec);
        writeSysctl(c.netns, 'net.ipv4.ip_forward', '1');
        if (rec.bridge) c.bridgeSysctls(rec.bridge);
        report.rebuiltNetworks.push(rec.doc.ID!);
        rebuild = true;
      }
    }
    const wanted = new Set<string>();
    for (const rec of Object.values(s.networks)) {
      if (rec.bridge) wanted.add(rec.bridge);
      if (rec.vxlan) wanted.add(rec.vxlan);
    }
    for (const ep of Object.values(s.endpoints)) {
      if (ep.host && ep.attached) {
        // A rebuilt bridge (or one whose addresses were flushed) gets the host endpoint's address back.
        const net = s.networks[key(ep.doc.HostComputeNetwork ?? '')];
        if (net?.bridge && !hostAddressPresent(c, net, ep)) addHostAddress(c.rt, net, ep);
      } else if (ep.attaching && !ep.attached) {
        detach(c.rt, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep);
        markDetached(ep);
        report.abandonedAttaches.push(ep.doc.ID!);
        rebuild = true;
      } else if (ep.attached && ep.veth && !links.has(ep.veth)) {
        // Interface and container namespace both gone (a reboot, a runtime that never ran DEL): nothing of the
        // endpoint is left but this instance's record, which would keep its address looking live to IPAM GC,
        // as HNS drops a rebooted node's endpoints. A namespace that still exists keeps the record (detached).
        if (ep.netns && !fs.existsSync(ep.netns)) {
          dropEndpoint(s, ep);
          report.removedEndpoints.push(ep.doc.ID!);
        } else markDetached(ep);
        rebuild = true;
      } else if (ep.attached && ep.veth) {
        wanted.add(ep.veth);
        // A rebuilt bridge has no ports: put surviving pod veths back on it.
        const br = s.networks[key(ep.doc.HostComputeNetwork ?? '')]?.bridge;
        const brLink = br ? c.rt.linkByName(br) : undefined;
        const veth = all.find((l) => l.name === ep.veth);
        if (brLink && veth && veth.master !== brLink.index) c.rt.setLink(veth.index, { master: brLink.index, up: true }, ep.veth);
      }
    }
    for (const l of all) {
      if (mine(c, l) && !wanted.has(l.name) && c.rt.deleteLink(l.name)) report.removedLinks.push(l.name);
    }
    if (rebuild || report.rebuiltNetworks.length) c.syncRules(s, true);
  });
  return report;
}
