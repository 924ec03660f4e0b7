/**
 * koffi declarations of the computenetwork.dll functions the data plane uses, exactly as
 * computenetwork.h declares them (docs/windows.md, "The hcn binding"): HRESULT (int32) return, REFGUID as a pointer to the
 * 16-byte GUID struct, PCWSTR as NUL-terminated UTF-16 (koffi encodes JS strings), every PWSTR* and handle
 * out-parameter as `_Out_ void **` so the binding keeps the raw pointer to free/close it.
 */
import { koffi, type NativeFn, type NativeLibrary } from '../native';

export type HcnFamily = 'Network' | 'Endpoint' | 'Namespace' | 'LoadBalancer';
const PLURAL: Record<HcnFamily, string> = {
  Network: 'Networks',
  Endpoint: 'Endpoints',
  Namespace: 'Namespaces',
  LoadBalancer: 'LoadBalancers',
};

let guidType: unknown;
/** The GUID struct type, registered once per process (koffi type names are global). */
export function guidStructType(): unknown {
  guidType ??= koffi().struct('SY_HCN_GUID', {
    Data1: 'uint32_t',
    Data2: 'uint16_t',
    Data3: 'uint16_t',
    Data4: koffi().array('uint8_t', 8),
  });
  return guidType;
}

export interface FamilyFns {
  enumerateName: string;
  enumerate: () => NativeFn;
  createName: string;
  create: () => NativeFn;
  openName: string;
  open: () => NativeFn;
  modifyName: string;
  modify: () => NativeFn;
  queryName: string;
  query: () => NativeFn;
  deleteName: string;
  delete: () => NativeFn;
  closeName: string;
  close: () => NativeFn;
}

/** Lazily declared: a symbol missing from an older computenetwork.dll only fails the call that needs it. */
export function familyFns(lib: NativeLibrary, family: HcnFamily): FamilyFns {
  guidStructType();
  const F = family;
  const P = PLURAL[family];
  const handle = 'void *';
  const createProto =
    F === 'Endpoint'
      ? `int32_t %CC%HcnCreateEndpoint(void *Network, const SY_HCN_GUID *Id, const char16_t *Settings, _Out_ void **Endpoint, _Out_ void **ErrorRecord)`
      : `int32_t %CC%HcnCreate${F}(const SY_HCN_GUID *Id, const char16_t *Settings, _Out_ void **${F}, _Out_ void **ErrorRecord)`;
  return {
    enumerateName: `HcnEnumerate${P}`,
    enumerate: () =>
      lib.fn(`HcnEnumerate${P}`, `int32_t %CC%HcnEnumerate${P}(const char16_t *Query, _Out_ void **${P}, _Out_ void **ErrorRecord)`),
    createName: `HcnCreate${F}`,
    create: () => lib.fn(`HcnCreate${F}`, createProto),
    openName: `HcnOpen${F}`,
    open: () => lib.fn(`HcnOpen${F}`, `int32_t %CC%HcnOpen${F}(const SY_HCN_GUID *Id, _Out_ void **${F}, _Out_ void **ErrorRecord)`),
    modifyName: `HcnModify${F}`,
    modify: () => lib.fn(`HcnModify${F}`, `int32_t %CC%HcnModify${F}(${handle}${F}, const char16_t *Settings, _Out_ void **ErrorRecord)`),
    queryName: `HcnQuery${F}Properties`,
    query: () =>
      lib.fn(
        `HcnQuery${F}Properties`,
        `int32_t %CC%HcnQuery${F}Properties(${handle}${F}, const char16_t *Query, _Out_ void **Properties, _Out_ void **ErrorRecord)`,
      ),
    deleteName: `HcnDelete${F}`,
    delete: () => lib.fn(`HcnDelete${F}`, `int32_t %CC%HcnDelete${F}(const SY_HCN_GUID *Id, _Out_ void **ErrorRecord)`),
    closeName: `HcnClose${F}`,
    close: () => lib.fn(`HcnClose${F}`, `int32_t %CC%HcnClose${F}(${handle}${F})`),
  };
}
