/*
 * Object store, handles, GUIDs, error records and the test switches (hang, record-on-success, write delay).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stub.h"

static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;
static obj_t *heads[K_COUNT];
int stub_next_namespace_id = 2; /* compartment 1 is the host's */

/*
 * Optional persistence (HCNSTUB_STATE_FILE): like HNS, state outlives the process, so tests can create in
 * one process (a CNI ADD) and delete in another (the DEL). Each store_lock() takes an exclusive flock on
 * the file and loads it; store_unlock() writes it back and releases. Format: a header line
 * "hcnstub 1 <next namespace id>", then per object "<kind> <id> <length>\n<document bytes>\n".
 */
static int state_fd = -1;

static void state_clear(void) {
  for (int k = 0; k < K_COUNT; k++) {
    while (heads[k]) {
      obj_t *o = heads[k];
      heads[k] = o->next;
      free(o->doc);
      free(o);
    }
  }
}

static void state_load(int fd) {
  state_clear();
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) return;
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) abort();
  ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
  if (n != st.st_size) { free(buf); return; }
  buf[n] = 0;
  char *p = buf;
  int next = 2;
  if (sscanf(p, "hcnstub 1 %d", &next) != 1) { free(buf); return; }
  stub_next_namespace_id = next;
  p = strchr(p, '\n');
  while (p && *++p) {
    int kind;
    char id[37];
    size_t len;
    int used = 0;
    if (sscanf(p, "%d %36s %zu%n", &kind, id, &len, &used) != 3 || kind < 0 || kind >= K_COUNT) break;
    p += used;
    if (*p != '\n' || (size_t)(buf + n - (p + 1)) < len) break;
    p++;
    char *doc = malloc(len + 1);
    if (!doc) abort();
    memcpy(doc, p, len);
    doc[len] = 0;
    store_add((kind_t)kind, id, doc);
    p += len;
  }
  free(buf);
}

static void state_save(int fd) {
  sb_t b = {0};
  sb_printf(&b, "hcnstub 1 %d\n", stub_next_namespace_id);
  for (int k = 0; k < K_COUNT; k++)
    for (obj_t *o = heads[k]; o; o = o->next) {
      sb_printf(&b, "%d %s %zu\n", k, o->id, strlen(o->doc));
      sb_puts(&b, o->doc);
      sb_puts(&b, "\n");
    }
  char *text = sb_take(&b);
  size_t len = strlen(text);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text, len, 0) != (ssize_t)len) {
    fprintf(stderr, "hcnstub: cannot write HCNSTUB_STATE_FILE: %s\n", strerror(errno));
  }
  free(text);
}

void store_lock(void) {
  pthread_mutex_lock(&store_mu);
  const char *file = getenv("HCNSTUB_STATE_FILE");
  if (!file || !*file) return;
  state_fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (state_fd < 0) {
    fprintf(stderr, "hcnstub: cannot open HCNSTUB_STATE_FILE %s: %s\n", file, strerror(errno));
    return;
  }
  while (flock(state_fd, LOCK_EX) != 0 && errno == EINTR) {}
  state_load(state_fd);
}

void store_unlock(void) {
  if (state_fd >= 0) {
    state_save(state_fd);
    flock(state_fd, LOCK_UN);
    close(state_fd);
    state_fd = -1;
  }
  pthread_mutex_unlock(&store_mu);
}

obj_t *store_find(kind_t k, const char *id) {
  for (obj_t *o = heads[k]; o; o = o->next)
    if (strcasecmp(o->id, id) == 0) return o;
  return NULL;
}

obj_t *store_first(kind_t k) { return heads[k]; }

obj_t *store_add(kind_t k, const char *id, char *doc) {
  obj_t *o = calloc(1, sizeof *o);
  if (!o) abort();
  o->kind = k;
  snprintf(o->id, sizeof o->id, "%s", id);
  o->doc = doc;
  /* Append, so enumeration order is creation order. */
  obj_t **pp = &heads[k];
  while (*pp) pp = &(*pp)->next;
  *pp = o;
  return o;
}

void store_remove(obj_t *o) {
  for (obj_t **pp = &heads[o->kind]; *pp; pp = &(*pp)->next) {
    if (*pp == o) {
      *pp = o->next;
      free(o->doc);
      free(o);
      return;
    }
  }
}

void store_set_doc(obj_t *o, char *doc) {
  free(o->doc);
  o->doc = doc;
}

/* ---- handles ---- */
/*
 * A handle is an opaque value, (serial << HANDLE_SLOT_BITS) | slot, never a pointer: the serial is taken from
 * a process-wide counter that only grows (not even HcnStubReset rewinds it), so a stale handle — closed,
 * its slot since reused by another thread's open — never matches the slot's current serial and is always
 * E_HANDLE, as with real HNS, instead of closing someone else's handle.
 */
