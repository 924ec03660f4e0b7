/*
 * The computenetwork.dll surface (../shared/reference/hcn-api.md §1.3): Enumerate/Create/Open/Modify/
 * QueryProperties/Delete/Close for networks, endpoints, namespaces and load balancers, with HNS's
 * conventions: GUID by pointer (zero GUID = "assign one"), UTF-16 JSON in and out, results and error records
 * allocated for CoTaskMemFree, HRESULT failures with an ErrorRecord {"Success":false,"Error","ErrorCode"}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stub.h"

#define MSG 256

static const char *const KIND_LABEL[K_COUNT] = {"network", "endpoint", "namespace", "load balancer",
                                                 "network", "endpoint", "policy list", "namespace"};

static GUID last_guid;

/* Test-only: the raw 16 bytes of the last GUID a Create/Open/Delete call received. */
EXPORT void HcnStubLastGuid(uint8_t out[16]) {
  store_lock();
  memcpy(out, &last_guid, 16);
  store_unlock();
}

static void set_out(void **p) { if (p) *p = NULL; }
static void set_out16(char16_t **p) { if (p) *p = NULL; }

static HRESULT success(const char *fn, char16_t **record) {
  /* HNS can return S_OK with an error record; callers must treat that as failure (hcsshim checkForErrors). */
  if (record && stub_record_on_success(fn)) {
    char msg[160], tail[32];
    snprintf(msg, sizeof msg, "%s reported a problem despite S_OK ", fn);
    /* a code in the record must not change the classification */
    snprintf(tail, sizeof tail, "\"ErrorCode\":%u", (uint32_t)HCN_E_REQUEST_UNSUPPORTED);
    stub_error_doc(record, "\"Success\":false", "Error", msg, tail);
  }
  return S_OK;
}

static int enum_of(jspan_t v, const char *const *names, int n) {
  if (v.start < v.end && *v.start == '"') {
    char *s = json_string(v);
    int r = -1;
    for (int i = 0; i < n && s; i++) if (strcasecmp(s, names[i]) == 0) { r = i; break; }
    free(s);
    return r;
  }
  long x = strtol(v.start, NULL, 10);
  return x >= 0 && x < n ? (int)x : -1;
}

/* ---- filters ---- */
typedef struct {
  kind_t kind;
  const char *doc;
  int ok;
} match_ctx_t;

static void match_member(const char *key, jspan_t want, void *vctx) {
  match_ctx_t *m = vctx;
  if (!m->ok) return;
  jspan_t have;
  const char *k = key;
  /* hcsshim lists a network's endpoints with the v1 field name (ListEndpointsOfNetwork). */
  if (m->kind == K_ENDPOINT && strcasecmp(key, "VirtualNetwork") == 0) k = "HostComputeNetwork";
  if (!json_get(m->doc, k, &have)) { m->ok = 0; return; }
  char *a = json_compact(have), *b = json_compact(want);
  m->ok = strcasecmp(a, b) == 0; /* IDs compare case-insensitively; so do names in HNS */
  free(a);
  free(b);
}

/* Parses the HostComputeQuery; *filter is the Filter object text (malloc'd) or NULL for "everything". */
static HRESULT parse_query(const char *fn, const char16_t *query, char **filter, char16_t **record) {
  *filter = NULL;
  char *q = stub_utf16_to_utf8(query);
  if (!q) return stub_fail(record, E_INVALIDARG, "%s: query is not valid UTF-16", fn);
  if (!*json_skip_ws(q)) { free(q); return S_OK; }
  if (!json_valid(q, '{')) {
    free(q);
    return stub_fail(record, HCN_E_INVALID_JSON, "%s: the query is not a JSON object", fn);
  }
  jspan_t f;
  if (json_get(q, "Filter", &f) && !span_is_null(f)) {
    char *text = json_string(f); /* Filter is a JSON string holding JSON (gotcha §9.7) */
    if (!text || (*json_skip_ws(text) && !json_valid(text, '{'))) {
      free(text);
      free(q);
      return stub_fail(record, HCN_E_INVALID_JSON, "%s: Filter must be a string containing a JSON object", fn);
    }
    if (*json_skip_ws(text)) *filter = text;
    else free(text);
  }
  free(q);
  return S_OK;
}

