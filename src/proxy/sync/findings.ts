/** Findings (what the proxy could not do as asked): logged, counted and handed on once per change of their text. */
import type { ProxyFinding, ServicePlan } from '../core';
import type { ProxyCounters } from './counters';
import type { ProxyLogger } from './context';

export class FindingReporter {
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly counters: ProxyCounters,
    private readonly log: ProxyLogger,
    private readonly onFinding?: (finding: ProxyFinding) => void,
  ) {}

  report(plan: ServicePlan): void {
    const text = plan.findings.map((f) => `${f.reason}:${f.message}`).join('\n');
    if ((this.reported.get(plan.service) ?? '') === text) return;
    if (text) this.reported.set(plan.service, text);
    else this.reported.delete(plan.service);
    for (const f of plan.findings) {
      this.counters.findings[f.reason] = (this.counters.findings[f.reason] ?? 0) + 1;
      this.log(f.severity === 'degraded' ? 'warn' : 'info', `service ${f.service}: ${f.message}`, {
        service: f.service,
        reason: f.reason,
        severity: f.severity,
      });
      this.onFinding?.(f);
    }
  }
}