#define HANDLE_SLOT_BITS 12
#define MAX_HANDLES (1 << HANDLE_SLOT_BITS)
typedef struct {
  int live;
  kind_t kind;
  uint64_t serial;
  char id[37];
} handle_t;
static handle_t handles[MAX_HANDLES];
static uint64_t next_serial = 1;

void *handle_open(kind_t k, const char *id) {
  for (int i = 0; i < MAX_HANDLES; i++) {
    if (!handles[i].live) {
      handles[i].live = 1;
      handles[i].kind = k;
      handles[i].serial = next_serial++;
      snprintf(handles[i].id, sizeof handles[i].id, "%s", id);
      return (void *)(uintptr_t)(handles[i].serial << HANDLE_SLOT_BITS | (uint64_t)i);
    }
  }
  return NULL;
}

static handle_t *handle_slot(void *h) {
  uint64_t v = (uint64_t)(uintptr_t)h;
  handle_t *s = &handles[v & (MAX_HANDLES - 1)];
  return s->live && s->serial == v >> HANDLE_SLOT_BITS ? s : NULL;
}

const char *handle_id(void *h, kind_t k) {
  handle_t *s = handle_slot(h);
  return s && s->kind == k ? s->id : NULL;
}

int handle_close(void *h, kind_t k) {
  handle_t *s = handle_slot(h);
  if (!s || s->kind != k) return 0;
  s->live = 0;
  return 1;
}

int handle_count(void) {
  int n = 0;
  for (int i = 0; i < MAX_HANDLES; i++) n += handles[i].live;
  return n;
}

/* ---- GUIDs ---- */
void guid_format(const GUID *g, char out[37]) {
  snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", g->Data1, g->Data2, g->Data3, g->Data4[0],
           g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

int guid_parse(const char *s, GUID *g) {
  unsigned d1, d2, d3, b[8];
  int n = 0;
  if (strlen(s) != 36) return 0;
  if (sscanf(s, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x%n", &d1, &d2, &d3, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
             &b[6], &b[7], &n) != 11 || n != 36)
    return 0;
  g->Data1 = d1;
  g->Data2 = (uint16_t)d2;
  g->Data3 = (uint16_t)d3;
  for (int i = 0; i < 8; i++) g->Data4[i] = (uint8_t)b[i];
  return 1;
}

int guid_is_zero(const GUID *g) {
  static const GUID zero;
  return memcmp(g, &zero, sizeof zero) == 0;
}

void guid_generate(GUID *g) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, g, sizeof *g) != (ssize_t)sizeof *g) abort();
  close(fd);
  g->Data3 = (uint16_t)((g->Data3 & 0x0FFF) | 0x4000); /* version 4 */
  g->Data4[0] = (uint8_t)((g->Data4[0] & 0x3F) | 0x80);
}

/* ---- error records ---- */
const char *stub_hr_message(HRESULT hr) {
  switch ((uint32_t)hr) {
    case 0x80070006u: return "The handle is invalid.";
    case 0x80004003u: return "Invalid pointer";
    case 0x80070057u: return "The parameter is incorrect.";
    case 0x80070490u: return "Element not found.";
    case 0x800700B7u: return "Cannot create a file when that file already exists.";
    case 0x803B0002u: return "The endpoint was not found.";
    case 0x803B0008u: return "The expected policy was not found.";
    case 0x803B0014u: return "This endpoint is already attached to the switch.";
    case 0x803B000Bu: return "Invalid network type.";
    case 0x803B000Cu: return "The endpoint configuration is invalid.";
    case 0x803B0010u: return "A network with this name already exists.";
    case 0x803B0012u: return "The policy already exists.";
    case 0x803B0015u: return "The request is not supported.";
    case 0x803B001Bu: return "The JSON document is invalid.";
    case 0x803B002Bu: return "The endpoint is already in a namespace.";
    case 0x803B002Cu: return "The entity still has references.";
    case 0x803B0034u: return "The endpoint must be attached.";
    case 0x803B000Du: return "The policy configuration is invalid.";
    case 0x803B000Eu: return "Invalid policy type.";
    case 0x803B0013u: return "The specified port already exists.";
    case 0x803B001Eu: return "The IP address is invalid or not in any subnet of the network.";
    default: return "Unspecified error";
  }
}

