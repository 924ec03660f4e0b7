/** The HNS version a Windows data plane reads once (GET /globals/version or HcnQuery...), shared by its callers. */
import { getCI } from '../../hns/json';
import type { HnsVersion } from '../../hns/version';

/**
 * Reads the HNS version once per data plane (hcsshim caches it per process too) and shares the answer
 * with concurrent callers; a failed read is not cached, so the next call asks HNS again.
 */
export class VersionReader {
  private pending?: Promise<HnsVersion>;

  constructor(private readonly read: () => Promise<unknown>) {}

  get(): Promise<HnsVersion> {
    if (!this.pending) {
      const p = this.read().then((v) => ({ Major: Number(getCI(v, 'Major')), Minor: Number(getCI(v, 'Minor')) }));
      this.pending = p;
      p.catch(() => {
        if (this.pending === p) this.pending = undefined;
      });
    }
    return this.pending;
  }
}
