/*
 * `make -C native check`: drives every export of the stub from several threads at once (as koffi's async
 * workers do) under AddressSanitizer and UndefinedBehaviorSanitizer, and checks the results and that every
 * handed-out string came back through CoTaskMemFree. Exit status 0 = clean.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uchar.h>

typedef int32_t HRESULT;
typedef struct { uint32_t Data1; uint16_t Data2, Data3; uint8_t Data4[8]; } GUID;

HRESULT HcnCreateNetwork(const GUID *, const char16_t *, void **, char16_t **);
HRESULT HcnOpenNetwork(const GUID *, void **, char16_t **);
HRESULT HcnModifyNetwork(void *, const char16_t *, char16_t **);
HRESULT HcnQueryNetworkProperties(void *, const char16_t *, char16_t **, char16_t **);
HRESULT HcnDeleteNetwork(const GUID *, char16_t **);
HRESULT HcnCloseNetwork(void *);
HRESULT HcnEnumerateNetworks(const char16_t *, char16_t **, char16_t **);
HRESULT HcnCreateEndpoint(void *, const GUID *, const char16_t *, void **, char16_t **);
HRESULT HcnModifyEndpoint(void *, const char16_t *, char16_t **);
HRESULT HcnDeleteEndpoint(const GUID *, char16_t **);
HRESULT HcnCloseEndpoint(void *);
HRESULT HcnEnumerateEndpoints(const char16_t *, char16_t **, char16_t **);
HRESULT HcnCreateNamespace(const GUID *, const char16_t *, void **, char16_t **);
HRESULT HcnModifyNamespace(void *, const char16_t *, char16_t **);
HRESULT HcnQueryNamespaceProperties(void *, const char16_t *, char16_t **, char16_t **);
HRESULT HcnDeleteNamespace(const GUID *, char16_t **);
HRESULT HcnCloseNamespace(void *);
HRESULT HcnCreateLoadBalancer(const GUID *, const char16_t *, void **, char16_t **);
HRESULT HcnModifyLoadBalancer(void *, const char16_t *, char16_t **);
HRESULT HcnDeleteLoadBalancer(const GUID *, char16_t **);
HRESULT HcnCloseLoadBalancer(void *);
HRESULT HNSCall(const char16_t *, const char16_t *, const char16_t *, char16_t **);
void CoTaskMemFree(void *);
long HcnStubOutstandingAllocations(void);
long HcnStubBadFrees(void);
int HcnStubOpenHandles(void);
void HcnStubReset(void);
HRESULT HcsOpenComputeSystem(const char16_t *, void **, char16_t **);
HRESULT HcsModifyComputeSystem(void *, const char16_t *, char16_t **);
HRESULT HcsCloseComputeSystem(void *);
int HcsStubCreateComputeSystem(const char *);

static int failures;
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      pthread_mutex_lock(&fail_mu);                        \
      failures++;                                          \
      fprintf(stderr, "check failed: %s: ", #cond);        \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
      pthread_mutex_unlock(&fail_mu);                      \
    }                                                      \
  } while (0)

/* UTF-8 -> malloc'd UTF-16 (BMP and supplementary). */
static char16_t *W(const char *s) {
  size_t n = strlen(s), j = 0;
  char16_t *o = malloc((n + 1) * sizeof *o);
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    uint32_t c = u[i];
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (len == 2) c = ((c & 0x1F) << 6) | (u[i + 1] & 0x3F);
    if (len == 3) c = ((c & 0x0F) << 12) | ((u[i + 1] & 0x3F) << 6) | (u[i + 2] & 0x3F);
    if (len == 4) c = ((c & 0x07) << 18) | ((u[i + 1] & 0x3F) << 12) | ((u[i + 2] & 0x3F) << 6) | (u[i + 3] & 0x3F);
    i += len;
    if (c >= 0x10000) { c -= 0x10000; o[j++] = (char16_t)(0xD800 + (c >> 10)); o[j++] = (char16_t)(0xDC00 + (c & 0x3FF)); }
    else o[j++] = (char16_t)c;
  }
  o[j] = 0;
  return o;
}

/* UTF-16 -> ASCII-ish copy for strstr checks; frees the CoTaskMem string. */
static char *take(char16_t *s) {
  if (!s) return NULL;
  size_t n = 0;
  while (s[n]) n++;
  char *o = malloc(n + 1);
  for (size_t i = 0; i < n; i++) o[i] = s[i] < 128 ? (char)s[i] : '?';
  o[n] = 0;
  CoTaskMemFree(s);
  return o;
}

