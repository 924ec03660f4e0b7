/**
 * The agent's configuration: a file (`--config`, YAML or JSON) with flags overriding it, validated as a whole
 * so every problem names its field (`netConf.Backend.VNI: ...`, `--pod-cidr: ...`). Nothing here touches the
 * OS; reading the files named by the caller is the CLI's job (loadAgentConfig takes their text).
 */
import { contains, hasHostBits, parseCidr, parseIp } from '../net/ip';
import { isMac, toKernelMac } from '../net/mac';
import { defaultSubnetEnvPath } from './subnet/subnet-env';
import type { BackendType, ClusterNetConf, NodeLease } from './subnet/types';
import { parseProxySettings, type ProxySettings } from './proxy-config';

export class AgentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`agent configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'AgentConfigError';
  }
}

export type SubnetSourceKind = 'static' | 'kubernetes' | 'etcd';
export type CniPluginType = 'win-bridge' | 'win-overlay' | 'switchyard';

export interface CniSettings {
  /** Where the conflist is written (atomically); empty: not written. */
  confDir: string;
  /** Where dist/cni/bin entrypoints are copied; empty: not copied. */
  binDir: string;
  /** File name of the conflist. */
  confName: string;
  /** Plugin type; default by backend: host-gw → win-bridge, vxlan → win-overlay. */
  type: CniPluginType;
  cniVersion: string;
  /** IPAM plugin named in the conflist (both use the host-local store). */
  ipamType: 'host-local' | 'switchyard-ipam';
  /** host-local's dataDir (the store the agent reserves its addresses in). */
  ipamDataDir: string;
  /** Service CIDR: OutBoundNAT exception and (win-*) the encapsulated SDNRoute, as flannel's start scripts. */
  serviceCidr?: string;
  /** Where the entrypoints to copy come from (default: dist/cni/bin beside this build). */
  sourceBinDir?: string;
}

export interface AgentConfig {
  node: string;
  dataplane?: string;
  state?: string;
  subnetSource: SubnetSourceKind;
  podCidr?: string;
  kubeconfig?: string;
  etcdEndpoints: string[];
  etcdPrefix: string;
  netConf: ClusterNetConf;
  publicIp?: string;
  iface?: string;
  cni: CniSettings;
  /** Local API socket or pipe; empty: no local API (the CNI entrypoints then run standalone). */
  socket: string;
  /** flannel's subnet.env, written once the lease is known; empty: not written. */
  subnetEnv: string;
  metricsAddress: string;
  logFile?: string;
  /** Level-triggered resync period (flannel re-checks host-gw routes every 10 s). */
  resyncSeconds: number;
  /** Static source: the other nodes of the cluster. */
  peers: NodeLease[];
  /** The service proxy (off unless --proxy or proxy.enabled). */
  proxy: ProxySettings;
}

/** Flags as commander hands them (undefined = not given). */
export interface AgentFlags {
  node?: string;
  subnetSource?: string;
  podCidr?: string;
  kubeconfig?: string;
  etcdEndpoints?: string;
  etcdPrefix?: string;
  netConf?: string; // file text, read by the caller
  publicIp?: string;
  iface?: string;
  cniConfDir?: string;
  cniBinDir?: string;
  socket?: string;
  subnetEnv?: string;
  metricsAddress?: string;
  logFile?: string;
  dataplane?: string;
  state?: string;
  proxy?: boolean;
}

export const DEFAULT_ETCD_PREFIX = '/coreos.com/network';
export const DEFAULT_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;
export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9915';

export function defaultSocket(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string {
  if (env.SWITCHYARD_AGENT_SOCKET) return env.SWITCHYARD_AGENT_SOCKET;
  return platform === 'win32' ? '\\\\.\\pipe\\switchyard-agent' : '/run/switchyard/agent.sock';
}

const KEYS = new Set([
  'node',
  'dataplane',
  'state',
  'subnetSource',
  'podCIDR',
  'kubeconfig',
  'etcd',
  'netConf',
  'publicIP',
  'iface',
  'cni',
  'socket',
  'subnetEnv',
  'metricsAddress',
  'logFile',
  'resyncSeconds',
  'peers',
  'proxy',
]);
const CNI_KEYS = new Set(['confDir', 'binDir', 'confName', 'type', 'cniVersion', 'ipam', 'ipamDataDir', 'serviceCIDR', 'sourceBinDir']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A dotted-quad IPv4 address (src/net's strict parse, as HNS and Go's ParseIP read it). */
const parseIpv4 = (text: string): boolean => parseIp(text)?.v === 4;

/** A v4 CIDR with no host bits, or a message saying what is wrong with it. */
export function checkCidr(text: unknown): string | undefined {
  if (typeof text !== 'string') return 'must be a CIDR string such as 10.244.1.0/24';
  const net = parseCidr(text);
  if (!net || net.ip.v !== 4) return `"${text}" is not an IPv4 CIDR such as 10.244.1.0/24`;
  if (hasHostBits(net)) return `"${text}" has host bits set (the network address is needed)`;
  return undefined;
}

/** flannel's net-conf.json → ClusterNetConf, each problem named after its field. */
export function parseNetConf(raw: unknown, field: string, problems: string[]): ClusterNetConf | undefined {
  if (!isObj(raw)) {
    problems.push(`${field}: must be an object like {"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}`);
    return undefined;
  }
  const network = raw.Network;
  const bad = checkCidr(network);
  if (bad) problems.push(`${field}.Network: ${network === undefined ? 'is required (the cluster pod CIDR)' : bad}`);
  const subnetLen = raw.SubnetLen ?? 24;
  if (typeof subnetLen !== 'number' || !Number.isInteger(subnetLen) || subnetLen < 1 || subnetLen > 30)
    problems.push(`${field}.SubnetLen: must be an integer 1-30`);
  const b = raw.Backend ?? { Type: 'vxlan' };
  if (!isObj(b)) {
    problems.push(`${field}.Backend: must be an object with a Type`);
    return undefined;
  }
  const type = b.Type ?? 'vxlan';
  if (type !== 'host-gw' && type !== 'vxlan')
    problems.push(`${field}.Backend.Type: "${String(type)}" is not supported: use host-gw or vxlan`);
  const vni = b.VNI ?? DEFAULT_VNI;
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 1 || vni > 16777215)
    problems.push(`${field}.Backend.VNI: must be an integer 1-16777215 (Windows nodes need 4096 or more)`);
  const port = b.Port ?? DEFAULT_VXLAN_PORT;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    problems.push(`${field}.Backend.Port: must be a UDP port 1-65535`);
  const directRouting = b.DirectRouting ?? false;
  if (typeof directRouting !== 'boolean') problems.push(`${field}.Backend.DirectRouting: must be true or false`);
  if (directRouting === true)
    problems.push(
      `${field}.Backend.DirectRouting: true is not supported (Windows nodes refuse it, and a Linux peer would send them unencapsulated traffic)`,
    );
  if (b.GBP === true) problems.push(`${field}.Backend.GBP: true is not supported (Windows nodes refuse it)`);
  if (b.Name !== undefined && (typeof b.Name !== 'string' || b.Name === ''))
    problems.push(`${field}.Backend.Name: must be a non-empty string (the HNS network name)`);
  if (typeof network === 'string' && !bad && typeof subnetLen === 'number' && subnetLen <= Number(network.split('/')[1])) {
    problems.push(`${field}.SubnetLen: ${subnetLen} must be longer than the Network prefix /${network.split('/')[1]}`);
  }
  return {
    network: String(network),
    subnetLen: Number(subnetLen),
    backend: {
      type: type as BackendType,
      vni: Number(vni),
      port: Number(port),
      directRouting: directRouting === true,
      ...(typeof b.Name === 'string' ? { name: b.Name } : {}),
    },
  } as ClusterNetConf;
}

