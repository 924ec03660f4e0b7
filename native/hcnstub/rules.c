/*
 * HNS's own checks on a new endpoint, applied by both APIs (HcnCreateEndpoint and HNSCall POST /endpoints/),
 * because on a real host both see the same objects (docs/windows.md, "Strictness cases"):
 *  - an address outside every subnet of the network is HCN_E_INVALID_IP (remote endpoints excepted: they stand
 *    for pods on other hosts);
 *  - a host port already mapped (same protocol, same VIP) by another endpoint is HCN_E_PORT_ALREADY_EXISTS;
 *  - a v2 endpoint policy of a type HNS does not know is HCN_E_INVALID_POLICY_TYPE, one whose Settings is not an
 *    object HCN_E_INVALID_POLICY.
 * Documents are read in either form: v2 (IpConfigurations, Ipams[].Subnets[].IpAddressPrefix, PortMapping
 * Settings) or v1 (IPAddress/IPv6Address, Subnets[].AddressPrefix, NAT policies with a protocol name).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stub.h"

typedef struct {
  int family; /* AF_INET or AF_INET6 */
  unsigned char b[16];
} addr_t;

static int parse_addr(const char *s, addr_t *a) {
  memset(a, 0, sizeof *a);
  if (inet_pton(AF_INET, s, a->b) == 1) return a->family = AF_INET, 1;
  if (inet_pton(AF_INET6, s, a->b) == 1) return a->family = AF_INET6, 1;
  return 0;
}

/* "10.0.0.0/24" contains ip (same family, first `len` bits equal). */
static int prefix_contains(const char *prefix, const addr_t *ip) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", prefix);
  char *slash = strchr(buf, '/');
  if (!slash) return 0;
  *slash = 0;
  addr_t net;
  if (!parse_addr(buf, &net) || net.family != ip->family) return 0;
  int max = net.family == AF_INET ? 32 : 128;
  char *end;
  long len = strtol(slash + 1, &end, 10);
  if (*end || len < 0 || len > max) return 0;
  for (long bit = 0; bit < len; bit++) {
    int mask = 0x80 >> (bit % 8);
    if ((net.b[bit / 8] & mask) != (ip->b[bit / 8] & mask)) return 0;
  }
  return 1;
}

/* ---- the network's subnets (v2 Ipams[].Subnets[].IpAddressPrefix or v1 Subnets[].AddressPrefix) ---- */
typedef struct {
  char *prefixes[32];
  int n;
} prefixes_t;

static void add_prefix(prefixes_t *p, jspan_t s, const char *key) {
  jspan_t v;
  if (p->n < 32 && json_span_get(s, key, &v)) {
    char *t = json_string(v);
    if (t) p->prefixes[p->n++] = t;
  }
}
static void v2_subnet(jspan_t s, void *ctx) { add_prefix(ctx, s, "IpAddressPrefix"); }
static void v1_subnet(jspan_t s, void *ctx) { add_prefix(ctx, s, "AddressPrefix"); }
static void v2_ipam(jspan_t ipam, void *ctx) {
  jspan_t subs;
  if (json_span_get(ipam, "Subnets", &subs) && !span_is_null(subs)) json_array_each(subs, v2_subnet, ctx);
}

static void network_prefixes(const char *net, prefixes_t *p) {
  jspan_t v;
  if (json_get(net, "Ipams", &v) && !span_is_null(v)) json_array_each(v, v2_ipam, p);
  if (json_get(net, "Subnets", &v) && !span_is_null(v)) json_array_each(v, v1_subnet, p);
}

/* ---- the endpoint's addresses ---- */
typedef struct {
  char *ips[8];
  int n;
} ips_t;

static void add_ip(ips_t *a, char *s) {
  if (s && *s && a->n < 8) a->ips[a->n++] = s;
  else free(s);
}
static void v2_ipconfig(jspan_t c, void *ctx) {
  jspan_t v;
  if (json_span_get(c, "IpAddress", &v)) add_ip(ctx, json_string(v));
}

static void endpoint_ips(const char *ep, ips_t *a) {
  jspan_t v;
  if (json_get(ep, "IpConfigurations", &v) && !span_is_null(v)) json_array_each(v, v2_ipconfig, a);
  if (json_get(ep, "IPAddress", &v)) add_ip(a, json_string(v));
  if (json_get(ep, "IPv6Address", &v)) add_ip(a, json_string(v));
}

static int is_remote(const char *ep) {
  jspan_t v;
  if (json_get(ep, "Flags", &v) && !span_is_null(v) && (atoi(v.start) & 1)) return 1;
  return json_get(ep, "IsRemoteEndpoint", &v) && v.end - v.start == 4 && strncmp(v.start, "true", 4) == 0;
}

/* ---- port mappings: (protocol number, external port, VIP) ---- */
typedef struct {
  int proto, port;
  char vip[48];
} hostport_t;

typedef struct {
  hostport_t m[32];
  int n;
} hostports_t;

static int protocol_number(jspan_t v) {
  char *s = json_string(v);
  int n;
  if (!s) n = atoi(v.start); /* a JSON number */
  else if (strcasecmp(s, "tcp") == 0) n = 6;
  else if (strcasecmp(s, "udp") == 0) n = 17;
  else n = atoi(s);
  free(s);
  return n;
}

