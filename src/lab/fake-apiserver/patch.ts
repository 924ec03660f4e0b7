/** JSON merge patch (RFC 7386) and the subset of strategic merge patch the fake API server accepts. */
import { ApiError, type Obj } from './resource';

export const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

/** RFC 7386 merge; strategic merge behaves the same for maps and scalar lists, which is all this subset needs. */
export function mergePatch(target: unknown, patch: unknown, strategic: boolean): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Obj = target !== null && typeof target === 'object' && !Array.isArray(target) ? clone(target as Obj) : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (strategic && k.startsWith('$'))
      throw new ApiError(422, 'Invalid', `strategic merge directive ${k} is not supported by this fake server`);
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v, strategic);
  }
  return out;
}
