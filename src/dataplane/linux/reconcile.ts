/**
 * Crash and reboot recovery: brings the kernel back in line with the state file. It runs before the first
 * write of a process (and, in a data plane kept open, before a write that follows another process's write),
 * or when asked (`switchyard repair`, with a dry run that only says what it would do) — never on a read:
 * listing or getting objects changes neither the kernel nor the state file.
 * Recreates networks whose links are gone (reboot), removes links left by an interrupted attach or by
 * objects no longer recorded, forgets attachments whose links disappeared (and the whole pod endpoint when
 * its container namespace is gone too), and reapplies the nft tables when anything was rebuilt. The report says what changed (or would change), one line per action.
 *
 * Only links this instance created are ever deleted: every bridge, veth and vxlan it creates carries the
 * instance's owner tag in its alias (LinuxContext.ownerTag, from the state file's path); a `syb*`/`syx*`/
 * `syv*` link without that tag belongs to someone else (another state file, another instance) and is left
 * alone — except an alias-less veth named after an endpoint this state records (see `mine`).
 */
import * as fs from 'node:fs';
import type { LinuxContext } from './context';
import { markDetached } from './endpoints';
import { writeSysctl } from './netns';
import { OWN_LINK, realizeNetwork, vethName } from './realize-network';
import { addHostAddress, detach } from './realize-endpoint';
import { hostAddressPresent } from './host';
import { key, withStateLock, type EndpointRecord, type LinuxState } from './state';
import type { Link } from './netlink/rtnl';

export interface ReconcileReport {
  removedLinks: string[];
  rebuiltNetworks: string[];
  abandonedAttaches: string[];
  /** Pod endpoints whose interface and namespace are both gone (a reboot): their records are dropped. */
  removedEndpoints: string[];
  /** Every change made (or, in a dry run, that would be made), in order, as a sentence. */
  actions: string[];
}

export interface ReconcileOptions {
  /** Work out and report what would change; change nothing (no lock, no write, no kernel change). */
  dryRun?: boolean;
}

const emptyReport = (): ReconcileReport => ({
  removedLinks: [],
  rebuiltNetworks: [],
  abandonedAttaches: [],
  removedEndpoints: [],
  actions: [],
});

/**
 * A link this instance created and may delete: our name pattern and our owner tag — or, for a veth without
 * any alias, a name derived from an endpoint this state records. Links are created with their tag in the same
 * netlink datagram (Rtnl.newLink); the second rule covers veths left untagged by builds that tagged them with
 * a separate call, where the endpoint's random ID in the name proves them ours all the same.
 */
function mine(c: LinuxContext, l: { name: string; alias?: string }, recordedVeths?: Set<string>): boolean {
  if (!OWN_LINK.test(l.name)) return false;
  return l.alias === c.ownerTag || (!l.alias && recordedVeths?.has(l.name) === true);
}

function dropEndpoint(s: LinuxState, ep: EndpointRecord): void {
  const id = key(ep.doc.ID!);
  delete s.endpoints[id];
  for (const ns of Object.values(s.namespaces))
    ns.doc.Resources = (ns.doc.Resources ?? []).filter((r) => !(r.Type === 'Endpoint' && key(String(r.Data.ID ?? r.Data.Id ?? '')) === id));
}

/**
 * Compares the state with the kernel and, unless `dryRun`, repairs as it goes. One walk serves both, so a
 * dry run reports exactly what a repair would do. Returns whether the nft tables must be reapplied.
 */