static void collect_mapping(jspan_t policy, void *ctx) {
  hostports_t *h = ctx;
  jspan_t t, s, v;
  char *type = json_span_get(policy, "Type", &t) ? json_string(t) : NULL;
  int v2 = type && strcasecmp(type, "PortMapping") == 0, v1 = type && strcasecmp(type, "NAT") == 0;
  free(type);
  if ((!v2 && !v1) || h->n >= 32) return;
  jspan_t body = policy;
  if (v2 && !(json_span_get(policy, "Settings", &s) && *s.start == '{')) return;
  if (v2) body = s;
  hostport_t m = {0};
  if (!json_span_get(body, "ExternalPort", &v) || (m.port = atoi(v.start)) <= 0) return;
  m.proto = json_span_get(body, "Protocol", &v) ? protocol_number(v) : 6;
  char *vip = v2 && json_span_get(body, "VIP", &v) ? json_string(v) : NULL;
  if (vip) snprintf(m.vip, sizeof m.vip, "%s", vip);
  free(vip);
  h->m[h->n++] = m;
}

static void endpoint_hostports(const char *ep, hostports_t *h) {
  jspan_t v;
  if (json_get(ep, "Policies", &v) && !span_is_null(v)) json_array_each(v, collect_mapping, h);
}

/* ---- v2 policy types ---- */
static const char *const ENDPOINT_POLICY_TYPES[] = {
    "PortMapping", "ACL", "QOS", "L2Driver", "OutBoundNAT", "SDNRoute", "L4Proxy", "L4WFPPROXY", "PortName",
    "EncapOverhead", "Iov", "ProviderAddress", "InterfaceConstraint", "TierAcl", "VLAN", "InterfaceParameters",
    "Encryption"};

typedef struct {
  HRESULT hr;
  char *why;
  size_t n;
  int index;
} ptype_ctx_t;

static void check_policy_type(jspan_t policy, void *vctx) {
  ptype_ctx_t *c = vctx;
  int i = c->index++;
  if (c->hr < 0) return;
  jspan_t t, s;
  char *type = json_span_get(policy, "Type", &t) ? json_string(t) : NULL;
  int known = 0;
  for (size_t k = 0; type && k < sizeof ENDPOINT_POLICY_TYPES / sizeof *ENDPOINT_POLICY_TYPES; k++)
    if (strcasecmp(type, ENDPOINT_POLICY_TYPES[k]) == 0) known = 1;
  if (!known)
    c->hr = HCN_E_INVALID_POLICY_TYPE, snprintf(c->why, c->n, "(Policies[%d]: endpoint policy type \"%s\" is not one HNS knows)", i,
                                                type ? type : "");
  else if (json_span_get(policy, "Settings", &s) && !span_is_null(s) && *s.start != '{')
    c->hr = HCN_E_INVALID_POLICY, snprintf(c->why, c->n, "(Policies[%d].Settings of %s must be an object)", i, type);
  free(type);
}

HRESULT stub_check_endpoint(const char *net, const char *ep, int v2, char *why, size_t n) {
  HRESULT hr = S_OK;
  jspan_t pol;
  *why = 0;
  if (v2 && json_get(ep, "Policies", &pol) && !span_is_null(pol)) {
    ptype_ctx_t c = {S_OK, why, n, 0};
    if (json_array_each(pol, check_policy_type, &c) < 0) return snprintf(why, n, "(Policies must be an array)"), HCN_E_INVALID_POLICY;
    if (c.hr < 0) return c.hr;
  }

  prefixes_t p = {0};
  ips_t a = {0};
  network_prefixes(net, &p);
  endpoint_ips(ep, &a);
  for (int i = 0; hr >= 0 && i < a.n && p.n > 0 && !is_remote(ep); i++) {
    addr_t ip;
    int inside = 0;
    if (!parse_addr(a.ips[i], &ip)) {
      hr = HCN_E_INVALID_IP, snprintf(why, n, "(\"%s\" is not an IP address)", a.ips[i]);
      break;
    }
    for (int j = 0; j < p.n && !inside; j++) inside = prefix_contains(p.prefixes[j], &ip);
    if (!inside) hr = HCN_E_INVALID_IP, snprintf(why, n, "(%s is not in any subnet of the network)", a.ips[i]);
  }
  for (int i = 0; i < p.n; i++) free(p.prefixes[i]);
  for (int i = 0; i < a.n; i++) free(a.ips[i]);
  if (hr < 0) return hr;

  hostports_t mine = {0};
  endpoint_hostports(ep, &mine);
  static const kind_t KINDS[] = {K_ENDPOINT, K_V1_ENDPOINT};
  for (int i = 0; i < mine.n; i++) {
    for (int k = 0; k < 2; k++) {
      for (obj_t *o = store_first(KINDS[k]); o; o = o->next) {
        hostports_t theirs = {0};
        endpoint_hostports(o->doc, &theirs);
        for (int j = 0; j < theirs.n; j++) {
          hostport_t *x = &mine.m[i], *y = &theirs.m[j];
          if (x->port == y->port && x->proto == y->proto && strcasecmp(x->vip, y->vip) == 0)
            return snprintf(why, n, "(host port %d/%d%s%s is mapped by endpoint %s)", x->port, x->proto, *x->vip ? " on " : "",
                            x->vip, o->id),
                   HCN_E_PORT_ALREADY_EXISTS;
        }
      }
    }
  }
  return S_OK;
}
