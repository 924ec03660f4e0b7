/**
 * --dry-run: a data plane that answers reads from the real one and records writes without sending them. A
 * create answers the document as HNS would (a fresh ID), so a command can go on to its next step (an
 * endpoint on the network it "created"); later reads do not see recorded writes, which is what "nothing
 * changed" means.
 */
import { randomUUID } from 'node:crypto';
import type { HostNetworkService } from '../dataplane/types';
import { applyLoadBalancersOneByOne, type LoadBalancerBatch } from '../dataplane/lb-batch';

export interface RecordedCall {
  call: string;
  target?: string;
  document?: unknown;
}

const WRITES: Record<string, string> = {
  createNetwork: 'HcnCreateNetwork',
  modifyNetwork: 'HcnModifyNetwork',
  deleteNetwork: 'HcnDeleteNetwork',
  createEndpoint: 'HcnCreateEndpoint',
  modifyEndpoint: 'HcnModifyEndpoint',
  deleteEndpoint: 'HcnDeleteEndpoint',
  createNamespace: 'HcnCreateNamespace',
  modifyNamespace: 'HcnModifyNamespace',
  deleteNamespace: 'HcnDeleteNamespace',
  attachEndpoint: 'HcnModifyNamespace (attach endpoint)',
  detachEndpoint: 'HcnModifyNamespace (detach endpoint)',
  createLoadBalancer: 'HcnCreateLoadBalancer',
  modifyLoadBalancer: 'HcnModifyLoadBalancer',
  deleteLoadBalancer: 'HcnDeleteLoadBalancer',
};

export function recordingDataplane(real: HostNetworkService): { svc: HostNetworkService; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const svc = new Proxy(real, {
    get(target, prop, receiver) {
      const name = String(prop);
      if (name === 'close') return () => real.close();
      // A batch is recorded as the per-LB writes it stands for, none of them sent.
      if (name === 'applyLoadBalancers') return (batch: LoadBalancerBatch) => applyLoadBalancersOneByOne(svc, batch);
      const call = WRITES[name];
      if (!call) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return async (...args: unknown[]) => {
        if (name.startsWith('create')) {
          const doc = (name === 'createEndpoint' ? args[1] : args[0]) as Record<string, unknown>;
          const made = {
            ...doc,
            ID: (doc.ID as string | undefined) ?? randomUUID().toUpperCase(),
            ...(name === 'createEndpoint' ? { HostComputeNetwork: args[0] } : {}),
          };
          calls.push({ call, ...(name === 'createEndpoint' ? { target: String(args[0]) } : {}), document: doc });
          return made;
        }
        if (name.startsWith('modify')) {
          calls.push({ call, target: String(args[0]), document: args[1] });
          const get = {
            modifyNetwork: 'getNetwork',
            modifyEndpoint: 'getEndpoint',
            modifyNamespace: 'getNamespace',
            modifyLoadBalancer: 'getLoadBalancer',
          }[name]!;
          return (real as unknown as Record<string, (id: string) => Promise<unknown>>)[get](String(args[0]));
        }
        if (name === 'attachEndpoint' || name === 'detachEndpoint') {
          calls.push({ call, target: String(args[0]), document: { endpoint: args[1] } });
          return;
        }
        calls.push({ call, target: String(args[0]) });
      };
    },
  });
  return { svc, calls };
}

export function describeCalls(calls: RecordedCall[], json: (v: unknown) => string): string {
  if (!calls.length) return '# dry run: no change would be made\n';
  return (
    `# dry run: ${calls.length} call${calls.length === 1 ? '' : 's'} would be made, none was\n` +
    calls
      .map((c, i) => `# ${i + 1}. ${c.call}${c.target ? ` ${c.target}` : ''}\n${c.document !== undefined ? json(c.document) : ''}`)
      .join('')
  );
}