HRESULT stub_fail(char16_t **record, HRESULT hr, const char *fmt, ...) {
  if (!record) return hr;
  sb_t msg = {0};
  sb_puts(&msg, stub_hr_message(hr));
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sb_puts(&msg, " ");
    sb_puts(&msg, buf);
  }
  sb_puts(&msg, " "); /* HNS leaves a trailing space on Error */
  char *m = sb_take(&msg);
  char tail[32];
  snprintf(tail, sizeof tail, "\"ErrorCode\":%u", (uint32_t)hr);
  stub_error_doc(record, "\"Success\":false", "Error", m, tail);
  free(m);
  return hr;
}

/* ---- switches ---- */
static pthread_mutex_t hang_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cv = PTHREAD_COND_INITIALIZER;
static unsigned long hang_generation;
static int hanging;

static int env_names(const char *var, const char *fn) {
  const char *v = getenv(var);
  if (!v || !*v) return 0;
  if (strcmp(v, "*") == 0) return 1;
  size_t n = strlen(fn);
  for (const char *p = v; (p = strstr(p, fn)); p += n)
    if ((p == v || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
  return 0;
}

void stub_maybe_hang(const char *fn) {
  if (!env_names("HCNSTUB_HANG", fn)) return;
  pthread_mutex_lock(&hang_mu);
  unsigned long gen = hang_generation;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 60; /* a real hung HNS may never return; the stub gives up eventually so tests end */
  hanging++;
  while (gen == hang_generation) {
    if (pthread_cond_timedwait(&hang_cv, &hang_mu, &until) == ETIMEDOUT) break;
  }
  hanging--;
  pthread_mutex_unlock(&hang_mu);
}

/* Test-only: wake every call blocked by HCNSTUB_HANG. Returns how many were blocked. */
EXPORT int HcnStubReleaseHang(void) {
  pthread_mutex_lock(&hang_mu);
  int n = hanging;
  hang_generation++;
  pthread_cond_broadcast(&hang_cv);
  pthread_mutex_unlock(&hang_mu);
  return n;
}

/* Test-only: number of calls currently blocked by HCNSTUB_HANG. */
EXPORT int HcnStubHangingCalls(void) {
  pthread_mutex_lock(&hang_mu);
  int n = hanging;
  pthread_mutex_unlock(&hang_mu);
  return n;
}

int stub_record_on_success(const char *fn) { return env_names("HCNSTUB_RECORD_ON_SUCCESS", fn); }

void stub_write_delay(void) {
  const char *v = getenv("HCNSTUB_WRITE_DELAY_MS");
  long ms = v ? strtol(v, NULL, 10) : 0;
  if (ms > 0) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
}

/* Concurrent writes per object: the binding promises to serialize writes to one network. */
static pthread_mutex_t w_mu = PTHREAD_MUTEX_INITIALIZER;
typedef struct { char id[37]; int active; } wslot_t;
static wslot_t wslots[256];
static int max_concurrent;

void stub_write_begin(const char *id) {
  pthread_mutex_lock(&w_mu);
  wslot_t *free_slot = NULL, *s = NULL;
  for (int i = 0; i < 256; i++) {
    if (wslots[i].active && strcasecmp(wslots[i].id, id) == 0) { s = &wslots[i]; break; }
    if (!wslots[i].active && !free_slot) free_slot = &wslots[i];
  }
  if (!s && free_slot) { s = free_slot; snprintf(s->id, sizeof s->id, "%s", id); }
  if (s) {
    s->active++;
    if (s->active > max_concurrent) max_concurrent = s->active;
  }
  pthread_mutex_unlock(&w_mu);
}

void stub_write_end(const char *id) {
  pthread_mutex_lock(&w_mu);
  for (int i = 0; i < 256; i++)
    if (wslots[i].active && strcasecmp(wslots[i].id, id) == 0) { wslots[i].active--; break; }
  pthread_mutex_unlock(&w_mu);
}

/* Test-only: the most writes that were ever in flight at once against one object. */
EXPORT int HcnStubMaxConcurrentWrites(void) {
  pthread_mutex_lock(&w_mu);
  int n = max_concurrent;
  pthread_mutex_unlock(&w_mu);
  return n;
}

/* Test-only: handles opened and not closed. */
EXPORT int HcnStubOpenHandles(void) {
  store_lock();
  int n = handle_count();
  store_unlock();
  return n;
}

void stub_mem_reset(void);

void store_reset(void) {
  state_clear();
  stub_next_namespace_id = 2;
  memset(handles, 0, sizeof handles);
}

/* Test-only: forget every object, handle and allocation (between tests). */
EXPORT void HcnStubReset(void) {
  store_lock();
  store_reset();
  stub_hcs_reset();
  store_unlock();
  stub_mem_reset();
  pthread_mutex_lock(&w_mu);
  memset(wslots, 0, sizeof wslots);
  max_concurrent = 0;
  pthread_mutex_unlock(&w_mu);
}