function str(o: Obj, key: string, field: string, problems: string[]): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    problems.push(`${field}: must be a string`);
    return undefined;
  }
  return v;
}

function parsePeers(raw: unknown, problems: string[]): NodeLease[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push('peers: must be a list of {node, subnet, publicIP, backendType, vni, vtepMAC}');
    return [];
  }
  return raw.flatMap((p, i): NodeLease[] => {
    const f = `peers[${i}]`;
    if (!isObj(p)) {
      problems.push(`${f}: must be an object`);
      return [];
    }
    const before = problems.length;
    const node = str(p, 'node', `${f}.node`, problems);
    if (!node) problems.push(`${f}.node: is required (the peer's node name)`);
    const bad = checkCidr(p.subnet);
    if (bad) problems.push(`${f}.subnet: ${p.subnet === undefined ? "is required (the peer's pod CIDR)" : bad}`);
    const ip = str(p, 'publicIP', `${f}.publicIP`, problems);
    if (!ip || !parseIpv4(ip))
      problems.push(`${f}.publicIP: ${ip ? `"${ip}" is not an IPv4 address` : "is required (the peer's node address)"}`);
    const bt = p.backendType;
    if (bt !== undefined && bt !== 'host-gw' && bt !== 'vxlan') problems.push(`${f}.backendType: must be host-gw or vxlan`);
    if (p.vni !== undefined && (typeof p.vni !== 'number' || !Number.isInteger(p.vni))) problems.push(`${f}.vni: must be an integer`);
    const mac = str(p, 'vtepMAC', `${f}.vtepMAC`, problems);
    if (mac !== undefined && !isMac(mac)) problems.push(`${f}.vtepMAC: "${mac}" is not a MAC address`);
    if (problems.length > before) return [];
    return [
      {
        node: node!,
        subnet: String(p.subnet),
        publicIp: ip!,
        backendType: (bt as BackendType | undefined) ?? ('' as BackendType),
        ...(p.vni !== undefined ? { vni: Number(p.vni) } : {}),
        ...(mac ? { vtepMac: toKernelMac(mac) } : {}),
      },
    ];
  });
}

