/*
 * Just enough JSON for the documents the stub stores: validate, find top-level members (keys compared
 * case-insensitively, as HNS does), read string values, compact values for comparison, iterate arrays and
 * rewrite a top-level member. Values are handled as spans of the original text, so whatever the caller
 * sent (large uint64s, unknown fields, non-ASCII names) is stored and returned untouched.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stub.h"

const char *json_skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  return p;
}

static const char *skip_string(const char *p) {
  if (*p != '"') return NULL;
  for (p++; *p; p++) {
    if (*p == '"') return p + 1;
    if ((unsigned char)*p < 0x20) return NULL;
    if (*p == '\\') {
      p++;
      if (*p == 'u') {
        for (int i = 1; i <= 4; i++) if (!isxdigit((unsigned char)p[i])) return NULL;
        p += 4;
      } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
        return NULL;
      }
    }
  }
  return NULL;
}

static const char *skip_number(const char *p) {
  const char *s = p;
  if (*p == '-') p++;
  if (!isdigit((unsigned char)*p)) return NULL;
  while (isdigit((unsigned char)*p)) p++;
  if (*p == '.') { p++; if (!isdigit((unsigned char)*p)) return NULL; while (isdigit((unsigned char)*p)) p++; }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!isdigit((unsigned char)*p)) return NULL;
    while (isdigit((unsigned char)*p)) p++;
  }
  return p > s ? p : NULL;
}

static const char *skip_value_depth(const char *p, int depth) {
  if (depth > 64) return NULL;
  p = json_skip_ws(p);
  switch (*p) {
    case '"': return skip_string(p);
    case '{':
      p = json_skip_ws(p + 1);
      if (*p == '}') return p + 1;
      for (;;) {
        p = skip_string(json_skip_ws(p));
        if (!p) return NULL;
        p = json_skip_ws(p);
        if (*p != ':') return NULL;
        p = skip_value_depth(p + 1, depth + 1);
        if (!p) return NULL;
        p = json_skip_ws(p);
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p++;
      }
    case '[':
      p = json_skip_ws(p + 1);
      if (*p == ']') return p + 1;
      for (;;) {
        p = skip_value_depth(p, depth + 1);
        if (!p) return NULL;
        p = json_skip_ws(p);
        if (*p == ']') return p + 1;
        if (*p != ',') return NULL;
        p++;
      }
    case 't': return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f': return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n': return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: return skip_number(p);
  }
}

const char *json_skip_value(const char *p) { return skip_value_depth(p, 0); }

int json_valid(const char *text, char want) {
  if (!text) return 0;
  const char *p = json_skip_ws(text);
  if (want && *p != want) return 0;
  const char *e = json_skip_value(p);
  return e && *json_skip_ws(e) == 0;
}

/* Compares a raw JSON key (between quotes, no escapes expected in HNS keys) with key, ignoring case. */
static int key_equals(const char *raw, size_t n, const char *key) {
  return strlen(key) == n && strncasecmp(raw, key, n) == 0;
}

int json_span_get(jspan_t obj, const char *key, jspan_t *out) {
  const char *p = json_skip_ws(obj.start);
  if (*p != '{') return 0;
  p = json_skip_ws(p + 1);
  if (*p == '}') return 0;
  while (p < obj.end) {
    const char *ks = json_skip_ws(p);
    const char *ke = skip_string(ks);
    if (!ke) return 0;
    p = json_skip_ws(ke);
    if (*p != ':') return 0;
    const char *vs = json_skip_ws(p + 1);
    const char *ve = json_skip_value(vs);
    if (!ve) return 0;
    if (key_equals(ks + 1, (size_t)(ke - ks - 2), key)) {
      out->start = vs;
      out->end = ve;
      return 1;
    }
    p = json_skip_ws(ve);
    if (*p != ',') return 0;
    p++;
  }
  return 0;
}

int json_get(const char *obj, const char *key, jspan_t *out) {
  jspan_t whole = {obj, obj + strlen(obj)};
  return json_span_get(whole, key, out);
}

