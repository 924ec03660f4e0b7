/*
 * The COM task allocator as far as HCN callers see it: every string the stub hands out comes from
 * stub_task_alloc and must come back through CoTaskMemFree. Allocations are tracked so the abi tests can
 * assert that the binding freed every result and error record (HcnStubOutstandingAllocations) and never
 * freed anything twice or foreign (HcnStubBadFrees).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub.h"

static pthread_mutex_t mem_mu = PTHREAD_MUTEX_INITIALIZER;
static void **live;
static size_t live_len, live_cap;
static long bad_frees;

void *stub_task_alloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  pthread_mutex_lock(&mem_mu);
  if (live_len == live_cap) {
    live_cap = live_cap ? live_cap * 2 : 64;
    live = realloc(live, live_cap * sizeof *live);
    if (!live) abort();
  }
  live[live_len++] = p;
  pthread_mutex_unlock(&mem_mu);
  return p;
}

EXPORT void CoTaskMemFree(void *p) {
  if (!p) return;
  pthread_mutex_lock(&mem_mu);
  for (size_t i = live_len; i-- > 0;) {
    if (live[i] == p) {
      live[i] = live[--live_len];
      pthread_mutex_unlock(&mem_mu);
      free(p);
      return;
    }
  }
  /* Not ours (double free or a foreign pointer): count it instead of corrupting the heap. */
  bad_frees++;
  pthread_mutex_unlock(&mem_mu);
}

/* Test-only: strings handed out and not yet freed. */
EXPORT long HcnStubOutstandingAllocations(void) {
  pthread_mutex_lock(&mem_mu);
  long n = (long)live_len;
  pthread_mutex_unlock(&mem_mu);
  return n;
}

/* Test-only: CoTaskMemFree calls on pointers the stub never handed out (or already freed). */
EXPORT long HcnStubBadFrees(void) {
  pthread_mutex_lock(&mem_mu);
  long n = bad_frees;
  pthread_mutex_unlock(&mem_mu);
  return n;
}

void stub_mem_reset(void) {
  pthread_mutex_lock(&mem_mu);
  for (size_t i = 0; i < live_len; i++) free(live[i]);
  live_len = 0;
  bad_frees = 0;
  pthread_mutex_unlock(&mem_mu);
}

char *stub_utf16_to_utf8(const char16_t *s) {
  sb_t b = {0};
  if (!s) return sb_take(&b);
  for (size_t i = 0; s[i]; i++) {
    uint32_t c = s[i];
    if (c >= 0xD800 && c <= 0xDBFF) {
      uint32_t lo = s[i + 1];
      if (lo < 0xDC00 || lo > 0xDFFF) { free(b.p); return NULL; }
      c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
      i++;
    } else if (c >= 0xDC00 && c <= 0xDFFF) {
      free(b.p);
      return NULL;
    }
    char u[4];
    size_t n;
    if (c < 0x80) { u[0] = (char)c; n = 1; }
    else if (c < 0x800) { u[0] = (char)(0xC0 | (c >> 6)); u[1] = (char)(0x80 | (c & 0x3F)); n = 2; }
    else if (c < 0x10000) { u[0] = (char)(0xE0 | (c >> 12)); u[1] = (char)(0x80 | ((c >> 6) & 0x3F)); u[2] = (char)(0x80 | (c & 0x3F)); n = 3; }
    else { u[0] = (char)(0xF0 | (c >> 18)); u[1] = (char)(0x80 | ((c >> 12) & 0x3F)); u[2] = (char)(0x80 | ((c >> 6) & 0x3F)); u[3] = (char)(0x80 | (c & 0x3F)); n = 4; }
    sb_putn(&b, u, n);
  }
  return sb_take(&b);
}

char16_t *stub_utf8_to_task_utf16(const char *s) {
  size_t n = strlen(s);
  char16_t *out = stub_task_alloc((n + 1) * sizeof(char16_t)); /* UTF-16 never needs more units than UTF-8 bytes */
  size_t j = 0;
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    uint32_t c = u[i];
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (i + len > n) len = n - i;
    if (len == 2) c = ((c & 0x1F) << 6) | (u[i + 1] & 0x3F);
    else if (len == 3) c = ((c & 0x0F) << 12) | ((u[i + 1] & 0x3F) << 6) | (u[i + 2] & 0x3F);
    else if (len == 4) c = ((c & 0x07) << 18) | ((u[i + 1] & 0x3F) << 12) | ((u[i + 2] & 0x3F) << 6) | (u[i + 3] & 0x3F);
    i += len;
    if (c >= 0x10000) {
      c -= 0x10000;
      out[j++] = (char16_t)(0xD800 + (c >> 10));
      out[j++] = (char16_t)(0xDC00 + (c & 0x3FF));
    } else {
      out[j++] = (char16_t)c;
    }
  }
  out[j] = 0;
  return out;
}

/* ---- string builder ---- */
static void sb_grow(sb_t *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1) cap *= 2;
  b->p = realloc(b->p, cap);
  if (!b->p) abort();
  b->cap = cap;
}

void sb_putn(sb_t *b, const char *s, size_t n) {
  sb_grow(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void sb_puts(sb_t *b, const char *s) { sb_putn(b, s, strlen(s)); }

void sb_printf(sb_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  sb_grow(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void sb_quote(sb_t *b, const char *s) {
  sb_putn(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': sb_puts(b, "\\\""); break;
      case '\\': sb_puts(b, "\\\\"); break;
      case '\n': sb_puts(b, "\\n"); break;
      case '\r': sb_puts(b, "\\r"); break;
      case '\t': sb_puts(b, "\\t"); break;
      default:
        if (*p < 0x20) sb_printf(b, "\\u%04x", *p);
        else sb_putn(b, (const char *)p, 1);
    }
  }
  sb_putn(b, "\"", 1);
}

char *sb_take(sb_t *b) {
  if (!b->p) sb_grow(b, 0), b->p[0] = 0;
  char *p = b->p;
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}