function parseAddress(text: string, field: string, problems: string[]): void {
  if (text === '') return;
  const m = /^(.*):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535 || (m[1] !== '' && !parseIpv4(m[1]) && m[1] !== 'localhost' && m[1] !== '[::1]' && m[1] !== '[::]')) {
    problems.push(`${field}: "${text}" is not HOST:PORT (e.g. 127.0.0.1:9915; empty disables)`);
  }
}

export interface ConfigInputs {
  /** Parsed config file (object), when --config was given. */
  file?: unknown;
  /** Name of the file, for messages. */
  fileName?: string;
  flags: AgentFlags;
  /** Parsed --net-conf file, when given. */
  netConfFile?: unknown;
  hostname: string;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
}

export function buildAgentConfig(inp: ConfigInputs): AgentConfig {
  const problems: string[] = [];
  const fileObj: Obj =
    inp.file === undefined
      ? {}
      : isObj(inp.file)
        ? inp.file
        : (problems.push(`${inp.fileName ?? 'config'}: must be a mapping of settings`), {});
  for (const k of Object.keys(fileObj)) if (!KEYS.has(k)) problems.push(`${k}: unknown setting (known: ${[...KEYS].join(', ')})`);
  const f = inp.flags;
  const pick = (flag: string | undefined, key: string): string | undefined => flag ?? str(fileObj, key, key, problems);

  const node = pick(f.node, 'node') ?? inp.env.NODE_NAME ?? inp.hostname;
  const subnetSource = pick(f.subnetSource, 'subnetSource') ?? 'static';
  if (!['static', 'kubernetes', 'etcd'].includes(subnetSource))
    problems.push(
      `${f.subnetSource !== undefined ? '--subnet-source' : 'subnetSource'}: "${subnetSource}" is not a subnet source: use static, kubernetes or etcd`,
    );
  const podCidr = pick(f.podCidr, 'podCIDR');
  const podField = f.podCidr !== undefined ? '--pod-cidr' : 'podCIDR';
  if (podCidr !== undefined && checkCidr(podCidr)) problems.push(`${podField}: ${checkCidr(podCidr)}`);
  if (subnetSource === 'static' && podCidr === undefined)
    problems.push('--pod-cidr: is required with the static subnet source (or podCIDR in the config file)');

  let netRaw: unknown = fileObj.netConf;
  let netField = 'netConf';
  if (inp.netConfFile !== undefined) {
    netRaw = inp.netConfFile;
    netField = '--net-conf';
  }
  const netConf =
    netRaw === undefined
      ? (problems.push(
          '--net-conf: is required (flannel\'s net-conf.json: {"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}), or netConf in the config file',
        ),
        undefined)
      : parseNetConf(netRaw, netField, problems);
  if (netConf && podCidr && !checkCidr(podCidr) && !checkCidr(netConf.network) && !cidrInside(podCidr, netConf.network)) {
    problems.push(`${podField}: ${podCidr} is not inside the cluster Network ${netConf.network}`);
  }

  const etcdObj =
    fileObj.etcd === undefined
      ? {}
      : isObj(fileObj.etcd)
        ? fileObj.etcd
        : (problems.push('etcd: must be {endpoints: [...], prefix: ...}'), {});
  let etcdEndpoints: string[] = [];
  if (f.etcdEndpoints !== undefined)
    etcdEndpoints = f.etcdEndpoints
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  else if (etcdObj.endpoints !== undefined) {
    if (!Array.isArray(etcdObj.endpoints) || etcdObj.endpoints.some((e) => typeof e !== 'string'))
      problems.push('etcd.endpoints: must be a list of URLs');
    else etcdEndpoints = etcdObj.endpoints as string[];
  }
  for (const [i, e] of etcdEndpoints.entries())
    if (!/^https?:\/\/[^/]+/.test(e))
      problems.push(`${f.etcdEndpoints !== undefined ? '--etcd-endpoints' : `etcd.endpoints[${i}]`}: "${e}" is not an http(s) URL`);
  if (subnetSource === 'etcd' && etcdEndpoints.length === 0) problems.push('--etcd-endpoints: is required with the etcd subnet source');
  const etcdPrefix = f.etcdPrefix ?? str(etcdObj, 'prefix', 'etcd.prefix', problems) ?? DEFAULT_ETCD_PREFIX;
  if (!etcdPrefix.startsWith('/')) problems.push(`${f.etcdPrefix !== undefined ? '--etcd-prefix' : 'etcd.prefix'}: must start with /`);

  const publicIp = pick(f.publicIp, 'publicIP');
  if (publicIp !== undefined && !parseIpv4(publicIp))
    problems.push(`${f.publicIp !== undefined ? '--public-ip' : 'publicIP'}: "${publicIp}" is not an IPv4 address`);
  const iface = pick(f.iface, 'iface');

  const cniObj = fileObj.cni === undefined ? {} : isObj(fileObj.cni) ? fileObj.cni : (problems.push('cni: must be a mapping'), {});
  for (const k of Object.keys(cniObj))
    if (!CNI_KEYS.has(k)) problems.push(`cni.${k}: unknown setting (known: ${[...CNI_KEYS].join(', ')})`);
  const backend = netConf?.backend.type ?? 'vxlan';
  const cniType = str(cniObj, 'type', 'cni.type', problems) ?? (backend === 'host-gw' ? 'win-bridge' : 'win-overlay');
  if (!['win-bridge', 'win-overlay', 'switchyard'].includes(cniType))
    problems.push(`cni.type: "${cniType}" is not a Switchyard plugin: use win-bridge, win-overlay or switchyard`);
  if ((cniType === 'win-bridge' && backend !== 'host-gw') || (cniType === 'win-overlay' && backend !== 'vxlan')) {
    problems.push(
      `cni.type: ${cniType} does not match Backend.Type ${backend} (win-bridge goes with host-gw, win-overlay with vxlan; switchyard with either)`,
    );
  }
  const ipamType = str(cniObj, 'ipam', 'cni.ipam', problems) ?? 'switchyard-ipam';
  if (ipamType !== 'host-local' && ipamType !== 'switchyard-ipam')
    problems.push(
      `cni.ipam: "${ipamType}" is not supported: use host-local or switchyard-ipam (both share the host-local store the agent reserves in)`,
    );
  const serviceCidr = str(cniObj, 'serviceCIDR', 'cni.serviceCIDR', problems);
  if (serviceCidr !== undefined && checkCidr(serviceCidr)) problems.push(`cni.serviceCIDR: ${checkCidr(serviceCidr)}`);
  const win = inp.platform === 'win32';
  const cni: CniSettings = {
    confDir: f.cniConfDir ?? str(cniObj, 'confDir', 'cni.confDir', problems) ?? (win ? 'C:\\etc\\cni\\net.d' : '/etc/cni/net.d'),
    binDir: f.cniBinDir ?? str(cniObj, 'binDir', 'cni.binDir', problems) ?? (win ? 'C:\\opt\\cni\\bin' : '/opt/cni/bin'),
    confName: str(cniObj, 'confName', 'cni.confName', problems) ?? '10-switchyard.conflist',
    type: cniType as CniPluginType,
    cniVersion: str(cniObj, 'cniVersion', 'cni.cniVersion', problems) ?? '1.1.0',
    ipamType: ipamType as CniSettings['ipamType'],
    ipamDataDir: str(cniObj, 'ipamDataDir', 'cni.ipamDataDir', problems) ?? (win ? 'C:\\var\\lib\\cni\\networks' : '/var/lib/cni/networks'),
    ...(serviceCidr ? { serviceCidr } : {}),
    ...(typeof cniObj.sourceBinDir === 'string' ? { sourceBinDir: cniObj.sourceBinDir } : {}),
  };
  if (/[\\/]/.test(cni.confName) || !/\.(conflist|conf|json)$/.test(cni.confName))
    problems.push(`cni.confName: "${cni.confName}" must be a file name ending in .conflist`);

  const metricsAddress = pick(f.metricsAddress, 'metricsAddress') ?? DEFAULT_METRICS_ADDRESS;
  parseAddress(metricsAddress, f.metricsAddress !== undefined ? '--metrics-address' : 'metricsAddress', problems);
  const resync = fileObj.resyncSeconds ?? 10;
  if (typeof resync !== 'number' || !(resync > 0)) problems.push('resyncSeconds: must be a positive number of seconds');
  const peers = parsePeers(fileObj.peers, problems).map((p) => ({
    ...p,
    backendType: p.backendType || backend,
    ...(p.vni === undefined && (p.backendType || backend) === 'vxlan' ? { vni: netConf?.backend.vni ?? DEFAULT_VNI } : {}),
  }));
  if (peers.length > 0 && subnetSource !== 'static')
    problems.push(`peers: only the static subnet source reads peers from the file (this one is ${subnetSource})`);
  for (const [i, p] of peers.entries()) {
    if (netConf && !checkCidr(netConf.network) && !cidrInside(p.subnet, netConf.network))
      problems.push(`peers[${i}].subnet: ${p.subnet} is not inside the cluster Network ${netConf.network}`);
  }
  const dataplane = pick(f.dataplane, 'dataplane');
  const state = pick(f.state, 'state');
  const logFile = pick(f.logFile, 'logFile');
  const socket = pick(f.socket, 'socket') ?? defaultSocket(inp.platform, inp.env);
  const subnetEnv = pick(f.subnetEnv, 'subnetEnv') ?? defaultSubnetEnvPath(inp.platform);
  const kubeconfig = pick(f.kubeconfig, 'kubeconfig');
  const proxy = parseProxySettings(fileObj.proxy, f.proxy, { subnetSource, ...(kubeconfig !== undefined ? { kubeconfig } : {}) }, problems);
  if (problems.length > 0 || !netConf) throw new AgentConfigError(problems);
  return {
    node,
    subnetSource: subnetSource as SubnetSourceKind,
    etcdEndpoints,
    etcdPrefix,
    netConf,
    cni,
    socket,
    subnetEnv,
    metricsAddress,
    resyncSeconds: Number(resync),
    peers,
    proxy,
    ...(dataplane !== undefined ? { dataplane } : {}),
    ...(state !== undefined ? { state } : {}),
    ...(podCidr !== undefined ? { podCidr } : {}),
    ...(publicIp !== undefined ? { publicIp } : {}),
    ...(iface !== undefined ? { iface } : {}),
    ...(logFile !== undefined ? { logFile } : {}),
    ...(pick(f.kubeconfig, 'kubeconfig') !== undefined ? { kubeconfig: pick(f.kubeconfig, 'kubeconfig') } : {}),
  };
}

function cidrInside(inner: string, outer: string): boolean {
  const i = parseCidr(inner);
  const o = parseCidr(outer);
  return !!i && !!o && i.prefix >= o.prefix && contains(o, i.ip);
}
