/**
 * What a diagnostics bundle holds, one collector per step. Collectors only read; an OS command runs through
 * execFile with fixed arguments (nothing user-supplied reaches a shell), PowerShell through a runner that
 * takes fixed script text. A step that fails leaves its error in the bundle and the others go on.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostNetworkService } from '../../dataplane/types';
import { stringifyHnsJson } from '../../hns/json';
import { requestAgent } from '../agent-client';
import type { Entry } from './archive';

export interface ShellRunner {
  /** Runs a fixed PowerShell script and returns its output text. */
  invoke(script: string): Promise<string>;
}

export interface DiagnoseContext {
  svc: HostNetworkService;
  platform: NodeJS.Platform;
  switchyardVersion: string;
  agentSocket: string;
  /** The agent's /metrics URL (from its metricsAddress). */
  metricsUrl: string;
  /** Log files (the agent's, the CNI's); each contributes its last maxLogBytes. */
  logFiles: string[];
  maxLogBytes: number;
  cniConfDir: string;
  subnetEnv: string;
  /** Configuration files worth seeing redacted: the agent's config, the kubeconfig, net-conf.json. */
  configFiles: string[];
  /** Runs OS commands (iproute2, nft); tests give a fake. */
  exec?: (file: string, args: string[]) => Promise<string>;
  /** The PowerShell route on Windows (tests: a fake shell). */
  shell?: ShellRunner;
  /** The node network namespace the linux data plane works in (SWITCHYARD_LINUX_NETNS): commands run inside it. */
  netns?: string;
}

/** Runs an OS command in the node's network namespace when there is one (nsenter, fixed arguments). */
function runner(ctx: DiagnoseContext): (file: string, args: string[]) => Promise<string> {
  const run = ctx.exec ?? execText;
  return ctx.netns ? (file, args) => run('nsenter', [`--net=${ctx.netns}`, file, ...args]) : run;
}

export interface Collector {
  name: string;
  /** When false the step is skipped (not on this platform). */
  applies(ctx: DiagnoseContext): boolean;
  collect(ctx: DiagnoseContext): Promise<Entry[]>;
}

