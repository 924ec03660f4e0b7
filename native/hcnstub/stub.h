/*
 * Internal interface of the HCN/HNS stub: a Linux shared library exporting the computenetwork.dll (Hcn*),
 * vmcompute.dll (HNSCall) and CoTaskMemFree symbols with HNS-like behaviour, so the koffi bindings can be
 * exercised byte for byte without Windows. All state is per process, guarded by one mutex (koffi's async
 * calls run on worker threads).
 */
#ifndef HCNSTUB_H
#define HCNSTUB_H

#include <stddef.h>
#include <stdint.h>
#include <uchar.h>

#define EXPORT __attribute__((visibility("default")))

typedef int32_t HRESULT;

typedef struct {
  uint32_t Data1;
  uint16_t Data2;
  uint16_t Data3;
  uint8_t Data4[8];
} GUID;

/* HRESULTs (../shared/reference/hcn-api.md §6). */
#define S_OK ((HRESULT)0)
#define E_POINTER ((HRESULT)0x80004003u)
#define E_HANDLE ((HRESULT)0x80070006u)
#define E_INVALIDARG ((HRESULT)0x80070057u)
#define ERROR_NOT_FOUND_HR ((HRESULT)0x80070490u)
#define ERROR_ALREADY_EXISTS_HR ((HRESULT)0x800700B7u)
#define HCN_E_POLICY_NOT_FOUND ((HRESULT)0x803B0008u)
#define HCN_E_INVALID_NETWORK_TYPE ((HRESULT)0x803B000Bu)
#define HCN_E_NETWORK_ALREADY_EXISTS ((HRESULT)0x803B0010u)
#define HCN_E_POLICY_ALREADY_EXISTS ((HRESULT)0x803B0012u)
#define HCN_E_REQUEST_UNSUPPORTED ((HRESULT)0x803B0015u)
#define HCN_E_INVALID_JSON ((HRESULT)0x803B001Bu)
#define HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS ((HRESULT)0x803B002Bu)
#define HCN_E_ENTITY_HAS_REFERENCES ((HRESULT)0x803B002Cu)
#define HCN_E_ENDPOINT_NOT_ATTACHED ((HRESULT)0x803B0034u)
#define HCN_E_INVALID_ENDPOINT ((HRESULT)0x803B000Cu)
#define HCN_E_ENDPOINT_NOT_FOUND ((HRESULT)0x803B0002u)
#define HCN_E_ENDPOINT_ALREADY_ATTACHED ((HRESULT)0x803B0014u)
#define HCN_E_INVALID_POLICY ((HRESULT)0x803B000Du)
#define HCN_E_INVALID_POLICY_TYPE ((HRESULT)0x803B000Eu)
#define HCN_E_PORT_ALREADY_EXISTS ((HRESULT)0x803B0013u)
#define HCN_E_INVALID_IP ((HRESULT)0x803B001Eu)

/* ---- memory (mem.c): CoTaskMem-style allocations, tracked so tests can assert nothing leaked ---- */
void *stub_task_alloc(size_t n);
/* UTF-16LE (NUL-terminated) -> malloc'd UTF-8; NULL input -> "" copy. Returns NULL on invalid surrogates. */
char *stub_utf16_to_utf8(const char16_t *s);
/* UTF-8 -> task-allocated UTF-16LE (freed by the caller with CoTaskMemFree). */
char16_t *stub_utf8_to_task_utf16(const char *s);

