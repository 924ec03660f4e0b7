/*
 * vmcompute.dll's HCS compute-system functions the apiVersion-1 container attach uses (hcsshim
 * HotAttachEndpoint/HotDetachEndpoint → modifyNetworkEndpoint): HcsOpenComputeSystem, HcsModifyComputeSystem
 * with {"ResourceType":"Network","RequestType":"Add"|"Remove","Settings":"<endpoint id>"}, HcsCloseComputeSystem.
 * Compute systems live in a small registry that tests fill through HcsStubCreateComputeSystem /
 * HcsStubRemoveComputeSystem (container IDs are 64 hex digits, longer than the store's GUID keys). A network
 * hot-add records the container in the v1 endpoint's SharedContainers, as HNS shows an attached container.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stub.h"

#define HCS_E_SYSTEM_NOT_FOUND ((HRESULT)0xC037010Eu)
#define HCS_E_INVALID_JSON ((HRESULT)0xC037010Du)
#define K_COMPUTE_SYSTEM ((kind_t)K_COUNT) /* a handle kind only: compute systems are not in the store */
#define MAX_SYSTEMS 256

static struct {
  int live;
  char id[160];
} systems[MAX_SYSTEMS];

static int find_system(const char *id) {
  for (int i = 0; i < MAX_SYSTEMS; i++)
    if (systems[i].live && strcasecmp(systems[i].id, id) == 0) return i;
  return -1;
}

/* HCS's result document on failure (hcsshim processHcsResult reads Error and ErrorMessage). */
static HRESULT hcs_fail(char16_t **result, HRESULT hr, const char *msg) {
  char lead[32];
  snprintf(lead, sizeof lead, "\"Error\":%d", (int)hr);
  stub_error_doc(result, lead, "ErrorMessage", msg, NULL);
  return hr;
}

EXPORT int HcsStubCreateComputeSystem(const char *id) {
  store_lock();
  int ok = 0;
  if (id && *id && strlen(id) < sizeof systems[0].id && find_system(id) < 0) {
    for (int i = 0; i < MAX_SYSTEMS && !ok; i++)
      if (!systems[i].live) systems[i].live = 1, snprintf(systems[i].id, sizeof systems[i].id, "%s", id), ok = 1;
  }
  store_unlock();
  return ok;
}

EXPORT int HcsStubRemoveComputeSystem(const char *id) {
  store_lock();
  int i = id ? find_system(id) : -1;
  if (i >= 0) systems[i].live = 0;
  store_unlock();
  return i >= 0;
}

EXPORT HRESULT HcsOpenComputeSystem(const char16_t *Id, void **ComputeSystem, char16_t **Result) {
  if (ComputeSystem) *ComputeSystem = NULL;
  if (Result) *Result = NULL;
  stub_maybe_hang("HcsOpenComputeSystem");
  if (!Id || !ComputeSystem) return E_POINTER;
  char *id = stub_utf16_to_utf8(Id);
  if (!id) return E_INVALIDARG;
  HRESULT hr = S_OK;
  store_lock();
  int i = find_system(id);
  char slot[16];
  snprintf(slot, sizeof slot, "%d", i);
  if (i < 0) hr = hcs_fail(Result, HCS_E_SYSTEM_NOT_FOUND, "A virtual machine or container with the specified identifier does not exist.");
  else if (!(*ComputeSystem = handle_open(K_COMPUTE_SYSTEM, slot))) hr = hcs_fail(Result, (HRESULT)0x8007000Eu, "out of handles");
  store_unlock();
  free(id);
  return hr;
}

typedef struct {
  const char *container;
  int found;
  sb_t out;
} containers_t;

static void keep_other(jspan_t item, void *vctx) {
  containers_t *c = vctx;
  char *v = json_string(item);
  if (v && strcasecmp(v, c->container) == 0) c->found = 1;
  else if (v) {
    if (c->out.len > 1) sb_puts(&c->out, ",");
    sb_quote(&c->out, v);
  }
  free(v);
}

