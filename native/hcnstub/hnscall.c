/*
 * vmcompute.dll!HNSCall(Method, Path, Request, &Response) — HNS v1 (../shared/reference/hcn-api.md §1.7, §8):
 * REST-like paths with v1 JSON, every response an envelope {"Success","Error","Output"} allocated for
 * CoTaskMemFree. Both failure styles HNS shows are reproduced: a failed HRESULT (malformed request) and
 * Success:false with HNS's text ("Element not found.") for absent objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stub.h"

static HRESULT ok(char16_t **response, const char *output_raw) {
  sb_t b = {0};
  sb_puts(&b, "{\"Output\":");
  sb_puts(&b, output_raw ? output_raw : "null");
  sb_puts(&b, ",\"Success\":true}");
  char *t = sb_take(&b);
  stub_respond(response, t);
  free(t);
  return S_OK;
}

/* Success:false with HNS's text only, as hcsshim's hnsResponse reads it (no ErrorCode: callers classify by text). */
static HRESULT failed(char16_t **response, HRESULT code, const char *error) {
  (void)code;
  stub_error_doc(response, "\"Success\":false", "Error", error, NULL);
  return S_OK; /* the call itself succeeded; the envelope carries the failure */
}

/* HRESULT-style failure: no envelope, like hcsshim's "hnsCall failed in Win32: ..." path. */
static HRESULT hard_fail(HRESULT hr) { return hr; }

/* The host adapter's address (HCNSTUB_MANAGEMENT_IP, default TEST-NET-1 192.0.2.10 as the emulator's). */
const char *stub_management_ip(void) {
  const char *v = getenv("HCNSTUB_MANAGEMENT_IP");
  return v && *v ? v : "192.0.2.10";
}

/* Network types whose vSwitch is bound to a host adapter (the others are host-internal: NAT, ICS, Internal, Private). */
int stub_adapter_bound(const char *doc) {
  jspan_t v;
  char *t = json_get(doc, "Type", &v) ? json_string(v) : NULL;
  int bound = t && (strcasecmp(t, "L2Bridge") == 0 || strcasecmp(t, "L2Tunnel") == 0 || strcasecmp(t, "Overlay") == 0 ||
                    strcasecmp(t, "Transparent") == 0);
  free(t);
  return bound;
}

void stub_version(unsigned *major, unsigned *minor) {
  const char *v = getenv("HCNSTUB_HNS_VERSION");
  *major = 15, *minor = 4;
  if (v && *v && sscanf(v, "%u.%u", major, minor) != 2) *major = 15, *minor = 4;
}

int stub_version_at_least(unsigned major, unsigned minor) {
  unsigned a, b;
  stub_version(&a, &b);
  return a > major || (a == major && b >= minor);
}

static char *version_output(void) {
  unsigned major, minor;
  stub_version(&major, &minor);
  sb_t b = {0};
  sb_printf(&b, "{\"Major\":%u,\"Minor\":%u}", major, minor);
  return sb_take(&b);
}

/*
 * HNS shows objects of either API to both (hcn-api.md §8.5). The stub keeps v1 and v2 documents apart but
 * gives v1 callers a read-only v1 view of v2 networks, so a network made with HcnCreateNetwork is found by
 * GET /networks/ and can take v1 endpoints (the win-bridge apiVersion 1 flow).
 */
typedef struct {
  sb_t *b;
  int first;
} v1view_t;

static void route_gateway(jspan_t route, void *ctx) {
  char **gw = ctx;
  jspan_t v;
  if (!*gw && json_span_get(route, "NextHop", &v)) *gw = json_string(v);
}