export function execText(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} ${args.join(' ')}: ${String(stderr).trim() || err.message}`)) : resolve(String(stdout)),
    ),
  );
}

const json = (v: unknown) => stringifyHnsJson(v, 2) + '\n';

/** Last `max` bytes of a file (a log), with a note when cut. */
export function tail(file: string, max: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return size > max ? Buffer.concat([Buffer.from(`[first ${size - max} bytes cut: last ${max} of ${size} kept]\n`), buf]) : buf;
  } finally {
    fs.closeSync(fd);
  }
}

const safeName = (p: string) =>
  p
    .replace(/^[A-Za-z]:/, '')
    .replace(/[\\/]+/g, '_')
    .replace(/^_+/, '');

export const COLLECTORS: Collector[] = [
  {
    name: 'versions',
    applies: () => true,
    async collect(ctx) {
      const v = await ctx.svc.version();
      const info = {
        switchyard: ctx.switchyardVersion,
        node: process.version,
        os: {
          platform: ctx.platform,
          release: os.release(),
          version: typeof os.version === 'function' ? os.version() : undefined,
          arch: os.arch(),
        },
        hostname: os.hostname(),
        dataplane: ctx.svc.kind,
        capabilities: ctx.svc.capabilities,
        hnsVersion: v,
        features: await ctx.svc.features(),
      };
      return [{ name: 'versions.json', data: json(info) }];
    },
  },
  {
    name: 'data plane documents',
    applies: () => true,
    async collect(ctx) {
      const s = ctx.svc;
      return [
        { name: 'hns/networks.json', data: json(await s.listNetworks()) },
        { name: 'hns/endpoints.json', data: json(await s.listEndpoints()) },
        { name: 'hns/namespaces.json', data: json(await s.listNamespaces()) },
        { name: 'hns/loadbalancers.json', data: json(await s.listLoadBalancers()) },
      ];
    },
  },
  {
    name: 'linux links, addresses, routes, neighbours, fdb',
    applies: (ctx) => ctx.platform === 'linux',
    async collect(ctx) {
      const run = runner(ctx);
      const cmds: [string, string, string[]][] = [
        ['linux/links.json', 'ip', ['-j', '-d', 'link', 'show']],
        ['linux/addresses.json', 'ip', ['-j', 'address', 'show']],
        ['linux/routes.json', 'ip', ['-j', 'route', 'show', 'table', 'all']],
        ['linux/routes6.json', 'ip', ['-j', '-6', 'route', 'show', 'table', 'all']],
        ['linux/neighbours.json', 'ip', ['-j', 'neigh', 'show']],
        ['linux/fdb.json', 'bridge', ['-j', 'fdb', 'show']],
        ['linux/sysctl-forwarding.txt', 'sysctl', ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']],
      ];
      const out: Entry[] = [];
      for (const [name, file, args] of cmds) {
        try {
          out.push({ name, data: await run(file, args) });
        } catch (e) {
          out.push({ name: `${name}.error.txt`, data: (e as Error).message + '\n' });
        }
      }
      return out;
    },
  },
  {
    name: "nft ruleset of Switchyard's tables",
    applies: (ctx) => ctx.platform === 'linux',
    async collect(ctx) {
      const run = runner(ctx);
      const tables = JSON.parse(await run('nft', ['-j', 'list', 'tables'])) as {
        nftables?: { table?: { family: string; name: string } }[];
      };
      const ours = (tables.nftables ?? []).flatMap((x) => (x.table && /switchyard/i.test(x.table.name) ? [x.table] : []));
      const out: Entry[] = [{ name: 'linux/nft-tables.json', data: json(ours) }];
      for (const t of ours)
        out.push({ name: `linux/nft-${t.family}-${t.name}.nft`, data: await run('nft', ['list', 'table', t.family, t.name]) });
      return out;
    },
  },
  {
    name: 'windows PowerShell and vfpctrl outputs',
    applies: (ctx) => ctx.platform === 'win32' && !!ctx.shell,
    async collect(ctx) {
      const out: Entry[] = [];
      for (const [name, script] of WINDOWS_SCRIPTS) {
        try {
          out.push({ name: `windows/${name}`, data: await ctx.shell!.invoke(script) });
        } catch (e) {
          out.push({ name: `windows/${name}.error.txt`, data: (e as Error).message + '\n' });
        }
      }
      return out;
    },
  },
  {
    name: 'agent status and metrics',
    applies: () => true,
    async collect(ctx) {
      const out: Entry[] = [];
      const reply = await requestAgent(ctx.agentSocket, { op: 'status' }).catch((e: Error) => ({ error: e.message }));
      out.push({ name: 'agent/status.json', data: json(reply ?? { error: `no agent answers on ${ctx.agentSocket}` }) });
      try {
        const res = await fetch(ctx.metricsUrl, { signal: AbortSignal.timeout(3000) });
        out.push({ name: 'agent/metrics.txt', data: await res.text() });
      } catch (e) {
        out.push({ name: 'agent/metrics.error.txt', data: `${ctx.metricsUrl}: ${(e as Error).message}\n` });
      }
      return out;
    },
  },
  {
    name: 'agent and CNI logs',
    applies: () => true,
    async collect(ctx) {
      return ctx.logFiles.flatMap((f) => {
        if (!fs.existsSync(f)) return [{ name: `logs/${safeName(f)}.missing.txt`, data: `${f}: not found\n` }];
        const out: Entry[] = [{ name: `logs/${safeName(f)}`, data: tail(f, ctx.maxLogBytes) }];
        if (fs.existsSync(`${f}.1`)) out.push({ name: `logs/${safeName(f)}.1`, data: tail(`${f}.1`, ctx.maxLogBytes) });
        return out;
      });
    },
  },
  {
    name: 'CNI configuration',
    applies: () => true,
    async collect(ctx) {
      const dir = ctx.cniConfDir;
      if (!fs.existsSync(dir)) return [{ name: 'cni/listing.txt', data: `${dir}: not found\n` }];
      const names = fs.readdirSync(dir).sort();
      const listing = names.map((n) => {
        const st = fs.statSync(path.join(dir, n));
        return `${(st.mode & 0o7777).toString(8).padStart(4, '0')}  ${String(st.size).padStart(8)}  ${st.mtime.toISOString()}  ${n}`;
      });
      const out: Entry[] = [{ name: 'cni/listing.txt', data: `${dir}\n${listing.join('\n')}\n` }];
      for (const n of names)
        if (/\.(conflist|conf|json)$/.test(n) && fs.statSync(path.join(dir, n)).isFile())
          out.push({ name: `cni/${n}`, data: fs.readFileSync(path.join(dir, n)) });
      return out;
    },
  },
  {
    name: 'subnet.env and configuration files',
    applies: () => true,
    async collect(ctx) {
      const out: Entry[] = [];
      for (const f of [ctx.subnetEnv, ...ctx.configFiles]) {
        if (fs.existsSync(f)) out.push({ name: `config/${safeName(f)}`, data: fs.readFileSync(f) });
        else out.push({ name: `config/${safeName(f)}.missing.txt`, data: `${f}: not found\n` });
      }
      return out;
    },
  },
];

/**
 * What collectlogs.ps1 gathers (microsoft/SDN Kubernetes/windows/debug), as fixed scripts: the HNS objects,
 * VFP ports and each port's rules and counters, the host's addressing and routing in every compartment.
 */
export const WINDOWS_SCRIPTS: [string, string][] = [
  ['hns-networks.json', 'Get-HnsNetwork | ConvertTo-Json -Depth 20'],
  ['hns-endpoints.json', 'Get-HnsEndpoint | ConvertTo-Json -Depth 20'],
  ['hns-policylist.json', 'Get-HnsPolicyList | ConvertTo-Json -Depth 20'],
  ['hnsdiag.txt', 'hnsdiag list all -d'],
  ['vfp-ports.txt', 'vfpctrl /list-vmswitch-port'],
  [
    'vfp-rules.txt',
    'vfpctrl /list-vmswitch-port | Select-String -Pattern \'^\\s*Port name\\s*:\\s*(\\S+)\' | ForEach-Object { $p = $_.Matches[0].Groups[1].Value; "=== port $p"; vfpctrl /port $p /list-rule; vfpctrl /port $p /get-port-counter }',
  ],
  ['ipconfig.txt', 'ipconfig /allcompartments /all'],
  ['net-ipaddress.txt', 'Get-NetIPAddress -IncludeAllCompartments | Format-Table -AutoSize | Out-String -Width 400'],
  ['net-route.txt', 'Get-NetRoute -IncludeAllCompartments | Format-Table -AutoSize | Out-String -Width 400'],
  ['net-adapter.txt', 'Get-NetAdapter -IncludeHidden | Format-Table -AutoSize | Out-String -Width 400'],
  ['net-neighbor.txt', 'Get-NetNeighbor | Format-Table -AutoSize | Out-String -Width 400'],
  ['netsh-interfaces.txt', 'netsh int ipv4 sh int'],
  ['excluded-ports.txt', 'netsh int ipv4 sh excludedportrange protocol=tcp; netsh int ipv4 sh dynamicportrange protocol=tcp'],
  ['vmswitch.txt', 'Get-VMSwitch | Format-List * | Out-String -Width 400'],
  ['services.txt', "foreach ($s in 'hns','vfpext','kubelet','kube-proxy','containerd','switchyard') { sc.exe qc $s }"],
  ['hotfixes.txt', 'Get-HotFix | Format-Table -AutoSize | Out-String -Width 400'],
];
