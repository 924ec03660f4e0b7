/** Copies of stored documents handed to callers, so nobody can change the state through a returned object. */
export const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))) as T;