static void view_subnet(jspan_t subnet, void *ctx) {
  v1view_t *c = ctx;
  jspan_t v;
  char *prefix = json_span_get(subnet, "IpAddressPrefix", &v) ? json_string(v) : NULL;
  char *gw = NULL;
  if (json_span_get(subnet, "Routes", &v)) json_array_each(v, route_gateway, &gw);
  if (prefix) {
    if (!c->first) sb_puts(c->b, ",");
    sb_puts(c->b, "{\"AddressPrefix\":");
    sb_quote(c->b, prefix);
    if (gw) {
      sb_puts(c->b, ",\"GatewayAddress\":");
      sb_quote(c->b, gw);
    }
    sb_puts(c->b, "}");
    c->first = 0;
  }
  free(prefix);
  free(gw);
}

static void view_ipam(jspan_t ipam, void *ctx) {
  jspan_t subnets;
  if (json_span_get(ipam, "Subnets", &subnets)) json_array_each(subnets, view_subnet, ctx);
}

static void view_provider(jspan_t policy, void *ctx) {
  char **mgmt = ctx;
  jspan_t t, st, v;
  char *type = json_span_get(policy, "Type", &t) ? json_string(t) : NULL;
  if (type && strcasecmp(type, "ProviderAddress") == 0 && !*mgmt && json_span_get(policy, "Settings", &st) &&
      json_span_get(st, "ProviderAddress", &v))
    *mgmt = json_string(v);
  free(type);
}

static void v2_network_as_v1(sb_t *b, const char *doc) {
  jspan_t v;
  sb_puts(b, "{");
  int first = 1;
  static const char *const copied[] = {"ID", "Name", "Type", "Flags"};
  for (size_t i = 0; i < sizeof copied / sizeof *copied; i++) {
    if (!json_get(doc, copied[i], &v)) continue;
    if (!first) sb_puts(b, ",");
    sb_quote(b, copied[i]);
    sb_puts(b, ":");
    sb_putn(b, v.start, (size_t)(v.end - v.start));
    first = 0;
  }
  sb_puts(b, first ? "\"Subnets\":[" : ",\"Subnets\":[");
  v1view_t c = {b, 1};
  if (json_get(doc, "Ipams", &v)) json_array_each(v, view_ipam, &c);
  sb_puts(b, "]");
  char *mgmt = NULL;
  if (json_get(doc, "Policies", &v)) json_array_each(v, view_provider, &mgmt);
  if (!mgmt && stub_adapter_bound(doc)) mgmt = strdup(stub_management_ip());
  if (mgmt) {
    sb_puts(b, ",\"ManagementIP\":");
    sb_quote(b, mgmt);
    free(mgmt);
  }
  sb_puts(b, "}");
}

static char *all_docs(kind_t k) {
  sb_t b = {0};
  sb_puts(&b, "[");
  for (obj_t *o = store_first(k); o; o = o->next) {
    if (b.len > 1) sb_puts(&b, ",");
    sb_puts(&b, o->doc);
  }
  if (k == K_V1_NETWORK) {
    for (obj_t *o = store_first(K_NETWORK); o; o = o->next) {
      if (b.len > 1) sb_puts(&b, ",");
      v2_network_as_v1(&b, o->doc);
    }
  }
  sb_puts(&b, "]");
  return sb_take(&b);
}

static char *with_id(const char *doc, const char *id) {
  sb_t q = {0};
  sb_quote(&q, id);
  char *raw = sb_take(&q), *d = json_set(doc, "ID", raw);
  free(raw);
  return d;
}

static char *string_member(const char *doc, const char *key) {
  jspan_t v;
  return json_get(doc, key, &v) ? json_string(v) : NULL;
}

typedef struct {
  const char *id;
  int found;
  sb_t out;
} rl_ctx_t;

static void drop_resource(jspan_t item, void *vctx) {
  rl_ctx_t *c = vctx;
  jspan_t data, idv;
  char *rid = json_span_get(item, "Data", &data) && json_span_get(data, "Id", &idv) ? json_string(idv) : NULL;
  if (rid && strcasecmp(rid, c->id) == 0) c->found = 1;
  else {
    if (c->out.len > 1) sb_puts(&c->out, ",");
    char *t = json_compact(item);
    sb_puts(&c->out, t);
    free(t);
  }
  free(rid);
}

