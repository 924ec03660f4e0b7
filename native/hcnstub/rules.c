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

/* ---- HNS-assigned fields of a new local endpoint ---- */

/* The first IPv4 subnet of the network: network address, prefix length and gateway (0 when none). */
typedef struct {
  int found, len;
  uint32_t net, gw;
} subnet4_t;

static uint32_t ip4(const addr_t *a) { return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 | (uint32_t)a->b[2] << 8 | a->b[3]; }

static int parse_prefix4(const char *prefix, uint32_t *net, int *len) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", prefix);
  char *slash = strchr(buf, '/'), *end;
  if (!slash) return 0;
  *slash = 0;
  addr_t a;
  long l = strtol(slash + 1, &end, 10);
  if (!parse_addr(buf, &a) || a.family != AF_INET || *end || l < 0 || l > 32) return 0;
  *len = (int)l;
  *net = ip4(&a) & (l ? 0xFFFFFFFFu << (32 - l) : 0);
  return 1;
}

static void take_gateway(subnet4_t *s, char *gw) {
  addr_t a;
  if (gw && parse_addr(gw, &a) && a.family == AF_INET && !s->gw) s->gw = ip4(&a);
  free(gw);
}
static void v2_route_gw(jspan_t route, void *ctx) {
  jspan_t v;
  if (json_span_get(route, "NextHop", &v)) take_gateway(ctx, json_string(v));
}
static void first_subnet4(jspan_t subnet, void *ctx, int v2) {
  subnet4_t *s = ctx;
  jspan_t v;
  char *p = json_span_get(subnet, v2 ? "IpAddressPrefix" : "AddressPrefix", &v) ? json_string(v) : NULL;
  if (!s->found && p && parse_prefix4(p, &s->net, &s->len)) {
    s->found = 1;
    if (v2 && json_span_get(subnet, "Routes", &v) && !span_is_null(v)) json_array_each(v, v2_route_gw, s);
    if (!v2 && json_span_get(subnet, "GatewayAddress", &v)) take_gateway(s, json_string(v));
  }
  free(p);
}
static void v2_subnet4(jspan_t s, void *ctx) { first_subnet4(s, ctx, 1); }
static void v1_subnet4(jspan_t s, void *ctx) { first_subnet4(s, ctx, 0); }
static void v2_ipam4(jspan_t ipam, void *ctx) {
  jspan_t subs;
  if (json_span_get(ipam, "Subnets", &subs) && !span_is_null(subs)) json_array_each(subs, v2_subnet4, ctx);
}

/* Is this IPv4 address used by an endpoint (either API) of the network `net_id`? */
static int ip4_used(const char *net_id, uint32_t ip) {
  static const kind_t KINDS[] = {K_ENDPOINT, K_V1_ENDPOINT};
  static const char *const NET_KEY[] = {"HostComputeNetwork", "VirtualNetwork"};
  for (int k = 0; k < 2; k++) {
    for (obj_t *o = store_first(KINDS[k]); o; o = o->next) {
      jspan_t v;
      char *n = json_get(o->doc, NET_KEY[k], &v) ? json_string(v) : NULL;
      int same = n && strcasecmp(n, net_id) == 0;
      free(n);
      if (!same) continue;
      ips_t a = {0};
      endpoint_ips(o->doc, &a);
      int hit = 0;
      for (int i = 0; i < a.n; i++) {
        addr_t x;
        if (parse_addr(a.ips[i], &x) && x.family == AF_INET && ip4(&x) == ip) hit = 1;
        free(a.ips[i]);
      }
      if (hit) return 1;
    }
  }
  return 0;
}

static int mac_used(const char *mac) {
  static const kind_t KINDS[] = {K_ENDPOINT, K_V1_ENDPOINT};
  for (int k = 0; k < 2; k++)
    for (obj_t *o = store_first(KINDS[k]); o; o = o->next) {
      jspan_t v;
      char *m = json_get(o->doc, "MacAddress", &v) ? json_string(v) : NULL;
      int same = m && strcasecmp(m, mac) == 0;
      free(m);
      if (same) return 1;
    }
  return 0;
}

static void set_member(char **doc, const char *key, const char *raw) {
  char *d = json_set(*doc, key, raw);
  free(*doc);
  *doc = d;
}
static void set_string(char **doc, const char *key, const char *value) {
  sb_t q = {0};
  sb_quote(&q, value);
  char *raw = sb_take(&q);
  set_member(doc, key, raw);
  free(raw);
}
static void fmt4(uint32_t ip, char out[16]) { snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255); }

typedef struct {
  sb_t out;
  int len, any_ip;
} ipcfg_ctx_t;

