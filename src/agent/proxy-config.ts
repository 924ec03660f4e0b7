/**
 * The agent's `proxy` settings (`switchyard agent --proxy`, or `proxy: {enabled: true, ...}` in the config
 * file): the service proxy that replaces kube-proxy on the node. Pure; each problem names its field.
 */
export interface ProxySettings {
  enabled: boolean;
  /** Full resync period (drift repair), seconds; default 60. */
  resyncSeconds: number;
  /** Events within this window are synced together, ms; default 100. */
  coalesceMs: number;
  /** The ownership record (IDs of the load balancers the proxy created); default beside the data plane state. */
  ownershipFile?: string;
  /** Overlay: the host interface MAC for the per-service VIP endpoints (kube-proxy's hostMac). */
  hostMac?: string;
  /** kube-proxy's enableDSR: DSR on ClusterIP load balancers too, where the data plane has DSR. */
  enableDSR: boolean;
  /** Take over kube-proxy's load balancers equal to a desired one instead of refusing to start. */
  adoptForeign: boolean;
  /** Where health check node ports listen (IPv4 addresses); default the node IP (kube-proxy: the node port addresses). */
  healthCheckAddresses?: string[];
}

export const PROXY_KEYS = [
  'enabled',
  'resyncSeconds',
  'coalesceMs',
  'ownershipFile',
  'hostMac',
  'enableDSR',
  'adoptForeign',
  'healthCheckAddresses',
];
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/**
 * `raw`: the file's `proxy` value; `flag`: --proxy. `kubeconfig`/`subnetSource`: the proxy reads Services and
 * EndpointSlices through the agent's kubeconfig, so another source than kubernetes needs --kubeconfig.
 */
export function parseProxySettings(
  raw: unknown,
  flag: boolean | undefined,
  ctx: { subnetSource: string; kubeconfig?: string },
  problems: string[],
): ProxySettings {
  const o: Record<string, unknown> =
    raw === undefined || raw === null
      ? {}
      : typeof raw === 'object' && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : (problems.push('proxy: must be a mapping like {enabled: true}'), {});
  for (const k of Object.keys(o))
    if (!PROXY_KEYS.includes(k)) problems.push(`proxy.${k}: unknown setting (known: ${PROXY_KEYS.join(', ')})`);
  const bool = (k: string, dflt: boolean): boolean => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') problems.push(`proxy.${k}: must be true or false`);
    return v === true;
  };
  const num = (k: string, dflt: number, min: number): number => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !(v >= min)) problems.push(`proxy.${k}: must be a number ≥ ${min}`);
    return Number(v);
  };
  const enabled = flag ?? bool('enabled', false);
  if (flag !== undefined) bool('enabled', false);
  const out: ProxySettings = {
    enabled,
    resyncSeconds: num('resyncSeconds', 60, 0),
    coalesceMs: num('coalesceMs', 100, 0),
    enableDSR: bool('enableDSR', false),
    adoptForeign: bool('adoptForeign', false),
  };
  if (o.ownershipFile !== undefined) {
    if (typeof o.ownershipFile !== 'string' || o.ownershipFile === '') problems.push('proxy.ownershipFile: must be a file path');
    else out.ownershipFile = o.ownershipFile;
  }
  if (o.hostMac !== undefined) {
    if (typeof o.hostMac !== 'string' || !MAC.test(o.hostMac)) problems.push(`proxy.hostMac: "${String(o.hostMac)}" is not a MAC address`);
    else out.hostMac = o.hostMac;
  }
  if (o.healthCheckAddresses !== undefined) {
    const v = o.healthCheckAddresses;
    if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string' && IPV4.test(a)))
      problems.push('proxy.healthCheckAddresses: must be a non-empty list of IPv4 addresses');
    else out.healthCheckAddresses = [...(v as string[])];
  }
  if (enabled && ctx.subnetSource !== 'kubernetes' && !ctx.kubeconfig)
    problems.push(
      `--kubeconfig: is required with --proxy when the subnet source is ${ctx.subnetSource} (the proxy watches Services and EndpointSlices), or kubeconfig in the config file`,
    );
  return out;
}