static HRESULT create_checked(kind_t k, const char *body, char16_t **response);

/* A new endpoint gets HNS's fields first (stub_assign_endpoint); then the object is stored as for any kind. */
static HRESULT create(kind_t k, const char *body, char16_t **response) {
  if (!json_valid(body, '{')) return hard_fail(HCN_E_INVALID_JSON);
  if (k != K_V1_ENDPOINT) return create_checked(k, body, response);
  char *net = string_member(body, "VirtualNetwork");
  obj_t *n = net ? store_find(K_V1_NETWORK, net) : NULL;
  if (!n && net) n = store_find(K_NETWORK, net);
  free(net);
  if (!n) return failed(response, ERROR_NOT_FOUND_HR, "Element not found.");
  char why[256], text[400];
  HRESULT hr = stub_check_endpoint(n->doc, body, 0, why, sizeof why);
  char *assigned = hr < 0 ? NULL : stub_assign_endpoint(n->doc, body, 0, &hr, why, sizeof why);
  if (!assigned) {
    snprintf(text, sizeof text, "%s %s", stub_hr_message(hr), why);
    return failed(response, hr, text);
  }
  hr = create_checked(k, assigned, response);
  free(assigned);
  return hr;
}

static HRESULT create_checked(kind_t k, const char *body, char16_t **response) {
  if (k == K_V1_NETWORK) {
    char *name = string_member(body, "Name");
    for (obj_t *o = store_first(k); name && o; o = o->next) {
      char *other = string_member(o->doc, "Name");
      int dup = other && strcasecmp(other, name) == 0;
      free(other);
      if (dup) {
        free(name);
        return hard_fail(HCN_E_NETWORK_ALREADY_EXISTS);
      }
    }
    free(name);
  }
  GUID g;
  char *with_mgmt = NULL;
  jspan_t mv;
  if (k == K_V1_NETWORK && stub_adapter_bound(body) && !json_get(body, "ManagementIP", &mv)) {
    /* HNS reports the address of the adapter the network's vSwitch is bound to (hcsshim HNSNetwork.ManagementIP). */
    sb_t q = {0};
    sb_quote(&q, stub_management_ip());
    char *raw = sb_take(&q);
    body = with_mgmt = json_set(body, "ManagementIP", raw);
    free(raw);
  }
  char id[37];
  char *given = string_member(body, "ID");
  if (given && *given) {
    if (!guid_parse(given, &g)) { free(given); free(with_mgmt); return hard_fail((HRESULT)0x803B0019u); }
    guid_format(&g, id);
    if (store_find(k, id)) { free(given); free(with_mgmt); return hard_fail(ERROR_ALREADY_EXISTS_HR); }
  } else {
    do guid_generate(&g), guid_format(&g, id);
    while (store_find(k, id));
  }
  free(given);
  char *doc = with_id(body, id);
  free(with_mgmt);
  if (k == K_V1_NAMESPACE) {
    jspan_t v;
    if (!json_get(doc, "ResourceList", &v)) { char *d = json_set(doc, "ResourceList", "[]"); free(doc); doc = d; }
  }
  obj_t *o = store_add(k, id, doc);
  return ok(response, o->doc);
}

static void merge(const char *key, jspan_t val, void *ctx) {
  obj_t *o = *(obj_t **)ctx;
  if (strcasecmp(key, "ID") == 0) return;
  char *raw = span_dup(val);
  store_set_doc(o, json_set(o->doc, key, raw));
  free(raw);
}

/*
 * POST /endpoints/<id>/attach|detach. SystemType Container records the container in SharedContainers (the
 * endpoint is Attached, State 2, while any container uses it); SystemType Host toggles the host attachment
 * (kept in the stub-only member HcnStubHostAttached; HNS has no such field).
 * Attaching twice is HCN_E_ENDPOINT_ALREADY_ATTACHED (flannel treats its text as success); detaching what
 * is not attached is HCN_E_ENDPOINT_NOT_ATTACHED.
 */