static HRESULT call_create_network(const char *json, void **h, char **rec) {
  static const GUID zero;
  char16_t *w = W(json), *r = NULL;
  HRESULT hr = HcnCreateNetwork(&zero, w, h, &r);
  free(w);
  *rec = take(r);
  return hr;
}

/* The object's own ID: the last "ID" member (a namespace lists its resources' IDs before its own). */
static int parse_id(const char *doc, GUID *g) {
  /* Query results are in HNS's order: the object's own ID is the first member, nested IDs come later. */
  const char *p = strstr(doc, "\"ID\":\"");
  unsigned d1, d2, d3, b[8];
  if (!p || sscanf(p + 6, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x", &d1, &d2, &d3, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7]) != 11) return 0;
  g->Data1 = d1; g->Data2 = (uint16_t)d2; g->Data3 = (uint16_t)d3;
  for (int i = 0; i < 8; i++) g->Data4[i] = (uint8_t)b[i];
  return 1;
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < 50; i++) {
    char json[256], *rec = NULL;
    void *net = NULL;
    snprintf(json, sizeof json, "{\"Name\":\"net-%d-%d-\xc3\xa9\xf0\x9f\x9a\x80\",\"Type\":\"L2Bridge\",\"Policies\":[]}", t, i);
    HRESULT hr = call_create_network(json, &net, &rec);
    CHECK(hr == 0 && net && !rec, "create network hr=%08x rec=%s", (unsigned)hr, rec ? rec : "");
    free(rec);
    char16_t *q = W(""), *props = NULL, *r = NULL;
    CHECK(HcnQueryNetworkProperties(net, q, &props, &r) == 0, "query");
    char *doc = take(props);
    free(take(r));
    GUID id;
    CHECK(doc && parse_id(doc, &id), "ID in %s", doc ? doc : "(null)");
    free(doc);

    char16_t *mod = W("{\"ResourceType\":\"Policy\",\"RequestType\":\"Add\",\"Settings\":{\"Policies\":[{\"Type\":\"HostRoute\",\"Settings\":{}}]}}");
    CHECK(HcnModifyNetwork(net, mod, &r) == 0, "modify");
    free(take(r));
    CHECK((uint32_t)HcnModifyNetwork(net, mod, &r) == 0x803B0012u, "duplicate policy refused");
    free(take(r));
    free(mod);

    static const GUID zero;
    char16_t *eps = W("{\"Name\":\"ep\",\"IpConfigurations\":[{\"IpAddress\":\"10.0.0.5\"}]}");
    void *ep = NULL;
    CHECK(HcnCreateEndpoint(net, &zero, eps, &ep, &r) == 0 && ep, "create endpoint");
    free(take(r));
    free(eps);
    CHECK((uint32_t)HcnDeleteNetwork(&id, &r) == 0x803B002Cu, "network with endpoint is in use");
    free(take(r));

    void *ns = NULL;
    char16_t *nss = W("{\"Type\":\"Host\"}");
    CHECK(HcnCreateNamespace(&zero, nss, &ns, &r) == 0, "create namespace");
    free(take(r));
    free(nss);
    char *eplist = NULL;
    char filter[200];
    char nid[37];
    snprintf(nid, sizeof nid, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", id.Data1, id.Data2, id.Data3, id.Data4[0], id.Data4[1], id.Data4[2], id.Data4[3], id.Data4[4], id.Data4[5], id.Data4[6], id.Data4[7]);
    snprintf(filter, sizeof filter, "{\"Filter\":\"{\\\"VirtualNetwork\\\":\\\"%s\\\"}\"}", nid);
    char16_t *fw = W(filter), *res = NULL;
    CHECK(HcnEnumerateEndpoints(fw, &res, &r) == 0, "enumerate endpoints");
    free(take(r));
    eplist = take(res);
    free(fw);
    CHECK(eplist && strlen(eplist) == 40, "one endpoint of the network: %s", eplist ? eplist : "");
    char epid[37] = "";
    if (eplist && strlen(eplist) == 40) memcpy(epid, eplist + 2, 36);
    free(eplist);
    char req[200];
    snprintf(req, sizeof req, "{\"ResourceType\":\"Endpoint\",\"RequestType\":\"Add\",\"Settings\":{\"EndpointId\":\"%s\"}}", epid);
    char16_t *rw = W(req);
    CHECK(HcnModifyNamespace(ns, rw, &r) == 0, "attach");
    free(take(r));
    CHECK((uint32_t)HcnModifyNamespace(ns, rw, &r) == 0x803B0014u, "attach twice");
    free(take(r));
    free(rw);
    char16_t *nsq = NULL;
    CHECK(HcnQueryNamespaceProperties(ns, q, &nsq, &r) == 0, "query namespace");
    free(take(r));
    char *nsdoc = take(nsq);
    CHECK(nsdoc && strstr(nsdoc, epid), "namespace lists the endpoint");
    GUID nsid, epg;
    int have_ns = nsdoc && parse_id(nsdoc, &nsid);
    CHECK(have_ns, "namespace ID in %s", nsdoc ? nsdoc : "");
    free(nsdoc);
    CHECK(HcnCloseNamespace(ns) == 0, "close namespace");
    CHECK(HcnCloseEndpoint(ep) == 0, "close endpoint");
    CHECK(HcnCloseNetwork(net) == 0, "close network");
    CHECK((uint32_t)HcnCloseNetwork(net) == 0x80070006u, "double close");
    unsigned d1, d2, d3, b[8];
    if (sscanf(epid, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x", &d1, &d2, &d3, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7]) == 11) {
      epg.Data1 = d1; epg.Data2 = (uint16_t)d2; epg.Data3 = (uint16_t)d3;
      for (int k = 0; k < 8; k++) epg.Data4[k] = (uint8_t)b[k];
      CHECK(HcnDeleteEndpoint(&epg, &r) == 0, "delete endpoint");
      free(take(r));
    }
    CHECK(HcnDeleteNetwork(&id, &r) == 0, "delete network");
    free(take(r));
    if (have_ns) {
      CHECK(HcnDeleteNamespace(&nsid, &r) == 0, "delete namespace");
      free(take(r));
    }
    free(q);

    char16_t *m = W("GET"), *p = W("/globals/version"), *e = W(""), *resp = NULL;
    CHECK(HNSCall(m, p, e, &resp) == 0, "HNSCall");
    char *v = take(resp);
    CHECK(v && strstr(v, "\"Success\":true"), "version envelope %s", v ? v : "");
    free(v);
    free(m); free(p); free(e);
  }
  return NULL;
}

/* A stale handle whose slot has been reused by a later open is E_HANDLE and leaves the new handle alone. */
static void stale_handle(void) {
  char *rec = NULL;
  void *a = NULL, *b = NULL;
  CHECK(call_create_network("{\"Name\":\"stale-a\",\"Type\":\"L2Bridge\"}", &a, &rec) == 0 && a, "create a");
  free(rec);
  char16_t *q = W(""), *props = NULL, *r = NULL;
  CHECK(HcnQueryNetworkProperties(a, q, &props, &r) == 0, "query a");
  GUID ida, idb;
  char *doc = take(props);
  CHECK(doc && parse_id(doc, &ida), "ID of a");
  free(doc);
  free(take(r));
  CHECK(HcnCloseNetwork(a) == 0, "close a");
  CHECK(call_create_network("{\"Name\":\"stale-b\",\"Type\":\"L2Bridge\"}", &b, &rec) == 0 && b, "create b");
  free(rec);
  CHECK(b != a, "a new open never returns a handle value seen before");
  CHECK((uint32_t)HcnCloseNetwork(a) == 0x80070006u, "stale close is E_HANDLE");
  CHECK((uint32_t)HcnQueryNetworkProperties(a, q, &props, &r) == 0x80070006u, "stale query is E_HANDLE");
  free(take(props));
  free(take(r));
  CHECK(HcnQueryNetworkProperties(b, q, &props, &r) == 0, "b still open after the stale close");
  doc = take(props);
  CHECK(doc && parse_id(doc, &idb), "ID of b");
  free(doc);
  free(take(r));
  CHECK(HcnCloseNetwork(b) == 0, "close b");
  CHECK(HcnDeleteNetwork(&ida, &r) == 0, "delete a");
  free(take(r));
  CHECK(HcnDeleteNetwork(&idb, &r) == 0, "delete b");
  free(take(r));
  free(q);
}

/* v1 call returning the envelope text (freed by the caller). */
static char *v1(const char *method, const char *path, const char *body) {
  char16_t *m = W(method), *p = W(path), *b = W(body), *resp = NULL;
  HRESULT hr = HNSCall(m, p, b, &resp);
  free(m); free(p); free(b);
  CHECK(hr == 0, "HNSCall %s %s = 0x%08x", method, path, (unsigned)hr);
  return take(resp);
}

static void v1_id(const char *env, char out[37]) {
  const char *k = strstr(env, "\"ID\":\"");
  out[0] = 0;
  if (k) snprintf(out, 37, "%s", k + 6);
}

/* HNS's endpoint checks (rules.c) and the HCS compute-system functions (hcs.c): results freed, handles closed. */
static void hcs_and_rules(void) {
  char net[37], ep[37], path[80], *t;
  t = v1("POST", "/networks/", "{\"Name\":\"rules\",\"Type\":\"L2Bridge\",\"Subnets\":[{\"AddressPrefix\":\"10.9.0.0/24\",\"GatewayAddress\":\"10.9.0.1\"}]}");
  v1_id(t && strstr(t, "\"Output\"") ? strstr(t, "\"Output\"") : "", net);
  free(t);
  char body[256];
  snprintf(body, sizeof body, "{\"Name\":\"out\",\"VirtualNetwork\":\"%s\",\"IPAddress\":\"10.8.0.5\"}", net);
  t = v1("POST", "/endpoints/", body);
  CHECK(t && strstr(t, "not in any subnet") && !strstr(t, "ErrorCode"), "out-of-subnet refused, Success/Error only: %s", t ? t : "");
  free(t);
  snprintf(body, sizeof body, "{\"Name\":\"in\",\"VirtualNetwork\":\"%s\",\"IPAddress\":\"10.9.0.5\",\"Policies\":[{\"Type\":\"NAT\",\"Protocol\":\"tcp\",\"InternalPort\":80,\"ExternalPort\":8080}]}", net);
  t = v1("POST", "/endpoints/", body);
  CHECK(t && strstr(t, "\"Success\":true"), "endpoint in the subnet: %s", t ? t : "");
  v1_id(t && strstr(t, "\"Output\"") ? strstr(t, "\"Output\"") : "", ep);
  free(t);
  t = v1("POST", "/endpoints/", body);
  CHECK(t && strstr(t, "port already exists"), "same host port refused: %s", t ? t : "");
  free(t);

  char16_t *id = W("missing-container"), *res = NULL;
  void *cs = NULL;
  CHECK((uint32_t)HcsOpenComputeSystem(id, &cs, &res) == 0xC037010Eu && !cs, "missing compute system");
  free(take(res));
  free(id);
  CHECK(HcsStubCreateComputeSystem("pause-0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"), "registry");
  id = W("pause-0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab");
  CHECK(HcsOpenComputeSystem(id, &cs, &res) == 0 && cs, "open compute system");
  free(take(res));
  char req[160];
  snprintf(req, sizeof req, "{\"ResourceType\":\"Network\",\"RequestType\":\"Add\",\"Settings\":\"%s\"}", ep);
  char16_t *wr = W(req);
  CHECK(HcsModifyComputeSystem(cs, wr, &res) == 0 && !res, "hot-add");
  free(wr);
  char16_t *bad = W("{\"ResourceType\":\"Network\",\"RequestType\":\"Add\",\"Settings\":\"00000000-0000-0000-0000-000000000001\"}");
  CHECK(HcsModifyComputeSystem(cs, bad, &res) < 0 && res, "unknown endpoint");
  free(take(res));
  free(bad);
  CHECK(HcsCloseComputeSystem(cs) == 0, "close");
  CHECK((uint32_t)HcsCloseComputeSystem(cs) == 0x80070006u, "closed twice is E_HANDLE");
  free(id);
  snprintf(path, sizeof path, "/endpoints/%s", ep);
  t = v1("GET", path, "");
  CHECK(t && strstr(t, "SharedContainers\":[\"pause-"), "attached: %s", t ? t : "");
  free(t);
  free(v1("DELETE", path, ""));
  snprintf(path, sizeof path, "/networks/%s", net);
  free(v1("DELETE", path, ""));
}

int main(void) {
  enum { THREADS = 4 };
  stale_handle();
  hcs_and_rules();
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  CHECK(HcnStubOutstandingAllocations() == 0, "%ld strings not freed", HcnStubOutstandingAllocations());
  CHECK(HcnStubBadFrees() == 0, "bad frees");
  CHECK(HcnStubOpenHandles() == 0, "%d handles left open", HcnStubOpenHandles());
  char16_t *all = W(""), *ids = NULL, *r = NULL;
  HcnEnumerateNetworks(all, &ids, &r);
  char *left = take(ids);
  CHECK(left && strcmp(left, "[]") == 0, "networks left: %s", left ? left : "");
  free(left);
  free(take(r));
  free(all);
  HcnStubReset();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("stub check: %d threads x 50 rounds clean\n", THREADS);
  return 0;
}
