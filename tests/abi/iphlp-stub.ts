/** Test controls of the stub's IP Helper route table (native/hcnstub/iphlp.c): reset, and tables not freed. */
import { STUB_LIBRARY } from './stub';

let fns: { reset: () => void; outstanding: () => number } | undefined;

export function iphlpStub(): { reset: () => void; outstanding: () => number } {
  if (fns) return fns;
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load(STUB_LIBRARY);
  const reset = lib.func('void IpHlpStubReset(void)');
  const outstanding = lib.func('long IpHlpStubOutstandingTables(void)');
  fns = { reset: () => reset(), outstanding: () => Number(outstanding()) };
  return fns;
}