static HRESULT do_enumerate(kind_t k, const char *fn, const char16_t *query, char16_t **result, char16_t **record) {
  set_out16(result);
  set_out16(record);
  stub_maybe_hang(fn);
  if (!result) return E_POINTER;
  char *filter;
  HRESULT hr = parse_query(fn, query, &filter, record);
  if (hr < 0) return hr;
  sb_t b = {0};
  sb_puts(&b, "[");
  int first = 1;
  store_lock();
  for (obj_t *o = store_first(k); o; o = o->next) {
    if (filter) {
      match_ctx_t m = {k, o->doc, 1};
      json_object_each((jspan_t){filter, filter + strlen(filter)}, match_member, &m);
      if (!m.ok) continue;
    }
    if (!first) sb_puts(&b, ",");
    sb_quote(&b, o->id);
    first = 0;
  }
  store_unlock();
  sb_puts(&b, "]");
  free(filter);
  char *t = sb_take(&b);
  *result = stub_utf8_to_task_utf16(t);
  free(t);
  return success(fn, record);
}

/* ---- create ---- */
static const char *const NETWORK_TYPES[] = {"NAT", "ICS", "Transparent", "L2Bridge", "L2Tunnel", "Overlay",
                                            "Private", "Internal", "Mirrored", "Infiniband", "ConstrainedICS"};

static HRESULT check_network(const char *doc, char16_t **record) {
  jspan_t v;
  if (json_get(doc, "Type", &v) && !span_is_null(v) && enum_of(v, NETWORK_TYPES, 11) < 0) {
    char *t = span_dup(v);
    HRESULT hr = stub_fail(record, HCN_E_INVALID_NETWORK_TYPE, "Type %s is not a network mode", t);
    free(t);
    return hr;
  }
  if (json_get(doc, "Name", &v)) {
    char *name = json_string(v);
    if (name) {
      for (obj_t *o = store_first(K_NETWORK); o; o = o->next) {
        jspan_t on;
        char *other = json_get(o->doc, "Name", &on) ? json_string(on) : NULL;
        int dup = other && strcasecmp(other, name) == 0;
        free(other);
        if (dup) {
          HRESULT hr = stub_fail(record, HCN_E_NETWORK_ALREADY_EXISTS, "name %s is used by network %s", name, o->id);
          free(name);
          return hr;
        }
      }
    }
    free(name);
  }
  return S_OK;
}

