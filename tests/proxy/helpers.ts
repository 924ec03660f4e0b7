/** Builders for Services, EndpointSlices and a node's HNS network, shared by the proxy tests and the bench. */
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { openDataplane, parseVersion } from '../../src/dataplane/factory';
import { readCallLog, callLogSize } from '../../src/dataplane/call-log';
import type { CallRecord, HostNetworkService } from '../../src/dataplane/types';
import { SCHEMA_V2, featuresFor, type HostComputeNetwork } from '../../src/hns';
import type { NodeFacts } from '../../src/proxy/core';

export const NODE = 'win-node-1';
export const NODE_IP = '192.168.0.10';
export const PEER = { name: 'win-node-2', ip: '192.168.0.11', prefix: '10.244.2.0/24' };

export interface PortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  nodePort?: number;
}

export function service(
  name: string,
  spec: Partial<V1Service['spec']> & { ports: PortSpec[] },
  extra: { ns?: string; annotations?: Record<string, string>; ingress?: string[] } = {},
): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: extra.ns ?? 'default', annotations: extra.annotations },
    spec: { type: 'ClusterIP', ...spec, ports: spec.ports.map((p) => ({ protocol: 'TCP', ...p })) } as V1Service['spec'],
    status: { loadBalancer: { ingress: (extra.ingress ?? []).map((ip) => ({ ip })) } },
  };
}

export interface EpSpec {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function slice(
  svc: string,
  endpoints: EpSpec[],
  ports: { name?: string; port: number; protocol?: string }[],
  extra: { ns?: string; name?: string } = {},
): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { name: extra.name ?? `${svc}-abcde`, namespace: extra.ns ?? 'default', labels: { 'kubernetes.io/service-name': svc } },
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node ?? NODE,
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}

/** Pure facts for core tests: local endpoints get IDs "ep-<ip>". */
export function facts(over: Partial<NodeFacts> & { version?: string; local?: string[] } = {}): NodeFacts {
  const { version, local, ...rest } = over;
  return {
    nodeName: NODE,
    nodeIPs: [NODE_IP],
    networkType: 'L2Bridge',
    networkId: 'NET-1',
    features: featuresFor(parseVersion(version ?? '15.4')),
    localEndpoints: new Map((local ?? []).map((ip) => [ip, `ep-${ip}`])),
    remoteSubnets: [],
    ...rest,
  };
}

export const l2bridgeNetwork = (): HostComputeNetwork => ({
  Name: 'cbr0',
  Type: 'L2Bridge',
  SchemaVersion: { ...SCHEMA_V2 },
  Ipams: [
    {
      Type: 'Static',
      Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }] }],
    },
  ],
});

export const overlayNetwork = (): HostComputeNetwork => ({
  Name: 'flannel.4096',
  Type: 'Overlay',
  Flags: 8,
  SchemaVersion: { ...SCHEMA_V2 },
  Ipams: [
    {
      Type: 'Static',
      Subnets: [
        {
          IpAddressPrefix: '10.244.1.0/24',
          Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
          Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }],
        },
      ],
    },
  ],
});

/** A memory data plane in a fresh directory with a call log. */
export class Lab {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-proxy-'));
  readonly statePath = path.join(this.dir, 'hns.json');
  readonly callLog = path.join(this.dir, 'calls.jsonl');
  hns!: HostNetworkService;
  networkId = '';

  /** `version` emulates an older host the way users do: SWITCHYARD_HNS_VERSION. */
  async open(version?: string, kind: 'memory' | 'hcn' = 'memory', extra: Record<string, unknown> = {}): Promise<HostNetworkService> {
    const env = version ? { SWITCHYARD_HNS_VERSION: version } : {};
    this.hns = await openDataplane({ kind, statePath: this.statePath, callLog: this.callLog, env, ...extra });
    return this.hns;
  }

  /** Creates the network and one local endpoint per address; returns address → endpoint ID. */
  async network(doc: HostComputeNetwork, localIps: string[]): Promise<Map<string, string>> {
    const net = await this.hns.createNetwork(doc);
    this.networkId = net.ID!;
    const ids = new Map<string, string>();
    for (const ip of localIps) {
      const ep = await this.hns.createEndpoint(net.ID!, {
        Name: `pod-${ip}`,
        HostComputeNetwork: net.ID,
        IpConfigurations: [{ IpAddress: ip, PrefixLength: 24 }],
        SchemaVersion: { ...SCHEMA_V2 },
      });
      ids.set(ip, ep.ID!);
    }
    return ids;
  }

  mark(): number {
    return callLogSize(this.callLog);
  }

  callsSince(offset: number): CallRecord[] {
    return readCallLog(this.callLog, offset);
  }

  async close(): Promise<void> {
    await this.hns?.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The calls that change HNS (everything but reads). */
export function writes(records: CallRecord[]): CallRecord[] {
  return records.filter((r) => !/^(list|get|version|features|GET )/.test(r.op));
}

/** A document as sent, without the ID the proxy requests (tests compare it with the reference examples). */
export function withoutId<T extends { ID?: string }>(doc: T): Omit<T, 'ID'> {
  const { ID: _id, ...rest } = doc;
  return rest;
}

/** A TCP port free on loopback right now (for listeners a test starts): the lab's etcd helper. */
export { freePort } from '../../src/lab/etcd';

/** GET / on 127.0.0.1:port: status, headers and body. */
export function httpGet(port: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}
