/**
 * The Hyper-V form of a lab spec: the same nodes, underlay addresses and pod subnets as the netns lab
 * (planLab), plus the `hyperv` section of the spec, become the desired Hyper-V state that
 * ps-modules/Switchyard.Lab's Invoke-SwitchyardLabPlan reconciles the host to: switches (External, Internal,
 * Private, NAT), generation 2 VMs on differencing disks with static memory, nested virtualization on Windows
 * workers, MAC address spoofing on the pod-network adapters and a static MAC and IP per pod-network adapter.
 * Pure: no I/O.
 */
import { LabSpecError, planLab, type LabSpec } from './spec';

export type HyperVSwitchType = 'External' | 'Internal' | 'Private' | 'NAT';
export type LabNodeOs = 'linux' | 'windows';
export type LabNodeRole = 'control-plane' | 'worker';

/** The optional `hyperv:` section of a lab spec (ignored by the netns lab). */
export interface HyperVLabSpec {
  /** Folder for the VMs' configuration and differencing disks. */
  vmPath: string;
  /** Extra switches besides the pod network (which is always there: a NAT switch on the underlay). */
  switches?: { name: string; type: HyperVSwitchType; netAdapterName?: string }[];
  /** What backs the pod network: NAT (default: Internal + host address + WinNAT), Internal, or External. */
  podSwitchType?: 'NAT' | 'Internal' | 'External';
  /** For an External pod switch: the host adapter it binds to. */
  podNetAdapterName?: string;
  /** One entry per node, in node order (the spec's `nodes` count must match). */
  nodes: HyperVNodeSpec[];
  /** DNS servers written into the plan for the guests (default: the host address). */
  dns?: string[];
}

export interface HyperVNodeSpec {
  os: LabNodeOs;
  role: LabNodeRole;
  /** Sysprepped / generalized base disk the node's differencing disk sits on. */
  baseVhdx: string;
  memoryMB?: number;
  cpus?: number;
  /** Expose virtualization extensions (default: true on Windows workers, for Hyper-V isolated containers). */
  nested?: boolean;
  /** Extra switches (names from hyperv.switches) to give this node an adapter on. */
  switches?: string[];
}

export interface HyperVAdapterPlan {
  Name: string;
  SwitchName: string;
  MacAddressSpoofing: boolean;
  /** Static MAC (Hyper-V form, 12 hex digits), so the guest's address survives re-creating the adapter. */
  StaticMacAddress?: string;
  IPAddress?: string;
  PrefixLength?: number;
  Gateway?: string;
  DnsServers?: string[];
}

export interface HyperVSwitchPlan {
  Name: string;
  Type: HyperVSwitchType;
  NetAdapterName?: string;
  HostAddress?: string;
  PrefixLength?: number;
  NatPrefix?: string;
}

export interface HyperVVmPlan {
  Name: string;
  Os: LabNodeOs;
  Role: LabNodeRole;
  Generation: 2;
  MemoryStartupBytes: number;
  ProcessorCount: number;
  NestedVirtualization: boolean;
  ParentVhdPath: string;
  VhdPath: string;
  /** Generation 2 Linux guests boot with the third-party UEFI CA template; Windows with the default one. */
  SecureBootTemplate: 'MicrosoftWindows' | 'MicrosoftUEFICertificateAuthority';
  Adapters: HyperVAdapterPlan[];
}

/** What Invoke-SwitchyardLabPlan receives (JSON, PascalCase as PowerShell reads it). */
export interface HyperVPlan {
  Prefix: string;
  VmPath: string;
  Switches: HyperVSwitchPlan[];
  Vms: HyperVVmPlan[];
}

const SWITCH_TYPES: readonly HyperVSwitchType[] = ['External', 'Internal', 'Private', 'NAT'];
const NAME = /^[a-z0-9][a-z0-9-]{0,20}$/;

