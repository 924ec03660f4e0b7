import { randomUuid } from './lazy';

/** A new object ID, upper-case as HNS writes them. */
export const newId = (): string => randomUuid().toUpperCase();
