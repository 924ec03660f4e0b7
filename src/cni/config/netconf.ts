/**
 * Network configurations of win-bridge, win-overlay and switchyard, decoded the way the reference's Go
 * structs are (pkg/hns/netconf_windows.go + cni types.NetConf): case-insensitive keys, unknown keys
 * ignored, wrong types rejected with Go's message prefixed by `failed to load netconf: `.
 */
import { goDecode, S, type Shape } from '../protocol/godecode';
import { toPlain, type JNode } from '../protocol/gojson';
import { CniError, ErrCode } from '../protocol/errors';
import { refuseIssues, switchyardIssues, winBridgeIssues, winOverlayIssues } from './validate';

export interface Policy {
  name: string;
  /** The policy value as plain JSON (v1: sent verbatim; v2: decoded as {Type, Settings}). */
  value: unknown;
}

export interface PortMapEntry {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface DnsConf {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface GcAttachment {
  containerID: string;
  ifname: string;
}

export interface BaseNetConf {
  cniVersion: string;
  name: string;
  type: string;
  ipam: { type: string };
  dns: DnsConf;
  prevResult?: unknown;
  validAttachments?: GcAttachment[];
  apiVersion: number;
  policies: Policy[];
  runtimeConfig: { dns: { servers?: string[]; searches?: string[] }; portMappings: PortMapEntry[] };
  loopbackDSR: boolean;
}

export interface WinBridgeConf extends BaseNetConf {
  ipMasqNetwork: string;
}

export interface WinOverlayConf extends BaseNetConf {
  ipMasq: boolean;
  endpointMacPrefix: string;
}

export type SwitchyardMode = 'l2bridge' | 'overlay' | 'transparent';

/** The switchyard type: the same engine, explicit mode, documented in docs/cni.md. */
export interface SwitchyardConf extends BaseNetConf {
  mode: SwitchyardMode;
  /** HNS/Linux network name when it differs from the CNI network name. */
  network: string;
  /** OutBoundNAT exceptions (win-bridge's ipMasqNetwork, generalised to a list). */
  outboundNatExceptions: string[];
  /** Add the network's own subnet as an OutBoundNAT exception (win-overlay's ipMasq). */
  ipMasq: boolean;
  /** Gateway rule: 'network' (the network's subnet gateway) or 'plus2' (win-bridge's network + 2). */
  gateway: 'network' | 'plus2';
  endpointMacPrefix: string;
  mtu: number;
}

const IPAM = S.struct('IPAM', 'types.IPAM', { type: S.string });
const DNS = S.struct('DNS', 'types.DNS', {
  nameservers: S.array(S.string, '[]string'),
  domain: S.string,
  search: S.array(S.string, '[]string'),
  options: S.array(S.string, '[]string'),
});
const POLICY = S.struct('Policy', 'hns.Policy', { name: S.string, value: S.raw });
const PORTMAP = S.struct('PortMapEntry', 'hns.PortMapEntry', {
  hostPort: S.int,
  containerPort: S.int,
  protocol: S.string,
  hostIP: S.string,
});
const RUNTIME = S.struct('RuntimeConfig', 'hns.RuntimeConfig', {
  dns: S.struct('RuntimeDNS', 'hns.RuntimeDNS', { servers: S.array(S.string, '[]string'), searches: S.array(S.string, '[]string') }),
  portMappings: S.array(PORTMAP, '[]hns.PortMapEntry'),
});
const GC_ATTACHMENT = S.struct('GCAttachment', 'types.GCAttachment', { containerID: S.string, ifname: S.string });

const BASE_FIELDS: Record<string, Shape> = {
  cniVersion: S.string,
  name: S.string,
  type: S.string,
  capabilities: S.map(S.bool, 'map[string]bool'),
  ipam: IPAM,
  dns: DNS,
  prevResult: { k: 'any-object', goType: 'map[string]interface {}' },
  'cni.dev/valid-attachments': S.array(GC_ATTACHMENT, '[]types.GCAttachment'),
  apiVersion: S.int,
  policies: S.array(POLICY, '[]hns.Policy'),
  runtimeConfig: RUNTIME,
  loopbackDSR: S.bool,
};

export class NetConfError extends Error {}

interface Raw {
  cniVersion?: string;
  name?: string;
  type?: string;
  ipam?: { type?: string };
  dns?: DnsConf;
  prevResult?: JNode;
  'cni.dev/valid-attachments'?: Partial<GcAttachment>[];
  apiVersion?: number;
  policies?: { name?: string; value?: JNode }[];
  runtimeConfig?: { dns?: { servers?: string[]; searches?: string[] }; portMappings?: Partial<PortMapEntry>[] };
  loopbackDSR?: boolean;
  [k: string]: unknown;
}

function decode(node: JNode, extra: Record<string, Shape>): Raw {
  try {
    return goDecode<Raw>(node, S.struct('NetConf', 'main.NetConf', { ...BASE_FIELDS, ...extra }));
  } catch (e) {
    throw new NetConfError(`failed to load netconf: ${(e as Error).message}`);
  }
}

function base(raw: Raw): BaseNetConf {
  return {
    cniVersion: raw.cniVersion ?? '',
    name: raw.name ?? '',
    type: raw.type ?? '',
    ipam: { type: raw.ipam?.type ?? '' },
    dns: { ...(raw.dns ?? {}) },
    prevResult: raw.prevResult ? toPlain(raw.prevResult) : undefined,
    validAttachments: raw['cni.dev/valid-attachments']?.map((a) => ({ containerID: a?.containerID ?? '', ifname: a?.ifname ?? '' })),
    apiVersion: raw.apiVersion ?? 0,
    policies: (raw.policies ?? []).map((p) => ({ name: p?.name ?? '', value: p?.value ? toPlain(p.value) : null })),
    runtimeConfig: {
      dns: { servers: raw.runtimeConfig?.dns?.servers, searches: raw.runtimeConfig?.dns?.searches },
      portMappings: (raw.runtimeConfig?.portMappings ?? []).map((m) => ({
        hostPort: m?.hostPort ?? 0,
        containerPort: m?.containerPort ?? 0,
        protocol: m?.protocol ?? '',
        ...(m?.hostIP ? { hostIP: m.hostIP } : {}),
      })),
    },
    loopbackDSR: raw.loopbackDSR ?? false,
  };
}

/**
 * Whether a command validates every field (validate.ts) before acting: DEL and GC only read the name and
 * the IPAM section, and must keep working for a pod whose config would now be refused (a DEL that fails
 * is retried forever and leaks the pod).
 */
const validates = (command: string | undefined) => command !== undefined && command !== 'DEL' && command !== 'GC';

export function loadWinBridgeConf(node: JNode, command?: string): WinBridgeConf {
  const raw = decode(node, { ipMasqNetwork: S.string });
  const conf = { ...base(raw), ipMasqNetwork: (raw.ipMasqNetwork as string | undefined) ?? '' };
  if (validates(command)) refuseIssues(conf.name, winBridgeIssues(conf));
  return conf;
}

export function loadWinOverlayConf(node: JNode, command?: string): WinOverlayConf {
  const raw = decode(node, { ipMasq: S.bool, endpointMacPrefix: S.string });
  const conf = {
    ...base(raw),
    ipMasq: (raw.ipMasq as boolean | undefined) ?? false,
    endpointMacPrefix: (raw.endpointMacPrefix as string | undefined) ?? '',
  };
  if (validates(command)) refuseIssues(conf.name, winOverlayIssues(conf));
  return conf;
}

const MODES: SwitchyardMode[] = ['l2bridge', 'overlay', 'transparent'];

export function loadSwitchyardConf(node: JNode, command?: string): SwitchyardConf {
  const raw = decode(node, {
    mode: S.string,
    network: S.string,
    outboundNatExceptions: S.array(S.string, '[]string'),
    ipMasq: S.bool,
    gateway: S.string,
    endpointMacPrefix: S.string,
    mtu: S.int,
  });
  const b = base(raw);
  const mode = ((raw.mode as string | undefined) ?? '').toLowerCase();
  if (!MODES.includes(mode as SwitchyardMode)) {
    // The value is not echoed: the error JSON is logged (docs/reliability.md).
    throw new CniError(ErrCode.InvalidNetworkConfig, `invalid "mode" in network ${b.name}: use one of ${MODES.join(', ')}`);
  }
  const gateway = (raw.gateway as string | undefined) ?? 'network';
  if (gateway !== 'network' && gateway !== 'plus2') {
    throw new CniError(ErrCode.InvalidNetworkConfig, `invalid "gateway" in network ${b.name}: use "network" or "plus2"`);
  }
  const mtu = (raw.mtu as number | undefined) ?? 0;
  if (mtu !== 0 && (mtu < 576 || mtu > 65535))
    throw new CniError(ErrCode.InvalidNetworkConfig, `invalid "mtu" ${mtu} in network ${b.name}: use 576..65535 or omit it`);
  const conf: SwitchyardConf = {
    ...b,
    mode: mode as SwitchyardMode,
    network: (raw.network as string | undefined) || b.name,
    outboundNatExceptions: ((raw.outboundNatExceptions as string[] | undefined) ?? []).filter((x) => typeof x === 'string' && x !== ''),
    ipMasq: (raw.ipMasq as boolean | undefined) ?? false,
    gateway,
    endpointMacPrefix: (raw.endpointMacPrefix as string | undefined) ?? '',
    mtu,
  };
  if (validates(command)) refuseIssues(conf.name, switchyardIssues(conf));
  return conf;
}

/** NetConf.GetDNS: static dns with runtimeConfig.dns servers/searches replacing nameservers/search. */
export function effectiveDns(n: BaseNetConf): DnsConf {
  const d: DnsConf = { ...n.dns };
  if (n.runtimeConfig.dns.servers && n.runtimeConfig.dns.servers.length > 0) d.nameservers = n.runtimeConfig.dns.servers;
  if (n.runtimeConfig.dns.searches && n.runtimeConfig.dns.searches.length > 0) d.search = n.runtimeConfig.dns.searches;
  return d;
}
