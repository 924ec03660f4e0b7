/*
 * The stub's stand-in for the IP Helper route functions of iphlpapi.dll (netioapi.h) that the hcn data plane's
 * host-route table calls: GetIpForwardTable2 / FreeMibTable, InitializeIpForwardEntry, CreateIpForwardEntry2,
 * DeleteIpForwardEntry2, ConvertInterfaceAliasToLuid / ConvertInterfaceLuidToAlias and GetBestInterface, over an
 * in-memory IPv4 route table and three fixed interfaces. The row layout is MIB_IPFORWARD_ROW2's on x64 Windows
 * (checked against mingw-w64's netioapi.h by tests/abi/host-routes.test.ts, and by the asserts below), so the
 * same koffi code drives this file and the real DLL. Return values are Win32 error codes, as the real ones.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

#define NO_ERROR 0u
#define ERROR_NOT_ENOUGH_MEMORY 8u
#define ERROR_INVALID_PARAMETER 87u
#define ERROR_NOT_SUPPORTED 50u
#define ERROR_INSUFFICIENT_BUFFER 122u
#define ERROR_NOT_FOUND 1168u
#define ERROR_OBJECT_ALREADY_EXISTS 5010u
#define SY_AF_INET 2
#define SY_AF_UNSPEC 0

typedef struct {
  uint16_t family;
  uint16_t port;
  uint8_t addr[4];
  uint8_t zero[8];
} sy_sockaddr_in;

typedef struct {
  uint16_t family;
  uint16_t port;
  uint32_t flowinfo;
  uint8_t addr[16];
  uint32_t scope_id;
} sy_sockaddr_in6;

typedef union {
  sy_sockaddr_in v4;
  sy_sockaddr_in6 v6;
  uint16_t family;
} sy_sockaddr_inet;

typedef struct {
  sy_sockaddr_inet prefix;
  uint8_t prefix_length;
} sy_ip_address_prefix;

/* MIB_IPFORWARD_ROW2: NET_LUID, NET_IFINDEX, IP_ADDRESS_PREFIX, SOCKADDR_INET, UCHAR, 3 ULONG, NL_ROUTE_PROTOCOL,
 * 4 BOOLEAN, ULONG, NL_ROUTE_ORIGIN. */
typedef struct {
  uint64_t interface_luid;
  uint32_t interface_index;
  sy_ip_address_prefix destination_prefix;
  sy_sockaddr_inet next_hop;
  uint8_t site_prefix_length;
  uint32_t valid_lifetime;
  uint32_t preferred_lifetime;
  uint32_t metric;
  int32_t protocol;
  uint8_t loopback;
  uint8_t autoconfigure_address;
  uint8_t publish;
  uint8_t immortal;
  uint32_t age;
  int32_t origin;
} sy_ipforward_row2;

typedef struct {
  uint32_t num_entries;
  sy_ipforward_row2 table[];
} sy_ipforward_table2;

_Static_assert(sizeof(sy_sockaddr_inet) == 28, "SOCKADDR_INET is 28 bytes");
_Static_assert(sizeof(sy_ipforward_row2) == 104, "MIB_IPFORWARD_ROW2 is 104 bytes on x64");
_Static_assert(offsetof(sy_ipforward_row2, interface_index) == 8, "InterfaceIndex");
_Static_assert(offsetof(sy_ipforward_row2, destination_prefix) == 12, "DestinationPrefix");
_Static_assert(offsetof(sy_ipforward_row2, destination_prefix.prefix_length) == 40, "DestinationPrefix.PrefixLength");
_Static_assert(offsetof(sy_ipforward_row2, next_hop) == 44, "NextHop");
_Static_assert(offsetof(sy_ipforward_row2, site_prefix_length) == 72, "SitePrefixLength");
_Static_assert(offsetof(sy_ipforward_row2, metric) == 84, "Metric");
_Static_assert(offsetof(sy_ipforward_row2, protocol) == 88, "Protocol");
_Static_assert(offsetof(sy_ipforward_row2, age) == 96, "Age");
_Static_assert(offsetof(sy_ipforward_row2, origin) == 100, "Origin");
_Static_assert(offsetof(sy_ipforward_table2, table) == 8, "MIB_IPFORWARD_TABLE2.Table");