static HRESULT do_create(kind_t k, const char *fn, void *network, const GUID *id, const char16_t *settings,
                         void **handle, char16_t **record) {
  set_out(handle);
  set_out16(record);
  stub_maybe_hang(fn);
  if (!id || !handle) return stub_fail(record, E_POINTER, "%s: Id and the handle pointer are required", fn);
  char *doc = stub_utf16_to_utf8(settings);
  if (!doc) return stub_fail(record, E_INVALIDARG, "%s: settings are not valid UTF-16", fn);
  if (!json_valid(doc, '{')) {
    free(doc);
    return stub_fail(record, HCN_E_INVALID_JSON, "%s: the settings are not a JSON object", fn);
  }
  jspan_t schema;
  if ((k == K_NETWORK || k == K_ENDPOINT) && !json_get(doc, "SchemaVersion", &schema)) {
    char *d = stub_v1_schema_to_v2(k == K_ENDPOINT, doc);
    free(doc);
    doc = d;
  }
  char net_id[37] = "";
  if (k == K_ENDPOINT) {
    store_lock();
    const char *nid = handle_id(network, K_NETWORK);
    if (nid) snprintf(net_id, sizeof net_id, "%s", nid);
    store_unlock();
    if (!nid) {
      free(doc);
      return stub_fail(record, E_HANDLE, "%s: the network handle is not an open network", fn);
    }
    stub_write_begin(net_id);
    stub_write_delay();
  }
  HRESULT hr = S_OK;
  char idstr[37];
  store_lock();
  last_guid = *id;
  GUID g = *id;
  if (guid_is_zero(&g)) {
    do guid_generate(&g), guid_format(&g, idstr);
    while (store_find(k, idstr));
  } else {
    guid_format(&g, idstr);
    if (store_find(k, idstr)) {
      hr = stub_fail(record, ERROR_ALREADY_EXISTS_HR, "%s %s already exists", KIND_LABEL[k], idstr);
      goto out;
    }
  }
  jspan_t v;
  if (k == K_NETWORK && (hr = check_network(doc, record)) < 0) goto out;
  if (k == K_ENDPOINT) {
    if (!store_find(K_NETWORK, net_id)) {
      hr = stub_fail(record, ERROR_NOT_FOUND_HR, "network %s", net_id);
      goto out;
    }
    if (json_get(doc, "HostComputeNamespace", &v) && !span_is_null(v)) {
      hr = stub_fail(record, E_INVALIDARG, "HostComputeNamespace is read-only; attach with HcnModifyNamespace");
      goto out;
    }
    char *given = json_get(doc, "HostComputeNetwork", &v) ? json_string(v) : NULL;
    int mismatch = given && *given && strcasecmp(given, net_id) != 0;
    free(given);
    if (mismatch) {
      hr = stub_fail(record, HCN_E_INVALID_ENDPOINT, "HostComputeNetwork differs from the network handle (%s)", net_id);
      goto out;
    }
    char why[256];
    if ((hr = stub_check_endpoint(store_find(K_NETWORK, net_id)->doc, doc, 1, why, sizeof why)) < 0) {
      hr = stub_fail(record, hr, "%s", why);
      goto out;
    }
    char *assigned = stub_assign_endpoint(store_find(K_NETWORK, net_id)->doc, doc, 1, &hr, why, sizeof why);
    if (!assigned) {
      hr = stub_fail(record, hr, "%s", why);
      goto out;
    }
    free(doc);
    doc = assigned;
    sb_t q = {0};
    sb_quote(&q, net_id);
    char *raw = sb_take(&q), *d = json_set(doc, "HostComputeNetwork", raw);
    free(raw);
    free(doc);
    doc = d;
  }
  if (k == K_NAMESPACE) {
    if (!json_get(doc, "Resources", &v)) { char *d = json_set(doc, "Resources", "[]"); free(doc); doc = d; }
    if (!json_get(doc, "NamespaceId", &v)) {
      char num[16];
      snprintf(num, sizeof num, "%d", stub_next_namespace_id++);
      char *d = json_set(doc, "NamespaceId", num);
      free(doc);
      doc = d;
    }
  }
  if (!json_get(doc, "SchemaVersion", &v)) {
    char *d = json_set(doc, "SchemaVersion", "{\"Major\":2,\"Minor\":0}");
    free(doc);
    doc = d;
  }
  {
    sb_t q = {0};
    sb_quote(&q, idstr);
    char *raw = sb_take(&q), *d = json_set(doc, "ID", raw);
    free(raw);
    free(doc);
    doc = d;
  }
  *handle = handle_open(k, idstr);
  if (!*handle) {
    hr = stub_fail(record, (HRESULT)0x8007000Eu, "out of handles");
    goto out;
  }
  store_add(k, idstr, doc);
  doc = NULL;
out:
  store_unlock();
  if (k == K_ENDPOINT) stub_write_end(net_id);
  free(doc);
  return hr < 0 ? hr : success(fn, record);
}