static HRESULT attach_detach(obj_t *o, int attach, const char *body, char16_t **response) {
  jspan_t v;
  char *system = json_get(body, "SystemType", &v) ? json_string(v) : NULL;
  char *container = json_get(body, "ContainerId", &v) ? json_string(v) : NULL;
  int is_container = container && *container && (!system || strcasecmp(system, "Container") == 0);
  int is_host = system && strcasecmp(system, "Host") == 0;
  HRESULT hr;
  if (!is_container && !is_host) {
    hr = failed(response, HCN_E_REQUEST_UNSUPPORTED, "SystemType must be Container (with ContainerId) or Host.");
  } else if (is_container) {
    int found = stub_has_shared_container(o, container);
    if (attach && found) {
      hr = failed(response, HCN_E_ENDPOINT_ALREADY_ATTACHED, "This endpoint is already attached to the switch.");
    } else if (!attach && !found) {
      hr = failed(response, HCN_E_ENDPOINT_NOT_ATTACHED, "The endpoint must be attached.");
    } else {
      stub_set_shared_container(o, container, attach);
      hr = ok(response, o->doc);
    }
  } else {
    jspan_t h;
    int attached = json_get(o->doc, "HcnStubHostAttached", &h) && strncmp(h.start, "true", 4) == 0;
    if (attach && attached) hr = failed(response, HCN_E_ENDPOINT_ALREADY_ATTACHED, "This endpoint is already attached to the switch.");
    else if (!attach && !attached) hr = failed(response, HCN_E_ENDPOINT_NOT_ATTACHED, "The endpoint must be attached.");
    else {
      store_set_doc(o, json_set(o->doc, "HcnStubHostAttached", attach ? "true" : NULL));
      store_set_doc(o, json_set(o->doc, "State", attach ? "2" : "1"));
      hr = ok(response, o->doc);
    }
  }
  free(system);
  free(container);
  return hr;
}