function walk(c: LinuxContext, s: LinuxState, all: Link[], report: ReconcileReport, dryRun: boolean): boolean {
  const links = new Set(all.map((l) => l.name));
  const act = (what: string, fn: () => void) => {
    report.actions.push(what);
    if (!dryRun) fn();
  };
  let rebuild = false;
  for (const rec of Object.values(s.networks)) {
    if ((rec.bridge && !links.has(rec.bridge)) || (rec.vxlan && !links.has(rec.vxlan))) {
      const names = [rec.bridge, rec.vxlan].filter((n) => n && !links.has(n)).join(', ');
      act(`rebuild network ${rec.doc.Name ?? ''} (${rec.doc.ID}): ${names} missing`, () => {
        realizeNetwork(c.rt, rec);
        writeSysctl(c.netns, 'net.ipv4.ip_forward', '1');
        if (rec.bridge) c.bridgeSysctls(rec.bridge);
      });
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
    const net = s.networks[key(ep.doc.HostComputeNetwork ?? '')];
    if (ep.host && ep.attached) {
      // A rebuilt bridge (or one whose addresses were flushed) gets the host endpoint's address back.
      const rebuilt = net?.bridge !== undefined && !links.has(net.bridge);
      if (net?.bridge && (rebuilt || !hostAddressPresent(c, net, ep)))
        act(`restore host endpoint ${ep.doc.ID}'s address on ${net.bridge}`, () => addHostAddress(c.rt, net, ep));
    } else if (ep.attaching && !ep.attached) {
      act(`undo the interrupted attach of endpoint ${ep.doc.ID} (${ep.attaching.ifname} in ${ep.attaching.netns})`, () => {
        detach(c.rt, net, ep);
        markDetached(ep);
      });
      report.abandonedAttaches.push(ep.doc.ID!);
      rebuild = true;
    } else if (ep.attached && ep.veth && !links.has(ep.veth)) {
      // Interface and container namespace both gone (a reboot, a runtime that never ran DEL): nothing of the
      // endpoint is left but this instance's record, which would keep its address looking live to IPAM GC,
      // as HNS drops a rebooted node's endpoints. A namespace that still exists keeps the record (detached).
      if (ep.netns && !fs.existsSync(ep.netns))
        act(`drop endpoint ${ep.doc.ID} (${ep.veth} and its namespace ${ep.netns} are gone)`, () => {
          dropEndpoint(s, ep);
          report.removedEndpoints.push(ep.doc.ID!);
        });
      else act(`forget endpoint ${ep.doc.ID}'s attachment to ${ep.netns ?? '?'} (${ep.veth} is gone)`, () => markDetached(ep));
      rebuild = true;
    } else if (ep.attached && ep.veth) {
      wanted.add(ep.veth);
      // A rebuilt bridge has no ports: put surviving pod veths back on it.
      const veth = all.find((l) => l.name === ep.veth)!;
      const brName = net?.bridge;
      if (!brName) continue;
      const brLink = links.has(brName) ? all.find((l) => l.name === brName) : undefined;
      if (!brLink || veth.master !== brLink.index)
        act(`put ${ep.veth} (endpoint ${ep.doc.ID}) back on ${brName}`, () => {
          const br = c.rt.linkByName(brName);
          if (br) c.rt.setLink(veth.index, { master: br.index, up: true }, ep.veth);
        });
    }
  }
  const recordedVeths = new Set(Object.values(s.endpoints).map((ep) => vethName(ep.doc.ID ?? '')));
  for (const l of all) {
    if (mine(c, l, recordedVeths) && !wanted.has(l.name))
      act(`delete link ${l.name} (ours, recorded by no object)`, () => {
        if (c.rt.deleteLink(l.name)) report.removedLinks.push(l.name);
      });
  }
  if (rebuild || report.rebuiltNetworks.length) act('reapply the nft tables', () => c.syncRules(s, true));
  return rebuild;
}

/**
 * Repairs (or, with `dryRun`, reports) what a crash or reboot left. The check itself is a link dump without
 * the lock; the lock is taken, and the state re-read, only when something needs repair.
 */
export async function reconcile(c: LinuxContext, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const report = emptyReport();
  if (!fs.existsSync(c.statePath)) {
    // Nothing recorded: any link with our names and tag is a leftover of a crashed first run.
    const leftovers = c.rt.links().filter((l) => mine(c, l));
    if (options.dryRun) {
      for (const l of leftovers) report.actions.push(`delete link ${l.name} (ours, recorded by no object)`);
      return report;
    }
    if (!leftovers.length) return report;
    await withStateLock(c.statePath, () => {
      if (fs.existsSync(c.statePath)) return;
      for (const l of c.rt.links()) {
        if (mine(c, l) && c.rt.deleteLink(l.name)) {
          report.removedLinks.push(l.name);
          report.actions.push(`delete link ${l.name} (ours, recorded by no object)`);
        }
      }
    });
    return report;
  }
  const probe = emptyReport();
  walk(c, c.read(), c.rt.links(), probe, true);
  if (options.dryRun || !probe.actions.length) return probe;
  await c.mutate('reconcile', c.netns ?? 'host', (s) => void walk(c, s, c.rt.links(), report, false), { repairing: true });
  return report;
}