static HRESULT do_open(kind_t k, const char *fn, const GUID *id, void **handle, char16_t **record) {
  set_out(handle);
  set_out16(record);
  stub_maybe_hang(fn);
  if (!id || !handle) return stub_fail(record, E_POINTER, "%s: Id and the handle pointer are required", fn);
  char idstr[37];
  guid_format(id, idstr);
  HRESULT hr = S_OK;
  store_lock();
  last_guid = *id;
  if (!store_find(k, idstr)) hr = stub_fail(record, ERROR_NOT_FOUND_HR, "%s %s", KIND_LABEL[k], idstr);
  else if (!(*handle = handle_open(k, idstr))) hr = stub_fail(record, (HRESULT)0x8007000Eu, "out of handles");
  store_unlock();
  return hr < 0 ? hr : success(fn, record);
}

static HRESULT do_query(kind_t k, const char *fn, void *h, const char16_t *query, char16_t **props, char16_t **record) {
  set_out16(props);
  set_out16(record);
  stub_maybe_hang(fn);
  if (!props) return stub_fail(record, E_POINTER, "%s: the properties pointer is required", fn);
  char *filter;
  HRESULT hr = parse_query(fn, query, &filter, record);
  if (hr < 0) return hr;
  free(filter);
  store_lock();
  const char *id = handle_id(h, k);
  obj_t *o = id ? store_find(k, id) : NULL;
  if (!id) hr = stub_fail(record, E_HANDLE, "%s: not an open %s handle", fn, KIND_LABEL[k]);
  else if (!o) hr = stub_fail(record, ERROR_NOT_FOUND_HR, "%s %s was deleted", KIND_LABEL[k], id);
  else {
    char *view = stub_reserialise(k, o->doc);
    *props = stub_utf8_to_task_utf16(view);
    free(view);
  }
  store_unlock();
  return hr < 0 ? hr : success(fn, record);
}

static HRESULT do_close(kind_t k, void *h) {
  store_lock();
  int ok = handle_close(h, k);
  store_unlock();
  return ok ? S_OK : E_HANDLE;
}

/* ---- modify ---- */
typedef struct {
  char **items;
  int n, cap;
} list_t;

static void list_push(list_t *l, char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->items = realloc(l->items, (size_t)l->cap * sizeof *l->items);
    if (!l->items) abort();
  }
  l->items[l->n++] = s;
}

static void list_free(list_t *l) {
  for (int i = 0; i < l->n; i++) free(l->items[i]);
  free(l->items);
}

static void collect(jspan_t item, void *ctx) { list_push(ctx, json_compact(item)); }

static char *list_json(list_t *l) {
  sb_t b = {0};
  sb_puts(&b, "[");
  for (int i = 0; i < l->n; i++) {
    if (l->items[i]) {
      if (b.len > 1) sb_puts(&b, ",");
      sb_puts(&b, l->items[i]);
    }
  }
  sb_puts(&b, "]");
  return sb_take(&b);
}

static char *policy_type(const char *policy) {
  jspan_t t;
  return json_get(policy, "Type", &t) ? json_string(t) : NULL;
}