/* The stub host's interfaces: what a node with an external vSwitch on "Ethernet" shows. */
typedef struct {
  uint32_t index;
  const char *alias;
} sy_iface;
static const sy_iface IFACES[] = {{1, "Loopback Pseudo-Interface 1"}, {4, "Ethernet"}, {7, "vEthernet (Ethernet)"}};
#define N_IFACES (sizeof IFACES / sizeof IFACES[0])
/* The interface the stub's best route to any address leaves through (the vSwitch's host vNIC). */
#define BEST_INDEX 7u

static uint64_t luid_of(uint32_t index) {
  return ((uint64_t)6 << 48) | ((uint64_t)index << 24); /* IF_TYPE_ETHERNET_CSMACD, NetLuidIndex */
}

static const sy_iface *iface_by_luid(uint64_t luid) {
  for (size_t i = 0; i < N_IFACES; i++)
    if (luid_of(IFACES[i].index) == luid) return &IFACES[i];
  return NULL;
}

static const sy_iface *iface_by_index(uint32_t index) {
  for (size_t i = 0; i < N_IFACES; i++)
    if (IFACES[i].index == index) return &IFACES[i];
  return NULL;
}

#define MAX_ROUTES 4096
static sy_ipforward_row2 routes[MAX_ROUTES];
static size_t n_routes;
static long outstanding_tables;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* The row's interface, by LUID when set, else by index (as the real functions resolve it). */
static const sy_iface *row_iface(const sy_ipforward_row2 *r) {
  return r->interface_luid ? iface_by_luid(r->interface_luid) : iface_by_index(r->interface_index);
}

static int same_route(const sy_ipforward_row2 *a, const sy_ipforward_row2 *b) {
  return a->interface_index == b->interface_index && a->destination_prefix.prefix_length == b->destination_prefix.prefix_length &&
         memcmp(a->destination_prefix.prefix.v4.addr, b->destination_prefix.prefix.v4.addr, 4) == 0 &&
         memcmp(a->next_hop.v4.addr, b->next_hop.v4.addr, 4) == 0;
}

/* Validates an IPv4 row and fills in its interface; a Win32 error or NO_ERROR. */
static uint32_t check_row(const sy_ipforward_row2 *in, sy_ipforward_row2 *out) {
  if (!in) return ERROR_INVALID_PARAMETER;
  *out = *in;
  if (in->destination_prefix.prefix.family != SY_AF_INET || in->next_hop.family != SY_AF_INET) return ERROR_NOT_SUPPORTED;
  if (in->destination_prefix.prefix_length > 32) return ERROR_INVALID_PARAMETER;
  const sy_iface *ifc = row_iface(in);
  if (!ifc) return ERROR_NOT_FOUND;
  out->interface_index = ifc->index;
  out->interface_luid = luid_of(ifc->index);
  /* Host bits under the prefix must be zero, as Windows requires of a DestinationPrefix. */
  uint32_t a = ((uint32_t)in->destination_prefix.prefix.v4.addr[0] << 24) | ((uint32_t)in->destination_prefix.prefix.v4.addr[1] << 16) |
               ((uint32_t)in->destination_prefix.prefix.v4.addr[2] << 8) | in->destination_prefix.prefix.v4.addr[3];
  uint8_t len = in->destination_prefix.prefix_length;
  uint32_t host = len == 32 ? 0 : (len == 0 ? 0xffffffffu : (0xffffffffu >> len));
  if (a & host) return ERROR_INVALID_PARAMETER;
  return NO_ERROR;
}

EXPORT void InitializeIpForwardEntry(sy_ipforward_row2 *row) {
  if (!row) return;
  memset(row, 0, sizeof *row);
  row->valid_lifetime = 0xffffffffu;
  row->preferred_lifetime = 0xffffffffu;
  row->metric = 0xffffffffu; /* "use the default" until the caller sets one */
  row->protocol = 3;         /* MIB_IPPROTO_NETMGMT */
  row->loopback = 1;
  row->autoconfigure_address = 1;
  row->immortal = 1;
  row->site_prefix_length = 0;
  row->origin = 0; /* NlroManual */
}

