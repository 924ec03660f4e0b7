/*
 * HcnCreateNetwork / HcnCreateEndpoint with a document that has no SchemaVersion: HNS reads it as v1 schema
 * (hcsshim hcn/hcnv1schema_test.go TestV1Network / TestV1Endpoint pass hcsshim.HNSNetwork / HNSEndpoint JSON to
 * the HCN create functions). The v1 members are turned into their v2 form before the checks and the store:
 * network Subnets[{AddressPrefix, GatewayAddress}] → Ipams; endpoint VirtualNetwork → HostComputeNetwork,
 * IPAddress/PrefixLength (and IPv6) → IpConfigurations, GatewayAddress → the default route, DNSServerList /
 * DNSSuffix → Dns, and the flat v1 policies NAT, OutBoundNAT, ROUTE, PA → PortMapping, OutBoundNAT, SDNRoute,
 * ProviderAddress. Members that are already v2 are kept (docs/windows.md "Remaining known differences").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stub.h"

static char *str_of(jspan_t obj, const char *key) {
  jspan_t v;
  return json_span_get(obj, key, &v) ? json_string(v) : NULL;
}
static char *raw_of(jspan_t obj, const char *key) {
  jspan_t v;
  return json_span_get(obj, key, &v) && !span_is_null(v) ? span_dup(v) : NULL;
}
static jspan_t whole(const char *doc) { return (jspan_t){doc, doc + strlen(doc)}; }

static void replace(char **doc, const char *key, const char *raw) {
  char *d = json_set(*doc, key, raw);
  free(*doc);
  *doc = d;
}

static void subnet_v2(jspan_t s, void *ctx) {
  sb_t *b = ctx;
  char *prefix = str_of(s, "AddressPrefix"), *gw = str_of(s, "GatewayAddress");
  if (b->len > 1) sb_puts(b, ",");
  sb_puts(b, "{\"IpAddressPrefix\":");
  sb_quote(b, prefix ? prefix : "");
  if (gw && *gw) {
    sb_puts(b, ",\"Routes\":[{\"NextHop\":");
    sb_quote(b, gw);
    sb_puts(b, strchr(gw, ':') ? ",\"DestinationPrefix\":\"::/0\"}]" : ",\"DestinationPrefix\":\"0.0.0.0/0\"}]");
  }
  char *pol = raw_of(s, "Policies");
  if (pol) sb_puts(b, ",\"Policies\":"), sb_puts(b, pol);
  sb_puts(b, "}");
  free(pol);
  free(prefix);
  free(gw);
}

/* "a,b" → ["a","b"] */
static char *comma_list(const char *s) {
  sb_t b = {0};
  sb_puts(&b, "[");
  char *copy = strdup(s), *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    while (*t == ' ') t++;
    if (!*t) continue;
    if (b.len > 1) sb_puts(&b, ",");
    sb_quote(&b, t);
  }
  free(copy);
  sb_puts(&b, "]");
  return sb_take(&b);
}

static void policy_v2(jspan_t p, void *ctx) {
  sb_t *b = ctx;
  char *type = str_of(p, "Type");
  if (b->len > 1) sb_puts(b, ",");
  jspan_t v;
  if (type && strcasecmp(type, "NAT") == 0) {
    char *proto = str_of(p, "Protocol");
    int num = !proto ? (json_span_get(p, "Protocol", &v) ? atoi(v.start) : 6) : strcasecmp(proto, "udp") == 0 ? 17 : strcasecmp(proto, "tcp") == 0 ? 6 : atoi(proto);
    char *in = raw_of(p, "InternalPort"), *ex = raw_of(p, "ExternalPort");
    sb_printf(b, "{\"Type\":\"PortMapping\",\"Settings\":{\"Protocol\":%d,\"InternalPort\":%s,\"ExternalPort\":%s}}", num, in ? in : "0", ex ? ex : "0");
    free(proto), free(in), free(ex);
  } else if (type && strcasecmp(type, "OutBoundNAT") == 0 && !json_span_get(p, "Settings", &v)) {
    char *ex = raw_of(p, "ExceptionList"), *vip = str_of(p, "VIP");
    sb_puts(b, "{\"Type\":\"OutBoundNAT\",\"Settings\":{");
    if (vip) sb_puts(b, "\"VirtualIP\":"), sb_quote(b, vip);
    if (ex) sb_puts(b, vip ? ",\"Exceptions\":" : "\"Exceptions\":"), sb_puts(b, ex);
    sb_puts(b, "}}");
    free(ex), free(vip);
  } else if (type && strcasecmp(type, "ROUTE") == 0) {
    char *dst = raw_of(p, "DestinationPrefix"), *encap = raw_of(p, "NeedEncap"), *hop = raw_of(p, "NextHop");
    sb_printf(b, "{\"Type\":\"SDNRoute\",\"Settings\":{\"DestinationPrefix\":%s,\"NeedEncap\":%s%s%s}}", dst ? dst : "\"\"",
              encap ? encap : "false", hop ? ",\"NextHop\":" : "", hop ? hop : "");
    free(dst), free(encap), free(hop);
  } else if (type && strcasecmp(type, "PA") == 0) {
    char *pa = raw_of(p, "PA");
    sb_printf(b, "{\"Type\":\"ProviderAddress\",\"Settings\":{\"ProviderAddress\":%s}}", pa ? pa : "\"\"");
    free(pa);
  } else {
    char *t = json_compact(p);
    sb_puts(b, t);
    free(t);
  }
  free(type);
}

