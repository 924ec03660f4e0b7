/*
 * Query results as HNS gives them: HNS parses a create document into its schema objects and serialises those
 * back, so a caller gets the members of the resource's schema in the schema's order (the field order of
 * hcsshim's hcn structs, which mirror HNS_Schema), in HNS's spelling, without members the schema lacks, and
 * integers as HNS stores them (Version a uint64, never through a double). The stored document is left as the
 * stub keeps it (the v1 views and modify paths read it); only what a query hands back is rebuilt here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "stub.h"

/*
 * Per kind, the top-level members in emitted order. hcsshim's structs give the order of the members they have
 * (hcn/hcnnetwork.go, hcnendpoint.go, hcnnamespace.go, hcnloadbalancer.go); the HNS_Schema Base members
 * hcsshim does not model (Owner, Version, AdditionalParams, State) follow Name and close the document, as
 * Base lists them [inferred: HNS's own order for those is not published].
 */
static const char *const NETWORK_KEYS[] = {"ID", "Name", "Owner", "Version", "AdditionalParams", "Type", "Policies", "MacPool",
                                           "Dns", "Ipams", "Flags", "Health", "SchemaVersion", "State", NULL};
static const char *const ENDPOINT_KEYS[] = {"ID", "Name", "Owner", "Version", "AdditionalParams", "HostComputeNetwork",
                                            "HostComputeNamespace", "Policies", "IpConfigurations", "Dns", "Routes",
                                            "MacAddress", "Flags", "Health", "SchemaVersion", "State", NULL};
static const char *const NAMESPACE_KEYS[] = {"ID", "Name", "Owner", "Version", "AdditionalParams", "NamespaceId",
                                             "NamespaceGuid", "Type", "Resources", "Health", "SchemaVersion",
                                             "ReadyOnCreate", "State", NULL};
static const char *const LOADBALANCER_KEYS[] = {"ID", "Name", "Owner", "Version", "AdditionalParams", "HostComputeEndpoints",
                                                "SourceVIP", "FrontendVIPs", "PortMappings", "Health", "SchemaVersion",
                                                "Flags", "State", NULL};

static const char *const *keys_of(kind_t k) {
  switch (k) {
    case K_NETWORK: return NETWORK_KEYS;
    case K_ENDPOINT: return ENDPOINT_KEYS;
    case K_NAMESPACE: return NAMESPACE_KEYS;
    case K_LOADBALANCER: return LOADBALANCER_KEYS;
    default: return NULL;
  }
}

/* A non-negative JSON integer that fits a uint64 is printed from the parsed value (HNS's uint64 fields). */
static void emit_value(sb_t *b, jspan_t v) {
  const char *p = v.start;
  size_t n = (size_t)(v.end - v.start);
  int integer = n > 0 && n <= 20;
  for (size_t i = 0; integer && i < n; i++) integer = p[i] >= '0' && p[i] <= '9';
  if (integer) {
    char digits[21];
    memcpy(digits, p, n);
    digits[n] = 0;
    errno = 0;
    unsigned long long u = strtoull(digits, NULL, 10);
    if (errno == 0) {
      sb_printf(b, "%" PRIu64, (uint64_t)u);
      return;
    }
  }
  sb_putn(b, p, n);
}

char *stub_reserialise(kind_t k, const char *doc) {
  const char *const *keys = keys_of(k);
  if (!keys) return strdup(doc);
  sb_t b = {0};
  sb_puts(&b, "{");
  int first = 1;
  for (; *keys; keys++) {
    jspan_t v;
    if (!json_get(doc, *keys, &v)) continue;
    if (!first) sb_puts(&b, ",");
    sb_quote(&b, *keys);
    sb_puts(&b, ":");
    emit_value(&b, v);
    first = 0;
  }
  sb_puts(&b, "}");
  return sb_take(&b);
}
