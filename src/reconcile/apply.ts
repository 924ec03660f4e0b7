/**
 * Runs a plan through a host network service. Objects and policies this run created are undone (in reverse)
 * when a later step fails, and the step's own HnsError is rethrown with that said: the caller sees what HNS
 * refused, not a rollback error. Deletes cannot be undone; plans put them after the creates they depend on
 * being possible (a replaced endpoint's network exists first).
 */
import type { HostNetworkService } from '../dataplane/types';
import { isNotFound } from '../hns/errors';
import { endpointPolicyRequest, networkPolicyRequest } from '../hns/modify';
import { SCHEMA_V2 } from '../hns/schema';
import type { AppliedObject, ObjectRef, Plan, Step } from './types';

interface Undo {
  run: () => Promise<unknown>;
  created: boolean;
}

export interface ApplyOptions {
  /** Called after each step succeeds (the agent logs repairs and counts them). */
  onStep?: (step: Step) => void;
  /** Prefix of the rollback note added to a failure's message (`apply`, `reconcile`). */
  label?: string;
}

const withSchema = <T extends object>(d: T): T => ({
  ...d,
  SchemaVersion: (d as { SchemaVersion?: unknown }).SchemaVersion ?? { ...SCHEMA_V2 },
});

export async function applyPlan(svc: HostNetworkService, plan: Plan, options: ApplyOptions = {}): Promise<AppliedObject[]> {
  const createdIds = new Map<string, string>(); // desired key → ID of what this run created
  const touched = new Map<string, AppliedObject['document']>(); // key → document after a modify
  const undo: Undo[] = [];
  const idOf = (r: ObjectRef): string => {
    if ('id' in r) return r.id;
    const id = createdIds.get(r.pending);
    if (!id) throw new Error(`reconcile: ${r.pending} was to be created by an earlier step of this plan, and was not`);
    return id;
  };
  try {
    for (const step of plan.steps) {
      await runStep(step);
      options.onStep?.(step);
    }
  } catch (e) {
    for (const u of [...undo].reverse()) {
      try {
        await u.run();
      } catch {
        // Best effort: the failure that stopped the run is what the caller needs to see.
      }
    }
    const objects = undo.filter((u) => u.created).length;
    const changes = undo.length - objects;
    if (e instanceof Error && undo.length > 0) {
      const said = [
        objects > 0 ? `deleted the ${objects} object(s) this run had created` : '',
        changes > 0 ? `undid its ${changes} other change(s)` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      e.message += ` (${options.label ?? 'reconcile'}: ${said})`;
    }
    throw e;
  }

  async function runStep(step: Step): Promise<void> {
    switch (step.kind) {
      case 'Network':
        if (step.op === 'create') {
          const n = await svc.createNetwork(withSchema(step.doc));
          createdIds.set(step.key, n.ID!);
          touched.set(step.key, n);
          undo.push({ created: true, run: () => svc.deleteNetwork(n.ID!) });
        } else {
          const { policies, list } = step.change;
          touched.set(step.key, await svc.modifyNetwork(step.target, networkPolicyRequest(policies, list)));
          const inverse = policies === 'Add' ? 'Remove' : 'Add';
          if (policies === 'Add')
            undo.push({ created: false, run: () => svc.modifyNetwork(step.target, networkPolicyRequest(inverse, list)) });
        }
        return;
      case 'Endpoint':
        if (step.op === 'create') {
          const networkId = idOf(step.network);
          const ep = await svc.createEndpoint(networkId, withSchema({ ...step.doc, HostComputeNetwork: networkId }));
          createdIds.set(step.key, ep.ID!);
          touched.set(step.key, ep);
          undo.push({ created: true, run: () => svc.deleteEndpoint(ep.ID!) });
        } else if (step.op === 'modify') {
          const id = idOf(step.target);
          touched.set(step.key, await svc.modifyEndpoint(id, endpointPolicyRequest(step.change.policies, step.change.list)));
          if (step.change.policies === 'Add')
            undo.push({ created: false, run: () => svc.modifyEndpoint(id, endpointPolicyRequest('Remove', step.change.list)) });
        } else {
          if (step.attachedTo)
            await svc.detachEndpoint(step.attachedTo, step.target).catch((e) => {
              if (!isNotFound(e)) throw e;
            });
          await svc.deleteEndpoint(step.target).catch((e) => {
            if (!isNotFound(e)) throw e;
          });
        }
        return;
      case 'Namespace':
        if (step.op === 'create') {
          const ns = await svc.createNamespace(withSchema(step.doc));
          createdIds.set(step.key, ns.ID!);
          touched.set(step.key, ns);
          undo.push({ created: true, run: () => svc.deleteNamespace(ns.ID!) });
        } else {
          const nsId = idOf(step.target);
          const epId = idOf(step.change.attach);
          await svc.attachEndpoint(nsId, epId);
          undo.push({ created: false, run: () => svc.detachEndpoint(nsId, epId) });
          touched.set(step.key, await svc.getNamespace(nsId));
        }
        return;
      case 'LoadBalancer': {
        const doc = withSchema({ ...step.doc, HostComputeEndpoints: step.endpoints.map(idOf) });
        if (step.op === 'create') {
          const lb = await svc.createLoadBalancer(doc);
          createdIds.set(step.key, lb.ID!);
          touched.set(step.key, lb);
          undo.push({ created: true, run: () => svc.deleteLoadBalancer(lb.ID!) });
        } else {
          touched.set(step.key, await svc.modifyLoadBalancer(step.target, { ...doc, ID: step.target }));
        }
        return;
      }
    }
  }

  return plan.objects.map((o) => {
    const created = createdIds.has(o.key) && !o.existing;
    const doc = touched.get(o.key);
    if (created) return { kind: o.kind, key: o.key, result: 'created', document: doc! };
    if (doc) return { kind: o.kind, key: o.key, result: o.existing ? 'configured' : 'created', document: doc };
    return { kind: o.kind, key: o.key, result: 'unchanged', document: o.existing! };
  });
}