function windowsPath(p: string, field: string): string {
  if (typeof p !== 'string' || !/^([A-Za-z]:\\|\\\\)[^\0"<>|?*]*$/.test(p))
    throw new LabSpecError(`${field}: "${String(p)}" must be an absolute Windows path (C:\\... or \\\\server\\share\\...)`);
  return p.replace(/\\+$/, '');
}

function intIn(v: unknown, lo: number, hi: number, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new LabSpecError(`${field}: ${String(v)} must be an integer ${lo}-${hi}`);
  return v;
}

/** 00-15-5D is Hyper-V's own OUI; the rest is fixed per lab, node and adapter, so a re-created adapter keeps its MAC. */
function staticMac(prefix: string, node: number, adapter: number): string {
  let h = 0;
  for (const c of prefix) h = (h * 31 + c.charCodeAt(0)) & 0xff;
  return `00155D${h.toString(16).padStart(2, '0')}${node.toString(16).padStart(2, '0')}${adapter.toString(16).padStart(2, '0')}`.toUpperCase();
}

export function planHyperV(spec: LabSpec): HyperVPlan {
  const lab = planLab(spec);
  const hv = spec.hyperv;
  if (!hv) throw new LabSpecError('hyperv: the spec has no hyperv section (vmPath, nodes[]) for the Hyper-V driver');
  const vmPath = windowsPath(hv.vmPath, 'hyperv.vmPath');
  if (!Array.isArray(hv.nodes) || hv.nodes.length !== lab.nodes.length) {
    throw new LabSpecError(
      `hyperv.nodes: ${Array.isArray(hv.nodes) ? hv.nodes.length : 'no'} entries for ${lab.nodes.length} nodes; give one per node`,
    );
  }
  const [a, b, c] = lab.spec.underlay.split(/[./]/).map(Number);
  const hostAddress = `${a}.${b}.${c}.1`;
  const podSwitchType = hv.podSwitchType ?? 'NAT';
  if (!['NAT', 'Internal', 'External'].includes(podSwitchType))
    throw new LabSpecError(`hyperv.podSwitchType: "${podSwitchType}" must be NAT, Internal or External`);
  const podSwitch: HyperVSwitchPlan = { Name: `${lab.spec.prefix}-pods`, Type: podSwitchType };
  if (podSwitchType === 'External') {
    if (!hv.podNetAdapterName) throw new LabSpecError('hyperv.podNetAdapterName: an External pod switch needs the host adapter to bind to');
    podSwitch.NetAdapterName = hv.podNetAdapterName;
  } else {
    podSwitch.HostAddress = hostAddress;
    podSwitch.PrefixLength = 24;
    if (podSwitchType === 'NAT') podSwitch.NatPrefix = `${a}.${b}.${c}.0/24`;
  }
  const switches: HyperVSwitchPlan[] = [podSwitch];
  for (const [i, s] of (hv.switches ?? []).entries()) {
    const field = `hyperv.switches[${i}]`;
    if (typeof s?.name !== 'string' || !NAME.test(s.name))
      throw new LabSpecError(`${field}.name: "${String(s?.name)}" must be 1-21 lowercase letters, digits or dashes`);
    if (!SWITCH_TYPES.includes(s.type))
      throw new LabSpecError(`${field}.type: "${String(s.type)}" must be one of ${SWITCH_TYPES.join(', ')}`);
    if (s.name === 'pods') throw new LabSpecError(`${field}.name: "pods" is the pod network's switch`);
    const sw: HyperVSwitchPlan = { Name: `${lab.spec.prefix}-${s.name}`, Type: s.type };
    if (s.type === 'External') {
      if (!s.netAdapterName) throw new LabSpecError(`${field}.netAdapterName: an External switch needs the host adapter to bind to`);
      sw.NetAdapterName = s.netAdapterName;
    }
    if (s.type === 'NAT' || s.type === 'Internal')
      throw new LabSpecError(`${field}.type: only the pod network gets a host address and NAT; extra switches are External or Private`);
    if (switches.some((x) => x.Name === sw.Name)) throw new LabSpecError(`${field}.name: "${s.name}" appears twice`);
    switches.push(sw);
  }
  const dns = hv.dns ?? [hostAddress];
  const vms = lab.nodes.map((node, i): HyperVVmPlan => {
    const n = hv.nodes[i];
    const field = `hyperv.nodes[${i}]`;
    if (n?.os !== 'linux' && n?.os !== 'windows') throw new LabSpecError(`${field}.os: "${String(n?.os)}" must be linux or windows`);
    if (n.role !== 'control-plane' && n.role !== 'worker')
      throw new LabSpecError(`${field}.role: "${String(n.role)}" must be control-plane or worker`);
    if (n.os === 'windows' && n.role === 'control-plane')
      throw new LabSpecError(`${field}.role: Kubernetes control planes run on Linux; a Windows node is a worker`);
    const memoryMB = intIn(n.memoryMB ?? (n.os === 'windows' ? 4096 : 2048), 512, 1048576, `${field}.memoryMB`);
    const cpus = intIn(n.cpus ?? 2, 1, 64, `${field}.cpus`);
    const nested = n.nested ?? (n.os === 'windows' && n.role === 'worker');
    if (typeof nested !== 'boolean') throw new LabSpecError(`${field}.nested: must be true or false`);
    const adapters: HyperVAdapterPlan[] = [
      {
        Name: 'pods',
        SwitchName: podSwitch.Name,
        // Pods' MACs appear on the VM's port (L2Bridge containers, nested guests): Hyper-V drops them without this.
        MacAddressSpoofing: true,
        StaticMacAddress: staticMac(lab.spec.prefix, i, 0),
        IPAddress: node.underlayIp,
        PrefixLength: 24,
        ...(podSwitchType === 'External' ? {} : { Gateway: hostAddress }),
        DnsServers: dns,
      },
    ];
    for (const [j, name] of (n.switches ?? []).entries()) {
      const sw = switches.find((s) => s.Name === `${lab.spec.prefix}-${name}`);
      if (!sw || sw === podSwitch) throw new LabSpecError(`${field}.switches[${j}]: "${name}" is not one of hyperv.switches`);
      adapters.push({ Name: name, SwitchName: sw.Name, MacAddressSpoofing: false });
    }
    return {
      Name: node.name,
      Os: n.os,
      Role: n.role,
      Generation: 2,
      MemoryStartupBytes: memoryMB * 1024 * 1024,
      ProcessorCount: cpus,
      NestedVirtualization: nested,
      ParentVhdPath: windowsPath(n.baseVhdx, `${field}.baseVhdx`),
      VhdPath: `${vmPath}\\${node.name}\\${node.name}.vhdx`,
      SecureBootTemplate: n.os === 'linux' ? 'MicrosoftUEFICertificateAuthority' : 'MicrosoftWindows',
      Adapters: adapters,
    };
  });
  return { Prefix: lab.spec.prefix, VmPath: vmPath, Switches: switches, Vms: vms };
}

/** A lab spec from YAML or JSON text (the file `switchyard lab plan|apply -f` reads). */
export function parseLabSpec(text: string, file = 'spec'): LabSpec {
  // yaml is a dependency already; required lazily so the pure planner stays import-light.
  const YAML = require('yaml') as typeof import('yaml');
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new LabSpecError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new LabSpecError(`${file}: must be a mapping with prefix, nodes, podsPerNode, type`);
  return doc as LabSpec;
}
