/** Kernel, nft and validation failures of the linux data plane as HNS-class errors naming the call and subject. */
import { HRESULT, HnsError, isHnsError, type HnsErrorContext } from '../../hns';
import { OsError } from './netlink/libc';
import { NftError } from './nft';
import { PolicyError } from './ruleset';
import { AddressError } from './addr';
import { BadNetworkError, VniInUseError } from './realize-network';

export const { E_FAIL } = HRESULT;
const { E_INVALIDARG, ERROR_ALREADY_EXISTS } = HRESULT;

export function toHnsError(e: unknown, ctx: HnsErrorContext): HnsError {
  if (isHnsError(e)) return e;
  if (e instanceof BadNetworkError || e instanceof PolicyError || e instanceof AddressError)
    return new HnsError(E_INVALIDARG, e.message, ctx, 'bad-input');
  if (e instanceof VniInUseError) return new HnsError(ERROR_ALREADY_EXISTS, e.message, ctx, 'already-exists');
  if (e instanceof OsError && e.errno === 17) return new HnsError(ERROR_ALREADY_EXISTS, e.message, ctx, 'already-exists');
  if (e instanceof NftError) return new HnsError(E_FAIL, `${e.message}`, ctx);
  const err = e as Error & { code?: string };
  if (err?.code === 'EEXIST') return new HnsError(ERROR_ALREADY_EXISTS, err.message, ctx, 'already-exists');
  return new HnsError(E_FAIL, err?.message ?? String(e), ctx);
}
