/** Agents in process on the memory and hcn-stub data planes, with the call log recording what HNS was sent. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../../src/dataplane/factory';
import type { CallRecord, HostNetworkService } from '../../src/dataplane/types';
import { callLogSize, readCallLog } from '../../src/dataplane/call-log';
import { buildAgentConfig, type AgentConfig } from '../../src/agent/config';
import { startAgent, type RunningAgent } from '../../src/agent/main';
import { StaticSubnetSource } from '../../src/agent/subnet/static';
import { createAgentLogger } from '../../src/agent/log';
import type { NodeLease } from '../../src/agent/subnet/types';
import { STUB_LIBRARY, stub } from '../abi/stub';
import { iphlpStub } from '../abi/iphlp-stub';

export interface Plane {
  name: 'memory' | 'hcn-stub';
  available(): boolean;
  reset(): void;
  open(dir: string, callLog: string): Promise<HostNetworkService>;
  /** What a real Windows host has and the stub lacks: the HostDefault namespace. */
  prepare(svc: HostNetworkService): Promise<void>;
}

export const PLANES: Plane[] = [
  {
    name: 'memory',
    available: () => true,
    reset: () => undefined,
    open: (dir, callLog) => openDataplane({ kind: 'memory', statePath: path.join(dir, 'hns.json'), callLog, env: {} }),
    prepare: async () => undefined,
  },
  {
    name: 'hcn-stub',
    available: () => fs.existsSync(STUB_LIBRARY),
    reset: () => {
      stub().reset();
      iphlpStub().reset();
    },
    open: (_dir, callLog) =>
      openDataplane({ kind: 'hcn', hcnLibrary: STUB_LIBRARY, vmcomputeLibrary: STUB_LIBRARY, statePath: '/nonexistent', callLog, env: {} }),
    prepare: async (svc) => {
      if (!(await svc.listNamespaces()).some((n) => n.Type === 'HostDefault')) await svc.createNamespace({ Type: 'HostDefault' });
    },
  },
];

export const OVERLAY_NETCONF = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096 } };
export const HOSTGW_NETCONF = { Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } };

export class AgentLab {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-agent-'));
  readonly callLog = path.join(this.dir, 'calls.jsonl');
  svc?: HostNetworkService;
  running?: RunningAgent;
  source?: StaticSubnetSource;

  constructor(readonly plane: Plane) {}

  config(extra: Record<string, unknown> = {}, netConf: unknown = OVERLAY_NETCONF): AgentConfig {
    return buildAgentConfig({
      file: {
        node: 'n1',
        podCIDR: '10.244.1.0/24',
        publicIP: '192.168.0.10',
        netConf,
        metricsAddress: '',
        socket: '',
        subnetEnv: path.join(this.dir, 'subnet.env'),
        cni: {
          confDir: path.join(this.dir, 'net.d'),
          binDir: path.join(this.dir, 'bin'),
          ipamDataDir: path.join(this.dir, 'ipam'),
          sourceBinDir: path.join(this.dir, 'src-bin'),
        },
        ...extra,
      },
      flags: {},
      hostname: 'test-host',
      platform: 'linux',
      env: {},
    });
  }

  async start(config: AgentConfig = this.config(), peers: NodeLease[] = []): Promise<RunningAgent> {
    fs.mkdirSync(path.join(this.dir, 'src-bin'), { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'src-bin', 'win-overlay'), '#!/bin/sh\n', { mode: 0o755 });
    this.svc ??= await this.plane.open(this.dir, this.callLog);
    await this.plane.prepare(this.svc);
    this.source = new StaticSubnetSource(config.podCidr!, peers);
    this.running = await startAgent(config, {
      svc: this.svc,
      source: this.source,
      log: createAgentLogger({ silent: true }),
      periodic: false,
    });
    return this.running;
  }

  async restart(config?: AgentConfig, peers?: NodeLease[]): Promise<RunningAgent> {
    await this.running?.stop();
    await this.svc?.close();
    this.svc = undefined;
    return this.start(config, peers ?? this.source?.peers());
  }

  mark(): number {
    return callLogSize(this.callLog);
  }

  /** Calls that change something (create/modify/delete/attach/detach), since `mark`. */
  writes(since = 0): CallRecord[] {
    return readCallLog(this.callLog, since).filter((r) => /^(create|modify|delete|attach|detach)/.test(r.op));
  }

  async cleanup(): Promise<void> {
    await this.running?.stop().catch(() => undefined);
    await this.svc?.close().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function peer(n: number, extra: Partial<NodeLease> = {}): NodeLease {
  return {
    node: `n${n}`,
    subnet: `10.244.${n}.0/24`,
    publicIp: `192.168.0.${10 + n - 1}`,
    backendType: 'vxlan',
    vni: 4096,
    vtepMac: `00:15:5d:00:00:0${n}`,
    ...extra,
  };
}
