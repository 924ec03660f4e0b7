/**
 * The node's CNI configuration: built from the cluster settings (pure), written atomically into the CNI conf
 * dir only once the network is ready (a runtime never reads a half-written file, and never a config for a
 * network that does not exist yet), and the entrypoints copied into the CNI bin dir the same way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../util/atomic-write';
import type { CniSettings } from './config';
import type { ClusterNetConf, NodeLease } from './subnet/types';

export interface ConflistInput {
  cni: CniSettings;
  net: ClusterNetConf;
  lease: NodeLease;
  networkName: string;
  /** This node's address: win-bridge pods reach it through an encapsulated SDNRoute, as flannel's scripts set. */
  nodeIp?: string;
}

export function buildConflist(inp: ConflistInput): Record<string, unknown> {
  const { cni, net, lease, networkName } = inp;
  const ipam: Record<string, unknown> = {
    type: cni.ipamType,
    subnet: lease.subnet,
    routes: [{ dst: '0.0.0.0/0' }],
    dataDir: cni.ipamDataDir,
  };
  const svc = cni.serviceCidr;
  const exceptions = [net.network, ...(svc ? [svc] : [])];
  let plugin: Record<string, unknown>;
  if (cni.type === 'switchyard') {
    plugin = {
      type: 'switchyard',
      mode: net.backend.type === 'vxlan' ? 'overlay' : 'l2bridge',
      network: networkName,
      capabilities: { portMappings: true, dns: true },
      ipMasq: true,
      outboundNatExceptions: exceptions,
      ipam,
    };
  } else {
    const policies: unknown[] = [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: exceptions } } }];
    if (svc) policies.push({ name: 'EndpointPolicy', value: { Type: 'SDNRoute', Settings: { DestinationPrefix: svc, NeedEncap: true } } });
    if (cni.type === 'win-bridge' && inp.nodeIp)
      policies.push({
        name: 'EndpointPolicy',
        value: { Type: 'SDNRoute', Settings: { DestinationPrefix: `${inp.nodeIp}/32`, NeedEncap: true } },
      });
    plugin =
      cni.type === 'win-bridge'
        ? { type: 'win-bridge', apiVersion: 2, capabilities: { portMappings: true, dns: true }, ipMasqNetwork: net.network, ipam, policies }
        : {
            type: 'win-overlay',
            apiVersion: 2,
            capabilities: { portMappings: true, dns: true },
            ipMasq: true,
            endpointMacPrefix: '0E-2A',
            ipam,
            policies,
          };
  }
  // The conf name is the HNS network name (flannel's rule; kube-proxy's --network-name must match too) and the
  // host-local store directory the agent reserved its addresses in.
  return { cniVersion: cni.cniVersion, name: networkName, plugins: [plugin] };
}

/** Writes the conflist when it is missing or different; true when it wrote. */
export function writeConflist(dir: string, file: string, conf: Record<string, unknown>): boolean {
  const target = path.join(dir, file);
  const text = JSON.stringify(conf, null, 2) + '\n';
  try {
    if (fs.readFileSync(target, 'utf8') === text) return false;
  } catch {
    // missing: write it
  }
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomicSync(target, text, 0o644);
  return true;
}

export function conflistPresent(dir: string, file: string): boolean {
  return fs.existsSync(path.join(dir, file));
}

/** The entrypoints this build ships (dist/cni/bin beside dist/src/agent). */
export function defaultSourceBinDir(): string {
  return path.resolve(__dirname, '../../cni/bin');
}

/** Copies every entrypoint (and its code cache) that is missing or different; returns the names copied. */
export function installBinaries(from: string, to: string): string[] {
  if (!fs.existsSync(from)) throw new Error(`cni.sourceBinDir: ${from} does not exist (run npm run build, or set cni.sourceBinDir)`);
  fs.mkdirSync(to, { recursive: true });
  const copied: string[] = [];
  for (const name of fs.readdirSync(from).sort()) {
    const src = path.join(from, name);
    if (!fs.statSync(src).isFile()) continue;
    const data = fs.readFileSync(src);
    const dst = path.join(to, name);
    try {
      if (fs.readFileSync(dst).equals(data)) continue;
    } catch {
      // missing: copy it
    }
    // A rename replaces even a binary that is running; the runtime sees the old or the new file, never half.
    writeFileAtomicSync(dst, data, fs.statSync(src).mode & 0o777);
    copied.push(name);
  }
  return copied;
}