/* Policy Add/Remove/Update on a network or endpoint document. Returns the new document or NULL (*hr set). */
static char *edit_policies(const char *doc, int request, jspan_t settings, HRESULT *hr, char16_t **record) {
  jspan_t given;
  list_t have = {0}, want = {0};
  if (!json_span_get(settings, "Policies", &given) || json_array_each(given, collect, &want) < 0) {
    *hr = stub_fail(record, E_INVALIDARG, "Settings.Policies must be an array of policies");
    return NULL;
  }
  jspan_t cur;
  if (json_get(doc, "Policies", &cur) && !span_is_null(cur)) json_array_each(cur, collect, &have);
  char *out = NULL;
  for (int i = 0; i < want.n; i++) {
    int found = -1;
    for (int j = 0; j < have.n; j++) if (have.items[j] && strcmp(have.items[j], want.items[i]) == 0) found = j;
    if (request == 0 && found >= 0) {
      *hr = stub_fail(record, HCN_E_POLICY_ALREADY_EXISTS, "%s", want.items[i]);
      goto done;
    }
    if (request == 1 && found < 0) {
      *hr = stub_fail(record, HCN_E_POLICY_NOT_FOUND, "%s", want.items[i]);
      goto done;
    }
    if (request == 1) { free(have.items[found]); have.items[found] = NULL; }
    if (request == 2) {
      /* Update replaces the policies of the same Type. */
      char *t = policy_type(want.items[i]);
      for (int j = 0; j < have.n; j++) {
        char *ht = have.items[j] ? policy_type(have.items[j]) : NULL;
        if (ht && t && strcasecmp(ht, t) == 0) { free(have.items[j]); have.items[j] = NULL; }
        free(ht);
      }
      free(t);
    }
  }
  if (request == 0 || request == 2)
    for (int i = 0; i < want.n; i++) { list_push(&have, want.items[i]); want.items[i] = NULL; }
  char *arr = list_json(&have);
  out = json_set(doc, "Policies", arr);
  free(arr);
done:
  list_free(&have);
  list_free(&want);
  return out;
}

typedef struct {
  const char *id;
  int found;
  list_t keep;
} res_ctx_t;

static void resource_filter(jspan_t item, void *vctx) {
  res_ctx_t *c = vctx;
  jspan_t data, rid;
  char *idv = NULL;
  if (json_span_get(item, "Data", &data) && (json_span_get(data, "ID", &rid))) idv = json_string(rid);
  if (idv && strcasecmp(idv, c->id) == 0) c->found = 1;
  else list_push(&c->keep, json_compact(item));
  free(idv);
}

/* Namespace document without the resource whose Data.ID is id; *found says whether it was there. */
static char *namespace_without(const char *doc, const char *id, int *found) {
  res_ctx_t c = {id, 0, {0}};
  jspan_t r;
  if (json_get(doc, "Resources", &r) && !span_is_null(r)) json_array_each(r, resource_filter, &c);
  char *arr = list_json(&c.keep), *out = json_set(doc, "Resources", arr);
  free(arr);
  list_free(&c.keep);
  *found = c.found;
  return out;
}

static char *endpoint_namespace(obj_t *ep) {
  jspan_t v;
  return json_get(ep->doc, "HostComputeNamespace", &v) ? json_string(v) : NULL;
}