static int hexval(char c) {
  return isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

char *json_string(jspan_t v) {
  if (v.start >= v.end || *v.start != '"') return NULL;
  sb_t b = {0};
  for (const char *p = v.start + 1; p < v.end - 1; p++) {
    if (*p != '\\') { sb_putn(&b, p, 1); continue; }
    p++;
    char c = *p;
    if (c == 'u') {
      uint32_t cp = (uint32_t)(hexval(p[1]) << 12 | hexval(p[2]) << 8 | hexval(p[3]) << 4 | hexval(p[4]));
      p += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF && p[1] == '\\' && p[2] == 'u') {
        uint32_t lo = (uint32_t)(hexval(p[3]) << 12 | hexval(p[4]) << 8 | hexval(p[5]) << 4 | hexval(p[6]));
        if (lo >= 0xDC00 && lo <= 0xDFFF) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); p += 6; }
      }
      char u[4];
      size_t n;
      if (cp < 0x80) { u[0] = (char)cp; n = 1; }
      else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
      else if (cp < 0x10000) { u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
      else { u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
      sb_putn(&b, u, n);
      continue;
    }
    const char *map = c == 'n' ? "\n" : c == 't' ? "\t" : c == 'r' ? "\r" : c == 'b' ? "\b" : c == 'f' ? "\f" : NULL;
    if (map) sb_puts(&b, map);
    else sb_putn(&b, &c, 1);
  }
  return sb_take(&b);
}

char *json_compact(jspan_t v) {
  sb_t b = {0};
  for (const char *p = v.start; p < v.end; p++) {
    if (*p == '"') {
      const char *e = skip_string(p);
      if (!e) e = v.end;
      sb_putn(&b, p, (size_t)(e - p));
      p = e - 1;
    } else if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
      sb_putn(&b, p, 1);
    }
  }
  return sb_take(&b);
}

int json_array_each(jspan_t arr, void (*fn)(jspan_t item, void *ctx), void *ctx) {
  const char *p = json_skip_ws(arr.start);
  if (*p != '[') return -1;
  p = json_skip_ws(p + 1);
  int n = 0;
  if (*p == ']') return 0;
  while (p < arr.end) {
    const char *s = json_skip_ws(p);
    const char *e = json_skip_value(s);
    if (!e) return -1;
    if (fn) fn((jspan_t){s, e}, ctx);
    n++;
    p = json_skip_ws(e);
    if (*p != ',') break;
    p++;
  }
  return n;
}

char *json_set(const char *obj, const char *key, const char *raw) {
  sb_t b = {0};
  sb_puts(&b, "{");
  int first = 1;
  if (raw) {
    sb_quote(&b, key);
    sb_puts(&b, ":");
    sb_puts(&b, raw);
    first = 0;
  }
  const char *p = json_skip_ws(obj);
  if (*p == '{') {
    p = json_skip_ws(p + 1);
    while (*p && *p != '}') {
      const char *ks = json_skip_ws(p);
      const char *ke = skip_string(ks);
      if (!ke) break;
      p = json_skip_ws(ke);
      if (*p != ':') break;
      const char *vs = json_skip_ws(p + 1);
      const char *ve = json_skip_value(vs);
      if (!ve) break;
      if (!key_equals(ks + 1, (size_t)(ke - ks - 2), key)) {
        if (!first) sb_puts(&b, ",");
        sb_putn(&b, ks, (size_t)(ke - ks));
        sb_puts(&b, ":");
        sb_putn(&b, vs, (size_t)(ve - vs));
        first = 0;
      }
      p = json_skip_ws(ve);
      if (*p == ',') p++;
    }
  }
  sb_puts(&b, "}");
  return sb_take(&b);
}

char *span_dup(jspan_t v) {
  sb_t b = {0};
  sb_putn(&b, v.start, (size_t)(v.end - v.start));
  return sb_take(&b);
}

int span_is_null(jspan_t v) { return v.end - v.start == 4 && strncmp(v.start, "null", 4) == 0; }

int json_object_each(jspan_t obj, void (*fn)(const char *key, jspan_t val, void *ctx), void *ctx) {
  const char *p = json_skip_ws(obj.start);
  if (*p != '{') return -1;
  p = json_skip_ws(p + 1);
  int n = 0;
  if (*p == '}') return 0;
  while (p < obj.end) {
    const char *ks = json_skip_ws(p);
    const char *ke = skip_string(ks);
    if (!ke) return -1;
    p = json_skip_ws(ke);
    if (*p != ':') return -1;
    const char *vs = json_skip_ws(p + 1);
    const char *ve = json_skip_value(vs);
    if (!ve) return -1;
    char *key = json_string((jspan_t){ks, ke});
    fn(key, (jspan_t){vs, ve}, ctx);
    free(key);
    n++;
    p = json_skip_ws(ve);
    if (*p != ',') break;
    p++;
  }
  return n;
}
