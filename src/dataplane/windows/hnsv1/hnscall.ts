/**
 * vmcompute.dll!HNSCall(Method, Path, Request, &Response) (docs/hcn-model.md, "Queries and HNS v1"): the response
 * envelope {Success, Error, Output} is unwrapped; a failed HRESULT ("hnsCall failed in Win32") and
 * `Success:false` ("hns failed with error : ...") both become HnsError, classified by the envelope's
 * ErrorCode when HNS sends one and by HNS's text otherwise. Used by the hns-v1 data plane and by the hcn data
 * plane for GET /globals/version (there is no Hcn* function for the version).
 */
import type { HnsV1Api, HttpMethod } from '../../types';
import type { HnsV1Response } from '../../../hns/v1';
import { HRESULT, HRESULT_MESSAGES, HnsError, formatHresult } from '../../../hns/errors';
import { getCI, parseHnsJson, stringifyHnsJson } from '../../../hns/json';
import { invoke, timeoutError, type NativeLibrary } from '../native';
import type { CallRecorder } from '../../call-log';

export type HnsCall = <T = unknown>(method: HttpMethod, path: string, body?: unknown, subject?: string) => Promise<T>;

export function hnsCall(lib: NativeLibrary, timeoutMs: number, log?: CallRecorder): HnsCall {
  const fn = () =>
    lib.fn('HNSCall', 'int32_t %CC%HNSCall(const char16_t *Method, const char16_t *Path, const char16_t *Request, _Out_ void **Response)');
  const call = async <T>(method: HttpMethod, path: string, body: unknown, subject: string | undefined): Promise<T> => {
    const request = body === undefined ? '' : typeof body === 'string' ? body : stringifyHnsJson(body);
    const name = `HNSCall ${method} ${path}`;
    const response: [unknown] = [null];
    let r;
    try {
      r = await invoke(lib, fn(), { name: 'HNSCall', subject, args: [method, path, request, response], result: response, timeoutMs });
    } catch (e) {
      // Re-label failures of the call itself with the v1 path (hcsshim: "hnsCall failed in Win32: ...").
      if (e instanceof HnsError && e.kind === 'timeout') throw timeoutError(name, subject, timeoutMs);
      if (e instanceof HnsError && e.call === 'HNSCall' && e.kind !== 'unsupported') {
        const text = (HRESULT_MESSAGES[e.hresult] ?? e.message).trim();
        throw new HnsError(e.hresult, `hnsCall failed in Win32: ${text}`, { call: name, subject, record: e.record }, e.kind);
      }
      throw e;
    }
    if (!r.result)
      throw new HnsError(HRESULT.E_FAIL, `HNSCall returned ${formatHresult(r.hr)} without a response`, { call: name, subject });
    const envelope = parseHnsJson<HnsV1Response<T>>(r.result);
    if (getCI<boolean>(envelope, 'Success') !== true) {
      const text = String(getCI(envelope, 'Error') ?? 'unknown error');
      const code = getCI<number>(envelope, 'ErrorCode');
      if (typeof code === 'number' && code !== 0)
        throw new HnsError(code, `hns failed with error : ${text}`, { call: name, subject, record: r.result });
      throw HnsError.fromV1Text(text, { call: name, subject, record: r.result });
    }
    return getCI<T>(envelope, 'Output') as T;
  };
  return <T>(method: HttpMethod, path: string, body?: unknown, subject?: string): Promise<T> =>
    log
      ? log.track('v1', `${method} ${path}`, undefined, body, () => call<T>(method, path, body, subject))
      : call<T>(method, path, body, subject);
}

export function hnsCallApi(lib: NativeLibrary, timeoutMs: number, log?: CallRecorder): HnsV1Api {
  const call = hnsCall(lib, timeoutMs, log);
  return { call: <T = unknown>(method: HttpMethod, path: string, body?: unknown) => call<T>(method, path, body) };
}