static HRESULT modify_namespace(obj_t *ns, jspan_t req, char16_t **record) {
  static const char *const RESOURCES[] = {"Container", "Endpoint"};
  static const char *const REQUESTS[] = {"Add", "Remove"};
  jspan_t rt, rq, st, v;
  if (!json_span_get(req, "ResourceType", &rt) || !json_span_get(req, "RequestType", &rq) ||
      !json_span_get(req, "Settings", &st))
    return stub_fail(record, E_INVALIDARG, "a namespace request needs ResourceType, RequestType and Settings");
  int resource = enum_of(rt, RESOURCES, 2), request = enum_of(rq, REQUESTS, 2);
  if (resource < 0 || request < 0)
    return stub_fail(record, HCN_E_REQUEST_UNSUPPORTED, "namespace requests are Add/Remove of Endpoint or Container");
  char *rid = json_span_get(st, resource ? "EndpointId" : "ContainerId", &v) ? json_string(v) : NULL;
  if (!rid || !*rid) {
    free(rid);
    return stub_fail(record, E_INVALIDARG, "Settings.%s is required", resource ? "EndpointId" : "ContainerId");
  }
  HRESULT hr = S_OK;
  obj_t *ep = NULL;
  if (resource == 1) {
    ep = store_find(K_ENDPOINT, rid);
    if (!ep) { hr = stub_fail(record, HCN_E_ENDPOINT_NOT_FOUND, "endpoint %s", rid); goto out; }
  }
  if (request == 0) {
    char *cur = ep ? endpoint_namespace(ep) : NULL;
    if (cur) {
      if (strcasecmp(cur, ns->id) == 0) hr = stub_fail(record, HCN_E_ENDPOINT_ALREADY_ATTACHED, "endpoint %s, namespace %s", rid, cur);
      else hr = stub_fail(record, HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, "endpoint %s is in namespace %s", rid, cur);
      free(cur);
      goto out;
    }
    int found;
    char *d = namespace_without(ns->doc, rid, &found);
    free(d);
    if (found) { hr = stub_fail(record, HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, "%s is already in namespace %s", rid, ns->id); goto out; }
    jspan_t r;
    list_t items = {0};
    if (json_get(ns->doc, "Resources", &r) && !span_is_null(r)) json_array_each(r, collect, &items);
    sb_t b = {0};
    sb_printf(&b, "{\"Type\":\"%s\",\"Data\":{\"ID\":", RESOURCES[resource]);
    sb_quote(&b, ep ? ep->id : rid);
    sb_puts(&b, "}}");
    list_push(&items, sb_take(&b));
    char *arr = list_json(&items);
    store_set_doc(ns, json_set(ns->doc, "Resources", arr));
    free(arr);
    list_free(&items);
    if (ep) {
      sb_t q = {0};
      sb_quote(&q, ns->id);
      char *raw = sb_take(&q);
      store_set_doc(ep, json_set(ep->doc, "HostComputeNamespace", raw));
      free(raw);
    }
  } else {
    int found;
    char *d = namespace_without(ns->doc, rid, &found);
    if (!found) {
      free(d);
      hr = stub_fail(record, ep ? HCN_E_ENDPOINT_NOT_ATTACHED : ERROR_NOT_FOUND_HR, "%s is not in namespace %s", rid, ns->id);
      goto out;
    }
    store_set_doc(ns, d);
    if (ep) store_set_doc(ep, json_set(ep->doc, "HostComputeNamespace", NULL));
  }
out:
  free(rid);
  return hr;
}