EXPORT uint32_t CreateIpForwardEntry2(const sy_ipforward_row2 *row) {
  sy_ipforward_row2 r;
  uint32_t err = check_row(row, &r);
  if (err) return err;
  if (r.metric == 0xffffffffu) r.metric = 0;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < n_routes; i++) {
    if (same_route(&routes[i], &r)) {
      pthread_mutex_unlock(&mu);
      return ERROR_OBJECT_ALREADY_EXISTS;
    }
  }
  if (n_routes == MAX_ROUTES) {
    pthread_mutex_unlock(&mu);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  routes[n_routes++] = r;
  pthread_mutex_unlock(&mu);
  return NO_ERROR;
}

EXPORT uint32_t DeleteIpForwardEntry2(const sy_ipforward_row2 *row) {
  sy_ipforward_row2 r;
  uint32_t err = check_row(row, &r);
  if (err) return err;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < n_routes; i++) {
    if (same_route(&routes[i], &r)) {
      routes[i] = routes[--n_routes];
      pthread_mutex_unlock(&mu);
      return NO_ERROR;
    }
  }
  pthread_mutex_unlock(&mu);
  return ERROR_NOT_FOUND;
}

EXPORT uint32_t GetIpForwardTable2(uint16_t family, sy_ipforward_table2 **table) {
  if (!table) return ERROR_INVALID_PARAMETER;
  *table = NULL;
  if (family != SY_AF_INET && family != SY_AF_UNSPEC) return ERROR_NOT_SUPPORTED;
  pthread_mutex_lock(&mu);
  sy_ipforward_table2 *t = calloc(1, sizeof *t + n_routes * sizeof(sy_ipforward_row2));
  if (!t) {
    pthread_mutex_unlock(&mu);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  t->num_entries = (uint32_t)n_routes;
  memcpy(t->table, routes, n_routes * sizeof(sy_ipforward_row2));
  outstanding_tables++;
  pthread_mutex_unlock(&mu);
  *table = t;
  return NO_ERROR;
}

EXPORT void FreeMibTable(void *memory) {
  if (!memory) return;
  pthread_mutex_lock(&mu);
  outstanding_tables--;
  pthread_mutex_unlock(&mu);
  free(memory);
}

/* WCHAR is UTF-16 on Windows: the stub's aliases are ASCII, compared code unit by code unit. */
EXPORT uint32_t ConvertInterfaceAliasToLuid(const uint16_t *alias, uint64_t *luid) {
  if (!alias || !luid) return ERROR_INVALID_PARAMETER;
  for (size_t i = 0; i < N_IFACES; i++) {
    const char *a = IFACES[i].alias;
    size_t k = 0;
    while (a[k] && alias[k] == (uint16_t)(unsigned char)a[k]) k++;
    if (!a[k] && !alias[k]) {
      *luid = luid_of(IFACES[i].index);
      return NO_ERROR;
    }
  }
  return ERROR_INVALID_PARAMETER;
}

EXPORT uint32_t ConvertInterfaceLuidToAlias(const uint64_t *luid, uint16_t *alias, size_t length) {
  if (!luid || !alias) return ERROR_INVALID_PARAMETER;
  const sy_iface *ifc = iface_by_luid(*luid);
  if (!ifc) return ERROR_INVALID_PARAMETER;
  size_t n = strlen(ifc->alias);
  if (length < n + 1) return ERROR_NOT_ENOUGH_MEMORY;
  for (size_t k = 0; k <= n; k++) alias[k] = (uint16_t)(unsigned char)ifc->alias[k];
  return NO_ERROR;
}

EXPORT uint32_t GetBestInterface(uint32_t dest, uint32_t *best) {
  if (!best || dest == 0) return ERROR_INVALID_PARAMETER;
  *best = BEST_INDEX;
  return NO_ERROR;
}

/* Test controls. */
EXPORT void IpHlpStubReset(void) {
  pthread_mutex_lock(&mu);
  n_routes = 0;
  pthread_mutex_unlock(&mu);
}

EXPORT long IpHlpStubOutstandingTables(void) {
  pthread_mutex_lock(&mu);
  long n = outstanding_tables;
  pthread_mutex_unlock(&mu);
  return n;
}
