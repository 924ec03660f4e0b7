/**
 * Exit codes: 0 ok; 1 a failure reported by HNS (the HnsError text and its HRESULT) or the system;
 * 2 bad usage or input (unknown flag, invalid document, a referenced object that does not exist) — in which case
 * nothing was changed.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad flags or input, detected before any change; exit 2. The message names the flag or field. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