static HRESULT do_modify(kind_t k, const char *fn, void *h, const char16_t *settings, char16_t **record) {
  set_out16(record);
  stub_maybe_hang(fn);
  char *req = stub_utf16_to_utf8(settings);
  if (!req) return stub_fail(record, E_INVALIDARG, "%s: settings are not valid UTF-16", fn);
  if (!json_valid(req, '{')) {
    free(req);
    return stub_fail(record, HCN_E_INVALID_JSON, "%s: the request is not a JSON object", fn);
  }
  char id[37] = "";
  store_lock();
  const char *hid = handle_id(h, k);
  if (hid) snprintf(id, sizeof id, "%s", hid);
  store_unlock();
  if (!*id) {
    free(req);
    return stub_fail(record, E_HANDLE, "%s: not an open %s handle", fn, KIND_LABEL[k]);
  }
  stub_write_begin(id);
  stub_write_delay();
  HRESULT hr = S_OK;
  jspan_t r = {req, req + strlen(req)}, rt, rq, st;
  store_lock();
  obj_t *o = store_find(k, id);
  if (!o) {
    hr = stub_fail(record, ERROR_NOT_FOUND_HR, "%s %s was deleted", KIND_LABEL[k], id);
  } else if (k == K_LOADBALANCER && !stub_version_at_least(15, 4)) {
    hr = stub_fail(record, HCN_E_REQUEST_UNSUPPORTED, "load balancer modify needs HNS 15.4");
  } else if (k == K_LOADBALANCER) {
    /* HNS >= 15.4 takes the whole load balancer document (hcsshim LoadBalancer.Update). */
    sb_t q = {0};
    sb_quote(&q, o->id);
    char *raw = sb_take(&q), *d = json_set(req, "ID", raw);
    free(raw);
    jspan_t v;
    if (!json_get(d, "SchemaVersion", &v)) {
      char *d2 = json_set(d, "SchemaVersion", "{\"Major\":2,\"Minor\":0}");
      free(d);
      d = d2;
    }
    store_set_doc(o, d);
  } else if (k == K_NAMESPACE) {
    hr = modify_namespace(o, r, record);
  } else {
    static const char *const REQUESTS[] = {"Add", "Remove", "Update", "Refresh"};
    if (!json_span_get(r, "ResourceType", &rt) || !json_span_get(r, "RequestType", &rq) || !json_span_get(r, "Settings", &st)) {
      hr = stub_fail(record, E_INVALIDARG, "the request needs ResourceType, RequestType and Settings");
    } else {
      char *res = json_string(rt);
      int request = enum_of(rq, REQUESTS, 4);
      int is_policy = (res && strcasecmp(res, "Policy") == 0) || (!res && strtol(rt.start, NULL, 10) == (k == K_ENDPOINT ? 1 : 0));
      if (is_policy && request >= 0 && request <= 2) {
        char *d = edit_policies(o->doc, request, st, &hr, record);
        if (d) store_set_doc(o, d);
      } else if (k == K_NETWORK && res && strcasecmp(res, "DNS") == 0 && request == 2) {
        char *dns = span_dup(st);
        store_set_doc(o, json_set(o->doc, "Dns", dns));
        free(dns);
      } else {
        hr = stub_fail(record, HCN_E_REQUEST_UNSUPPORTED, "%s: ResourceType %.*s with RequestType %.*s", fn,
                       (int)(rt.end - rt.start), rt.start, (int)(rq.end - rq.start), rq.start);
      }
      free(res);
    }
  }
  store_unlock();
  stub_write_end(id);
  free(req);
  return hr < 0 ? hr : success(fn, record);
}

/* ---- delete ---- */
static HRESULT do_delete(kind_t k, const char *fn, const GUID *id, char16_t **record) {
  set_out16(record);
  stub_maybe_hang(fn);
  if (!id) return stub_fail(record, E_POINTER, "%s: Id is required", fn);
  char idstr[37];
  guid_format(id, idstr);
  if (k == K_NETWORK) { stub_write_begin(idstr); stub_write_delay(); }
  HRESULT hr = S_OK;
  store_lock();
  last_guid = *id;
  obj_t *o = store_find(k, idstr);
  if (!o) {
    hr = stub_fail(record, ERROR_NOT_FOUND_HR, "%s %s", KIND_LABEL[k], idstr);
    goto out;
  }
  if (k == K_NETWORK) {
    for (obj_t *e = store_first(K_ENDPOINT); e; e = e->next) {
      jspan_t v;
      char *nid = json_get(e->doc, "HostComputeNetwork", &v) ? json_string(v) : NULL;
      int ref = nid && strcasecmp(nid, idstr) == 0;
      free(nid);
      if (ref) {
        hr = stub_fail(record, HCN_E_ENTITY_HAS_REFERENCES, "network %s still has endpoint %s", idstr, e->id);
        goto out;
      }
    }
    /* v1 endpoints made on this network through HNSCall count too (both APIs see the same network). */
    for (obj_t *e = store_first(K_V1_ENDPOINT); e; e = e->next) {
      jspan_t v;
      char *nid = json_get(e->doc, "VirtualNetwork", &v) ? json_string(v) : NULL;
      int ref = nid && strcasecmp(nid, idstr) == 0;
      free(nid);
      if (ref) {
        hr = stub_fail(record, HCN_E_ENTITY_HAS_REFERENCES, "network %s still has v1 endpoint %s", idstr, e->id);
        goto out;
      }
    }
  }
  if (k == K_ENDPOINT) {
    char *ns_id = endpoint_namespace(o);
    obj_t *ns = ns_id ? store_find(K_NAMESPACE, ns_id) : NULL;
    if (ns) {
      int found;
      store_set_doc(ns, namespace_without(ns->doc, o->id, &found));
    }
    free(ns_id);
  }
  if (k == K_NAMESPACE) {
    for (obj_t *e = store_first(K_ENDPOINT); e; e = e->next) {
      char *ns_id = endpoint_namespace(e);
      if (ns_id && strcasecmp(ns_id, idstr) == 0) store_set_doc(e, json_set(e->doc, "HostComputeNamespace", NULL));
      free(ns_id);
    }
  }
  store_remove(o);
out:
  store_unlock();
  if (k == K_NETWORK) stub_write_end(idstr);
  return hr < 0 ? hr : success(fn, record);
}