/* ---- string builder ---- */
typedef struct {
  char *p;
  size_t len, cap;
} sb_t;
void sb_putn(sb_t *b, const char *s, size_t n);
void sb_puts(sb_t *b, const char *s);
void sb_printf(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_quote(sb_t *b, const char *s); /* JSON string literal */
char *sb_take(sb_t *b);                 /* NUL-terminated, caller frees */

/* ---- minimal JSON (json.c): enough to store, filter and edit the documents HNS keeps ---- */
typedef struct {
  const char *start, *end; /* [start, end) of a JSON value's text */
} jspan_t;
/* Skips one value starting at p (after whitespace); returns the end, or NULL if malformed. */
const char *json_skip_value(const char *p);
const char *json_skip_ws(const char *p);
/* 1 if text is exactly one JSON value of the given leading char ('{', '[') or any (0). */
int json_valid(const char *text, char want);
/* Top-level member lookup in an object, key compared case-insensitively (HNS keys drift in case). */
int json_get(const char *obj, const char *key, jspan_t *out);
int json_span_get(jspan_t obj, const char *key, jspan_t *out);
/* The value as an unescaped, malloc'd UTF-8 string if it is a JSON string, else NULL. */
char *json_string(jspan_t v);
/* malloc'd copy of the span with insignificant whitespace removed (for comparing policies). */
char *json_compact(jspan_t v);
/* Iterate array items: returns the number of items, calling fn for each. -1 if not an array. */
int json_array_each(jspan_t arr, void (*fn)(jspan_t item, void *ctx), void *ctx);
/* New object text: obj with key (any casing) set to raw value text, or removed if raw is NULL. The key is
 * written first when newly added. */
char *json_set(const char *obj, const char *key, const char *raw);
char *span_dup(jspan_t v);
int json_object_each(jspan_t obj, void (*fn)(const char *key, jspan_t val, void *ctx), void *ctx);
int span_is_null(jspan_t v);

/* ---- GUIDs ---- */
void guid_format(const GUID *g, char out[37]); /* upper-case, as HNS returns them */
int guid_parse(const char *s, GUID *g);
int guid_is_zero(const GUID *g);
void guid_generate(GUID *g);

/* ---- object store (store.c) ---- */
typedef enum {
  K_NETWORK, K_ENDPOINT, K_NAMESPACE, K_LOADBALANCER,     /* v2 (Hcn*) */
  K_V1_NETWORK, K_V1_ENDPOINT, K_V1_POLICYLIST, K_V1_NAMESPACE, /* v1 (HNSCall) */
  K_COUNT
} kind_t;

typedef struct obj {
  kind_t kind;
  char id[37];
  char *doc;
  struct obj *next;
} obj_t;

void store_lock(void);
void store_unlock(void);
obj_t *store_find(kind_t k, const char *id);
obj_t *store_first(kind_t k);
obj_t *store_add(kind_t k, const char *id, char *doc);
void store_remove(obj_t *o);
void store_set_doc(obj_t *o, char *doc);
void store_reset(void);
/* An endpoint's SharedContainers (hcs.c): the HCS hot-add and HNSCall attach/detach share them. */
int stub_set_shared_container(obj_t *ep, const char *container, int add);
int stub_has_shared_container(obj_t *ep, const char *container);
/* NamespaceId (compartment) handed to the next namespace; persisted with HCNSTUB_STATE_FILE. */
extern int stub_next_namespace_id;

/* Handles: real pointers into a table, validated by range, kind and liveness (never dereferenced blindly). */
void *handle_open(kind_t k, const char *id);
const char *handle_id(void *h, kind_t k); /* NULL if invalid/closed/wrong kind */
int handle_close(void *h, kind_t k);
int handle_count(void);

/* ---- behaviour switches read from the environment at call time ---- */
/* Blocks while HCNSTUB_HANG names this function (or "*"), until HcnStubReleaseHang() or 60 s. */
void stub_maybe_hang(const char *fn);
/* 1 when HCNSTUB_RECORD_ON_SUCCESS names this function: return S_OK but fill the error record. */
int stub_record_on_success(const char *fn);
/* Sleeps HCNSTUB_WRITE_DELAY_MS inside write calls, so overlap is observable (serialization test). */
void stub_write_delay(void);
/* Tracks concurrent writes per object id (outside the store lock). */
void stub_write_begin(const char *id);
void stub_write_end(const char *id);

/* The host adapter's address (HCNSTUB_MANAGEMENT_IP) that v1 views report as ManagementIP of adapter-bound networks. */
const char *stub_management_ip(void);
int stub_adapter_bound(const char *doc);

/* HCNSTUB_HNS_VERSION (default 15.4) >= major.minor. */
int stub_version_at_least(unsigned major, unsigned minor);
void stub_version(unsigned *major, unsigned *minor);

/* Error record document {"Success":false,"Error":"<msg> ","ErrorCode":<unsigned decimal>} into *record. */
HRESULT stub_fail(char16_t **record, HRESULT hr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *stub_hr_message(HRESULT hr);

/*
 * HNS's checks on a new endpoint (rules.c), called with the store locked; net and ep in v1 or v2 form. Returns
 * S_OK or the HRESULT, with the detail (after HNS's message) in why.
 */
HRESULT stub_check_endpoint(const char *net, const char *ep, int v2, char *why, size_t n);
/*
 * The fields HNS fills on a new local endpoint when they are not given (rules.c): an address from the network's
 * first IPv4 subnet (not its network, gateway or broadcast address, not another endpoint's), PrefixLength from
 * the subnet, the default route through the gateway (v1: GatewayAddress), a MAC 00-15-5D-xx-xx-xx. Returns the
 * new malloc'd document, or NULL with *hr and why set (no address left). Called with the store locked.
 */
char *stub_assign_endpoint(const char *net, const char *ep, int v2, HRESULT *hr, char *why, size_t n);

/* A create document without SchemaVersion read as v1 schema (v1schema.c): v1 members in their v2 form; malloc'd. */
char *stub_v1_schema_to_v2(int endpoint, const char *doc);

/*
 * A v2 query result (reserialise.c): the stored document's schema members for kind k in HNS's order and
 * spelling, others dropped, integers as uint64; malloc'd. Other kinds come back as a copy.
 */
char *stub_reserialise(kind_t k, const char *doc);

/* ---- result documents (envelope.c), task-allocated UTF-16 for the caller's CoTaskMemFree ---- */
/* *out = text (nothing when out is NULL). */
void stub_respond(char16_t **out, const char *text);
/* *out = {<lead>,"<msg_key>":"<msg>",<tail>} (lead and tail are raw members, either may be NULL). */
void stub_error_doc(char16_t **out, const char *lead, const char *msg_key, const char *msg, const char *tail);

/* ---- HCS compute systems (hcs.c): forgotten by HcnStubReset ---- */
void stub_hcs_reset(void);

#endif