/*
 * Adds or removes the container in the endpoint's SharedContainers (State 2 while any container uses it);
 * returns whether it was there before. Shared by HCS hot-add and HNSCall attach/detach.
 */
int stub_set_shared_container(obj_t *ep, const char *container, int add) {
  containers_t c = {container, 0, {0}};
  sb_puts(&c.out, "[");
  jspan_t cur;
  if (json_get(ep->doc, "SharedContainers", &cur) && !span_is_null(cur)) json_array_each(cur, keep_other, &c);
  if (add) {
    if (c.out.len > 1) sb_puts(&c.out, ",");
    sb_quote(&c.out, container);
  }
  sb_puts(&c.out, "]");
  int any = c.out.len > 2;
  char *arr = sb_take(&c.out);
  store_set_doc(ep, json_set(ep->doc, "SharedContainers", arr));
  free(arr);
  store_set_doc(ep, json_set(ep->doc, "State", any ? "2" : "1"));
  return c.found;
}

/* Whether the container is in the endpoint's SharedContainers. */
int stub_has_shared_container(obj_t *ep, const char *container) {
  containers_t c = {container, 0, {0}};
  jspan_t cur;
  if (json_get(ep->doc, "SharedContainers", &cur) && !span_is_null(cur)) json_array_each(cur, keep_other, &c);
  free(c.out.p);
  return c.found;
}

EXPORT HRESULT HcsModifyComputeSystem(void *ComputeSystem, const char16_t *Configuration, char16_t **Result) {
  if (Result) *Result = NULL;
  stub_maybe_hang("HcsModifyComputeSystem");
  char *cfg = stub_utf16_to_utf8(Configuration);
  if (!cfg) return E_INVALIDARG;
  HRESULT hr = S_OK;
  jspan_t v;
  char *resource = NULL, *request = NULL, *endpoint = NULL;
  store_lock();
  const char *slot = handle_id(ComputeSystem, K_COMPUTE_SYSTEM);
  int i = slot ? atoi(slot) : -1;
  if (!slot) {
    hr = E_HANDLE;
  } else if (!systems[i].live) {
    hr = hcs_fail(Result, HCS_E_SYSTEM_NOT_FOUND, "A virtual machine or container with the specified identifier does not exist.");
  } else if (!json_valid(cfg, '{')) {
    hr = hcs_fail(Result, HCS_E_INVALID_JSON, "The JSON document is invalid.");
  } else {
    resource = json_get(cfg, "ResourceType", &v) ? json_string(v) : NULL;
    request = json_get(cfg, "RequestType", &v) ? json_string(v) : NULL;
    endpoint = json_get(cfg, "Settings", &v) ? json_string(v) : NULL;
    int add = request && strcasecmp(request, "Add") == 0, remove = request && strcasecmp(request, "Remove") == 0;
    obj_t *ep = endpoint ? store_find(K_V1_ENDPOINT, endpoint) : NULL;
    if (!resource || strcasecmp(resource, "Network") != 0 || (!add && !remove) || !endpoint)
      hr = hcs_fail(Result, E_INVALIDARG, "ResourceType must be Network, RequestType Add or Remove, Settings the endpoint ID.");
    else if (!ep)
      hr = hcs_fail(Result, ERROR_NOT_FOUND_HR, "Element not found.");
    else
      stub_set_shared_container(ep, systems[i].id, add);
  }
  store_unlock();
  free(resource);
  free(request);
  free(endpoint);
  free(cfg);
  return hr;
}

EXPORT HRESULT HcsCloseComputeSystem(void *ComputeSystem) {
  store_lock();
  int ok = handle_close(ComputeSystem, K_COMPUTE_SYSTEM);
  store_unlock();
  return ok ? S_OK : E_HANDLE;
}

void stub_hcs_reset(void) {
  memset(systems, 0, sizeof systems);
}
