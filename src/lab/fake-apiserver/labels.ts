/** labelSelector matching for list and watch. */
import type { Obj } from './resource';

/** A labelSelector's equality (`k=v`, `k==v`, `k!=v`) and existence (`k`, `!k`) terms, as the real server reads them. */
export function labelMatcher(selector: string | undefined): (o: Obj) => boolean {
  const terms = (selector ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return (o) => {
    const labels = (o.metadata?.labels ?? {}) as Record<string, string>;
    return terms.every((term) => {
      const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
      if (m) return m[2] === '!=' ? labels[m[1]] !== m[3] : labels[m[1]] === m[3];
      if (term.startsWith('!')) return !(term.slice(1) in labels);
      return term in labels;
    });
  };
}