static void ipconfig(sb_t *b, const char *ip, const char *prefix_raw) {
  if (b->len > 1) sb_puts(b, ",");
  sb_puts(b, "{\"IpAddress\":");
  sb_quote(b, ip);
  if (prefix_raw) sb_puts(b, ",\"PrefixLength\":"), sb_puts(b, prefix_raw);
  sb_puts(b, "}");
}

char *stub_v1_schema_to_v2(int endpoint, const char *doc) {
  char *out = strdup(doc);
  jspan_t d = whole(doc), v;
  if (!endpoint) {
    if (json_span_get(d, "Subnets", &v) && !span_is_null(v) && !json_span_get(d, "Ipams", &v)) {
      json_span_get(d, "Subnets", &v);
      sb_t b = {0};
      sb_puts(&b, "[");
      json_array_each(v, subnet_v2, &b);
      sb_puts(&b, "]");
      char *subs = sb_take(&b);
      sb_t ip = {0};
      sb_printf(&ip, "[{\"Type\":\"Static\",\"Subnets\":%s}]", subs);
      char *ipams = sb_take(&ip);
      replace(&out, "Subnets", NULL);
      replace(&out, "Ipams", ipams);
      free(subs), free(ipams);
    }
    return out;
  }
  char *net = str_of(d, "VirtualNetwork");
  if (net && !json_span_get(d, "HostComputeNetwork", &v)) {
    sb_t q = {0};
    sb_quote(&q, net);
    char *raw = sb_take(&q);
    replace(&out, "HostComputeNetwork", raw);
    free(raw);
  }
  free(net);
  replace(&out, "VirtualNetwork", NULL);
  replace(&out, "VirtualNetworkName", NULL);
  char *ip = str_of(d, "IPAddress"), *ip6 = str_of(d, "IPv6Address");
  if ((ip || ip6) && !json_span_get(d, "IpConfigurations", &v)) {
    char *len = raw_of(d, "PrefixLength"), *len6 = raw_of(d, "IPv6PrefixLength");
    sb_t b = {0};
    sb_puts(&b, "[");
    if (ip && *ip) ipconfig(&b, ip, len);
    if (ip6 && *ip6) ipconfig(&b, ip6, len6);
    sb_puts(&b, "]");
    char *raw = sb_take(&b);
    replace(&out, "IpConfigurations", raw);
    free(raw), free(len), free(len6);
  }
  free(ip), free(ip6);
  static const char *const dropped[] = {"IPAddress", "IPv6Address", "PrefixLength", "IPv6PrefixLength"};
  for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++) replace(&out, dropped[i], NULL);
  char *gw = str_of(d, "GatewayAddress");
  if (gw && *gw && !json_span_get(d, "Routes", &v)) {
    sb_t b = {0};
    sb_puts(&b, "[{\"NextHop\":");
    sb_quote(&b, gw);
    sb_puts(&b, ",\"DestinationPrefix\":\"0.0.0.0/0\"}]");
    char *raw = sb_take(&b);
    replace(&out, "Routes", raw);
    free(raw);
  }
  free(gw);
  replace(&out, "GatewayAddress", NULL);
  char *servers = str_of(d, "DNSServerList"), *suffix = str_of(d, "DNSSuffix");
  if ((servers || suffix) && !json_span_get(d, "Dns", &v)) {
    sb_t b = {0};
    sb_puts(&b, "{");
    if (servers) {
      char *l = comma_list(servers);
      sb_printf(&b, "\"ServerList\":%s", l);
      free(l);
    }
    if (suffix) {
      char *l = comma_list(suffix);
      sb_printf(&b, "%s\"Search\":%s", servers ? "," : "", l);
      free(l);
    }
    sb_puts(&b, "}");
    char *raw = sb_take(&b);
    replace(&out, "Dns", raw);
    free(raw);
  }
  free(servers), free(suffix);
  replace(&out, "DNSServerList", NULL);
  replace(&out, "DNSSuffix", NULL);
  if (json_span_get(d, "Policies", &v) && !span_is_null(v)) {
    sb_t b = {0};
    sb_puts(&b, "[");
    if (json_array_each(v, policy_v2, &b) >= 0) {
      sb_puts(&b, "]");
      char *raw = sb_take(&b);
      replace(&out, "Policies", raw);
      free(raw);
    } else {
      free(sb_take(&b));
    }
  }
  return out;
}