/* ---- exports ---- */
#define FAMILY(Name, Plural, K)                                                                                    \
  EXPORT HRESULT HcnEnumerate##Plural(const char16_t *Query, char16_t **Result, char16_t **ErrorRecord) {         \
    return do_enumerate(K, "HcnEnumerate" #Plural, Query, Result, ErrorRecord);                                    \
  }                                                                                                                \
  EXPORT HRESULT HcnOpen##Name(const GUID *Id, void **Handle, char16_t **ErrorRecord) {                            \
    return do_open(K, "HcnOpen" #Name, Id, Handle, ErrorRecord);                                                   \
  }                                                                                                                \
  EXPORT HRESULT HcnModify##Name(void *Handle, const char16_t *Settings, char16_t **ErrorRecord) {                 \
    return do_modify(K, "HcnModify" #Name, Handle, Settings, ErrorRecord);                                         \
  }                                                                                                                \
  EXPORT HRESULT HcnQuery##Name##Properties(void *Handle, const char16_t *Query, char16_t **Properties,            \
                                            char16_t **ErrorRecord) {                                              \
    return do_query(K, "HcnQuery" #Name "Properties", Handle, Query, Properties, ErrorRecord);                     \
  }                                                                                                                \
  EXPORT HRESULT HcnDelete##Name(const GUID *Id, char16_t **ErrorRecord) {                                         \
    return do_delete(K, "HcnDelete" #Name, Id, ErrorRecord);                                                       \
  }                                                                                                                \
  EXPORT HRESULT HcnClose##Name(void *Handle) { return do_close(K, Handle); }

FAMILY(Network, Networks, K_NETWORK)
FAMILY(Endpoint, Endpoints, K_ENDPOINT)
FAMILY(Namespace, Namespaces, K_NAMESPACE)
FAMILY(LoadBalancer, LoadBalancers, K_LOADBALANCER)

EXPORT HRESULT HcnCreateNetwork(const GUID *Id, const char16_t *Settings, void **Network, char16_t **ErrorRecord) {
  return do_create(K_NETWORK, "HcnCreateNetwork", NULL, Id, Settings, Network, ErrorRecord);
}
EXPORT HRESULT HcnCreateEndpoint(void *Network, const GUID *Id, const char16_t *Settings, void **Endpoint,
                                 char16_t **ErrorRecord) {
  return do_create(K_ENDPOINT, "HcnCreateEndpoint", Network, Id, Settings, Endpoint, ErrorRecord);
}
EXPORT HRESULT HcnCreateNamespace(const GUID *Id, const char16_t *Settings, void **Namespace, char16_t **ErrorRecord) {
  return do_create(K_NAMESPACE, "HcnCreateNamespace", NULL, Id, Settings, Namespace, ErrorRecord);
}
EXPORT HRESULT HcnCreateLoadBalancer(const GUID *Id, const char16_t *Settings, void **LoadBalancer,
                                     char16_t **ErrorRecord) {
  return do_create(K_LOADBALANCER, "HcnCreateLoadBalancer", NULL, Id, Settings, LoadBalancer, ErrorRecord);
}
