/** Copies of stored documents handed to callers, so nobody can change the state through a returned object. */
import { cloneJson } from '../../net/json';

// uint64 fields (Version, InterfaceLuid) stay bigint: a clone through Number would round them.
export const clone = cloneJson;