static HRESULT route(const char *method, const char *path, const char *body, char16_t **response) {
  /* "/networks/<id>/<action>" -> segments */
  char buf[512];
  snprintf(buf, sizeof buf, "%s", path);
  char *seg[4] = {0};
  int n = 0;
  for (char *s = strtok(buf, "/"); s && n < 4; s = strtok(NULL, "/")) seg[n++] = s;
  if (n == 0) return hard_fail(E_INVALIDARG);
  if (strcasecmp(seg[0], "globals") == 0 && n == 2 && strcasecmp(seg[1], "version") == 0 && strcmp(method, "GET") == 0) {
    char *v = version_output();
    HRESULT hr = ok(response, v);
    free(v);
    return hr;
  }
  if (strcasecmp(seg[0], "endpointstats") == 0 && n == 2 && strcmp(method, "GET") == 0) {
    /* hcsshim GetHNSEndpointStats: counters of a v1 or v2 endpoint (no packets cross the stub: all zero). */
    obj_t *ep = store_find(K_V1_ENDPOINT, seg[1]);
    if (!ep) ep = store_find(K_ENDPOINT, seg[1]);
    if (!ep) return failed(response, ERROR_NOT_FOUND_HR, "Element not found.");
    sb_t b = {0};
    sb_puts(&b, "{\"BytesReceived\":0,\"BytesSent\":0,\"DroppedPacketsIncoming\":0,\"DroppedPacketsOutgoing\":0,\"EndpointID\":");
    sb_quote(&b, ep->id);
    sb_puts(&b, ",\"InstanceID\":");
    sb_quote(&b, ep->id);
    sb_puts(&b, ",\"PacketsReceived\":0,\"PacketsSent\":0}");
    char *out = sb_take(&b);
    HRESULT hr = ok(response, out);
    free(out);
    return hr;
  }
  kind_t k;
  if (strcasecmp(seg[0], "networks") == 0) k = K_V1_NETWORK;
  else if (strcasecmp(seg[0], "endpoints") == 0) k = K_V1_ENDPOINT;
  else if (strcasecmp(seg[0], "policylists") == 0) k = K_V1_POLICYLIST;
  else if (strcasecmp(seg[0], "namespaces") == 0) k = K_V1_NAMESPACE;
  else return hard_fail(E_INVALIDARG);

  if (n == 1) {
    if (strcmp(method, "GET") == 0) {
      char *all = all_docs(k);
      HRESULT hr = ok(response, all);
      free(all);
      return hr;
    }
    if (strcmp(method, "POST") == 0) return create(k, body, response);
    return hard_fail(E_INVALIDARG);
  }
  obj_t *o = store_find(k, seg[1]);
  if (!o && k == K_V1_NETWORK && n == 2 && strcmp(method, "GET") == 0 && (o = store_find(K_NETWORK, seg[1]))) {
    sb_t b = {0};
    v2_network_as_v1(&b, o->doc);
    char *view = sb_take(&b);
    HRESULT hr = ok(response, view);
    free(view);
    return hr;
  }
  if (!o) return failed(response, ERROR_NOT_FOUND_HR, "Element not found.");
  if (n == 2 && strcmp(method, "GET") == 0) return ok(response, o->doc);
  if (n == 2 && strcmp(method, "DELETE") == 0) {
    if (k == K_V1_NETWORK) {
      for (obj_t *e = store_first(K_V1_ENDPOINT); e; e = e->next) {
        char *net = string_member(e->doc, "VirtualNetwork");
        int ref = net && strcasecmp(net, o->id) == 0;
        free(net);
        if (ref) return failed(response, HCN_E_ENTITY_HAS_REFERENCES, "The entity still has references.");
      }
    }
    if (k == K_V1_ENDPOINT) {
      jspan_t nsv, nid;
      char *ns_id = json_get(o->doc, "Namespace", &nsv) && json_span_get(nsv, "ID", &nid) ? json_string(nid) : NULL;
      obj_t *ns = ns_id ? store_find(K_V1_NAMESPACE, ns_id) : NULL;
      if (ns) {
        rl_ctx_t c = {o->id, 0, {0}};
        sb_puts(&c.out, "[");
        jspan_t rl;
        if (json_get(ns->doc, "ResourceList", &rl) && !span_is_null(rl)) json_array_each(rl, drop_resource, &c);
        sb_puts(&c.out, "]");
        char *arr = sb_take(&c.out);
        store_set_doc(ns, json_set(ns->doc, "ResourceList", arr));
        free(arr);
      }
      free(ns_id);
    }
    if (k == K_V1_NAMESPACE) {
      for (obj_t *e = store_first(K_V1_ENDPOINT); e; e = e->next) {
        jspan_t nsv, nid;
        char *ns_id = json_get(e->doc, "Namespace", &nsv) && json_span_get(nsv, "ID", &nid) ? json_string(nid) : NULL;
        if (ns_id && strcasecmp(ns_id, o->id) == 0) store_set_doc(e, json_set(e->doc, "Namespace", NULL));
        free(ns_id);
      }
    }
    char *doc = strdup(o->doc);
    store_remove(o);
    HRESULT hr = ok(response, doc);
    free(doc);
    return hr;
  }
  if (n == 2 && strcmp(method, "POST") == 0) {
    /* Update: HNS merges the given top-level members into the object (SDN-psm1 Set-HnsSwitchExtension,
     * hcsshim HNSEndpoint.Update sends the whole object). */
    if (!json_valid(body, '{')) return hard_fail(HCN_E_INVALID_JSON);
    jspan_t whole = {body, body + strlen(body)};
    json_object_each(whole, merge, &o);
    return ok(response, o->doc);
  }
  if (n == 3 && strcmp(method, "POST") == 0 && k == K_V1_ENDPOINT &&
      (strcasecmp(seg[2], "attach") == 0 || strcasecmp(seg[2], "detach") == 0)) {
    if (!json_valid(body, '{')) return hard_fail(HCN_E_INVALID_JSON);
    return attach_detach(o, strcasecmp(seg[2], "attach") == 0, body, response);
  }
  if (n == 3 && strcmp(method, "POST") == 0 && k == K_V1_NAMESPACE &&
      (strcasecmp(seg[2], "addresource") == 0 || strcasecmp(seg[2], "removeresource") == 0)) {
    if (!json_valid(body, '{')) return hard_fail(HCN_E_INVALID_JSON);
    jspan_t data, idv, tv;
    char *rid = json_get(body, "Data", &data) && json_span_get(data, "Id", &idv) ? json_string(idv) : NULL;
    if (!rid) return hard_fail(E_INVALIDARG);
    char *rtype = json_get(body, "Type", &tv) ? json_string(tv) : NULL;
    int is_ep = !rtype || strcasecmp(rtype, "Endpoint") == 0;
    obj_t *ep = is_ep ? store_find(K_V1_ENDPOINT, rid) : NULL;
    rl_ctx_t c = {rid, 0, {0}};
    sb_puts(&c.out, "[");
    jspan_t rl;
    if (json_get(o->doc, "ResourceList", &rl) && !span_is_null(rl)) json_array_each(rl, drop_resource, &c);
    int add = strcasecmp(seg[2], "addresource") == 0;
    HRESULT hr;
    jspan_t cur;
    if (add && is_ep && !ep) {
      hr = failed(response, ERROR_NOT_FOUND_HR, "Element not found.");
    } else if (add && (c.found || (ep && json_get(ep->doc, "Namespace", &cur) && !span_is_null(cur)))) {
      hr = failed(response, HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, "The endpoint is already in a namespace.");
    } else if (!add && !c.found) {
      hr = failed(response, ERROR_NOT_FOUND_HR, "Element not found.");
    } else {
      if (add) {
        if (c.out.len > 1) sb_puts(&c.out, ",");
        sb_puts(&c.out, "{\"Type\":");
        sb_quote(&c.out, rtype ? rtype : "Endpoint");
        sb_puts(&c.out, ",\"Data\":{\"Id\":");
        sb_quote(&c.out, ep ? ep->id : rid);
        sb_puts(&c.out, "}}");
      }
      sb_puts(&c.out, "]");
      char *arr = sb_take(&c.out);
      store_set_doc(o, json_set(o->doc, "ResourceList", arr));
      free(arr);
      if (ep) {
        /* The endpoint records its namespace, as v1 GET /endpoints/<id> shows it (Namespace.ID). */
        sb_t q = {0};
        sb_puts(&q, "{\"ID\":");
        sb_quote(&q, o->id);
        sb_puts(&q, "}");
        char *raw = sb_take(&q);
        store_set_doc(ep, json_set(ep->doc, "Namespace", add ? raw : NULL));
        free(raw);
      }
      hr = ok(response, o->doc);
    }
    free(c.out.p);
    free(rid);
    free(rtype);
    return hr;
  }
  return hard_fail(E_INVALIDARG);
}

EXPORT HRESULT HNSCall(const char16_t *Method, const char16_t *Path, const char16_t *Request, char16_t **Response) {
  if (Response) *Response = NULL;
  stub_maybe_hang("HNSCall");
  if (!Method || !Path || !Response) return E_POINTER;
  char *method = stub_utf16_to_utf8(Method), *path = stub_utf16_to_utf8(Path), *body = stub_utf16_to_utf8(Request);
  HRESULT hr;
  if (!method || !path || !body) hr = E_INVALIDARG;
  else {
    store_lock();
    hr = route(method, path, body, Response);
    store_unlock();
  }
  free(method);
  free(path);
  free(body);
  return hr;
}
