/**
 * The HCS half of the apiVersion-1 container attach (hcsshim HotAttachEndpoint / HotDetachEndpoint →
 * modifyNetworkEndpoint): open the container's compute system in vmcompute.dll, hot-add or hot-remove the
 * endpoint with {"ResourceType":"Network","RequestType":"Add"|"Remove","Settings":"<endpoint id>"}, close it.
 * Same rules as the HCN binding (native.ts): UTF-16 in, result documents read and freed with CoTaskMemFree,
 * HRESULT classes, every call raced against the timeout, the handle closed in `finally` (and after a late open).
 */
import { HRESULT, HnsError } from '../../../hns/errors';
import { invoke, type NativeFn, type NativeLibrary, type Pointer } from '../native';

import type { HcsApi } from './request';
import { networkModifyRequest, withHcsMessage } from './request';

export { networkModifyRequest, type HcsApi, type HcsRequestType } from './request';

interface HcsFns {
  open: NativeFn;
  modify: NativeFn;
  close: NativeFn;
}

function fns(lib: NativeLibrary): HcsFns {
  return {
    open: lib.fn(
      'HcsOpenComputeSystem',
      'int32_t %CC%HcsOpenComputeSystem(const char16_t *Id, _Out_ void **ComputeSystem, _Out_ void **Result)',
    ),
    modify: lib.fn(
      'HcsModifyComputeSystem',
      'int32_t %CC%HcsModifyComputeSystem(void *ComputeSystem, const char16_t *Configuration, _Out_ void **Result)',
    ),
    close: lib.fn('HcsCloseComputeSystem', 'int32_t %CC%HcsCloseComputeSystem(void *ComputeSystem)'),
  };
}

export function hcsApi(lib: NativeLibrary, timeoutMs: number): HcsApi {
  let f: HcsFns | undefined;
  const closeNow = (h: Pointer) => {
    f!.close.async(h, () => undefined);
  };
  return {
    async modifyNetworkEndpoint(containerId, endpointId, request) {
      f ??= fns(lib);
      const subject = `container ${containerId}`;
      const handle: [Pointer] = [null];
      const openResult: [Pointer] = [null];
      await invoke(lib, f.open, {
        name: 'HcsOpenComputeSystem',
        subject,
        args: [containerId, handle, openResult],
        record: openResult,
        handle,
        closeHandle: closeNow,
        timeoutMs,
      }).catch((e) => {
        throw withHcsMessage(e);
      });
      try {
        const result: [Pointer] = [null];
        await invoke(lib, f.modify, {
          name: 'HcsModifyComputeSystem',
          subject: `${subject}, network endpoint ${endpointId} (${request})`,
          args: [handle[0], networkModifyRequest(endpointId, request), result],
          record: result,
          timeoutMs,
        }).catch((e) => {
          throw withHcsMessage(e);
        });
      } finally {
        await invoke(lib, f.close, { name: 'HcsCloseComputeSystem', subject, args: [handle[0]], timeoutMs });
      }
    },
  };
}

/** hcsshim ErrComputeSystemDoesNotExist: the container is gone (or never had a compute system). */
export const isComputeSystemMissing = (e: unknown): boolean => e instanceof HnsError && e.hresult === HRESULT.HCS_E_SYSTEM_NOT_FOUND;