/* IpConfigurations items: PrefixLength filled from the subnet when missing (HNS reports it on every address). */
static void fill_prefix(jspan_t item, void *vctx) {
  ipcfg_ctx_t *c = vctx;
  jspan_t v;
  char *t = json_compact(item);
  if (json_span_get(item, "IpAddress", &v) && !span_is_null(v)) c->any_ip = 1;
  if (c->any_ip && c->len >= 0 && !json_span_get(item, "PrefixLength", &v)) {
    char num[8];
    snprintf(num, sizeof num, "%d", c->len);
    set_member(&t, "PrefixLength", num);
  }
  if (c->out.len > 1) sb_puts(&c->out, ",");
  sb_puts(&c->out, t);
  free(t);
}

char *stub_assign_endpoint(const char *net, const char *ep, int v2, HRESULT *hr, char *why, size_t n) {
  char *doc = strdup(ep);
  *hr = S_OK;
  if (is_remote(ep)) return doc; /* remote endpoints describe pods elsewhere: HNS assigns nothing */
  subnet4_t s = {0};
  jspan_t v;
  if (json_get(net, "Ipams", &v) && !span_is_null(v)) json_array_each(v, v2_ipam4, &s);
  if (!s.found && json_get(net, "Subnets", &v) && !span_is_null(v)) json_array_each(v, v1_subnet4, &s);
  char *net_id = json_get(net, "ID", &v) ? json_string(v) : NULL;
  char gw[16] = "";
  if (s.gw) fmt4(s.gw, gw);

  /* the address: given ones get their prefix length, none means the next free one of the first IPv4 subnet */
  ips_t a = {0};
  endpoint_ips(ep, &a);
  int have_ip = a.n > 0;
  for (int i = 0; i < a.n; i++) free(a.ips[i]);
  if (!have_ip && s.found && s.len <= 30) {
    uint32_t size = s.len ? 1u << (32 - s.len) : 0, pick = 0;
    for (uint32_t h = 1; h + 1 < size && !pick; h++) {
      uint32_t ip = s.net + h;
      if (ip != s.gw && !(net_id && ip4_used(net_id, ip))) pick = ip;
    }
    if (!pick) {
      *hr = (HRESULT)0x803B002Fu; /* HCN_E_ADDR_INVALID_OR_RESERVED: the subnet is exhausted */
      snprintf(why, n, "(no free address left in the network's subnet)");
      free(net_id);
      free(doc);
      return NULL;
    }
    char ip[16], num[8];
    fmt4(pick, ip);
    snprintf(num, sizeof num, "%d", s.len);
    if (v2) {
      sb_t b = {0};
      sb_puts(&b, "[{\"IpAddress\":");
      sb_quote(&b, ip);
      sb_printf(&b, ",\"PrefixLength\":%d}]", s.len);
      char *raw = sb_take(&b);
      set_member(&doc, "IpConfigurations", raw);
      free(raw);
    } else {
      set_string(&doc, "IPAddress", ip);
      set_member(&doc, "PrefixLength", num);
    }
  } else if (have_ip && s.found) {
    if (v2 && json_get(doc, "IpConfigurations", &v) && !span_is_null(v)) {
      ipcfg_ctx_t c = {{0}, s.len, 0};
      sb_puts(&c.out, "[");
      json_array_each(v, fill_prefix, &c);
      sb_puts(&c.out, "]");
      char *raw = sb_take(&c.out);
      set_member(&doc, "IpConfigurations", raw);
      free(raw);
    } else if (!v2 && !json_get(doc, "PrefixLength", &v)) {
      char num[8];
      snprintf(num, sizeof num, "%d", s.len);
      set_member(&doc, "PrefixLength", num);
    }
  }
  free(net_id);

  /* the default route through the subnet's gateway (v1: GatewayAddress) */
  if (*gw && v2 && (!json_get(doc, "Routes", &v) || span_is_null(v))) {
    sb_t b = {0};
    sb_puts(&b, "[{\"NextHop\":");
    sb_quote(&b, gw);
    sb_puts(&b, ",\"DestinationPrefix\":\"0.0.0.0/0\"}]");
    char *raw = sb_take(&b);
    set_member(&doc, "Routes", raw);
    free(raw);
  } else if (*gw && !v2 && !json_get(doc, "GatewayAddress", &v)) {
    set_string(&doc, "GatewayAddress", gw);
  }

  /* a MAC from the host's pool (Hyper-V's 00-15-5D prefix, as HNS's default MAC pool) */
  char *mac = json_get(doc, "MacAddress", &v) ? json_string(v) : NULL;
  if (!mac || !*mac) {
    char m[18];
    do {
      GUID g;
      guid_generate(&g);
      snprintf(m, sizeof m, "00-15-5D-%02X-%02X-%02X", g.Data4[5], g.Data4[6], g.Data4[7]);
    } while (mac_used(m));
    set_string(&doc, "MacAddress", m);
  }
  free(mac);
  return doc;
}
