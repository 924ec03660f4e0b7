/*
 * Switchyard's native CNI entrypoint (docs/cni.md "Routes"). One program installed under each plugin name
 * (win-bridge, win-overlay, switchyard, switchyard-ipam). It forwards the call — the name it was invoked
 * as, the CNI_* and SWITCHYARD_* environment, stdin as base64 — to the agent's local API
 * (docs/agent-api.md: 4-byte big-endian length + UTF-8 JSON, one request and one reply per connection) and
 * prints the agent's stdout/stderr and exits with its exit code.
 *
 * When no agent is there (no socket / pipe, connection refused) it runs the Node entrypoint instead:
 * `<dir>/switchyard-node/<name>.js` with node from SWITCHYARD_NODE, else `<dir>/switchyard-node/node`, else
 * PATH. Nothing has been read from stdin at that point, so the fallback gets the runtime's stdin as is.
 *
 * Once the agent has the request, every failure (dropped connection, SWITCHYARD_AGENT_TIMEOUT_MS passed,
 * default 55000, malformed reply) is CNI error JSON code 11 ("try again later"): the reply is printed only
 * when it has been read whole, never half.
 *
 * The payload is not parsed: stdin goes out as base64. The reply is read with a strict reader for the one
 * flat object it can be. Buffers have explicit limits (SY_MAX_*).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

#define SY_MAX_FRAME (4u * 1024u * 1024u) /* MAX_FRAME_BYTES in src/agent/api/types.ts */
#define SY_MAX_STDIN (1u * 1024u * 1024u)
#define SY_MAX_PATH 4096
#define SY_DEFAULT_TIMEOUT_MS 55000

/* ---------------------------------------------------------------------------------------- output buffer */

struct buf {
    char *p;
    size_t n, cap;
    int overflow;
};

static void buf_put(struct buf *b, const char *s, size_t n) {
    if (b->overflow || b->n + n > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void buf_str(struct buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_fmt(struct buf *b, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/*
 * A JSON string literal of s[0..n) (UTF-8 passed through). html=1 escapes <, > and & as Go's encoding/json
 * does, so error JSON printed here reads exactly like the plugins' own.
 */
static void buf_json_string(struct buf *b, const char *s, size_t n, int html) {
    static const char hex[] = "0123456789abcdef";
    buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_put(b, e, 2);
        } else if (c == '\n') buf_put(b, "\\n", 2);
        else if (c == '\r') buf_put(b, "\\r", 2);
        else if (c == '\t') buf_put(b, "\\t", 2);
        else if (c < 0x20 || c == 0x7f || (html && (c == '<' || c == '>' || c == '&'))) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_put(b, e, 6);
        } else buf_put(b, (const char *)&c, 1);
    }
    buf_put(b, "\"", 1);
}

static void buf_base64(struct buf *b, const unsigned char *s, size_t n) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63], i + 1 < n ? tbl[v >> 6 & 63] : '=', i + 2 < n ? tbl[v & 63] : '='};
        buf_put(b, q, 4);
    }
}

/* ------------------------------------------------------------------------------------------ CNI errors */

/* Prints a CNI error as the reference does (4-space indent, no trailing newline) and exits 1. */
static void cni_fail(int code, const char *msg, const char *details) {
    static char out[16384];
    struct buf b = {out, 0, sizeof out, 0};
    buf_fmt(&b, "{\n    \"code\": %d,\n    \"msg\": ", code);
    buf_json_string(&b, msg, strlen(msg), 1);
    if (details && *details) {
        buf_str(&b, ",\n    \"details\": ");
        buf_json_string(&b, details, strlen(details), 1);
    }
    buf_str(&b, "\n}");
    if (!b.overflow) sy_write_stdout(out, b.n);
    exit(1);
}

#define TRY_AGAIN 11
#define NOT_AVAILABLE 50
#define IO_FAILURE 5

/* ----------------------------------------------------------------------------------------- the request */

struct env_ctx {
    struct buf *b;
    int first;
};

static void add_env(const char *entry, void *arg) {
    struct env_ctx *ctx = arg;
    if (strncmp(entry, "CNI_", 4) != 0 && strncmp(entry, "SWITCHYARD_", 11) != 0) return;
    const char *eq = strchr(entry, '=');
    if (!eq) return;
    buf_str(ctx->b, ctx->first ? "" : ",");
    ctx->first = 0;
    buf_json_string(ctx->b, entry, (size_t)(eq - entry), 0);
    buf_put(ctx->b, ":", 1);
    buf_json_string(ctx->b, eq + 1, strlen(eq + 1), 0);
}

/* --------------------------------------------------------------------------------------------- the reply */

/*
 * The reply is one flat JSON object: {"ok":true,"stdout":"…","stderr":"…","exitCode":N} or
 * {"ok":false,"error":"…"}. This reader accepts exactly that shape (string, number, true/false values;
 * unknown keys skipped) and decodes strings in place (a decoded string is never longer than its escape).
 */
struct reply {
    int ok; /* -1 unknown */
    char *out, *err, *error;
    size_t out_n, err_n, error_n;
    long exit_code;
    int have_exit;
};

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(const char *p, const char *end, unsigned *v) {
    if (end - p < 4) return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        *v = *v << 4 | (unsigned)h;
    }
    return 0;
}

/* Decodes the string starting after its opening quote into dst; returns the position after the closing quote. */
static char *read_string(char *p, char *end, char **dst, size_t *len) {
    char *o = p;
    *dst = p;
    while (p < end && *p != '"') {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        if (++p >= end) return NULL;
        char c = *p++;
        switch (c) {
        case '"': case '\\': case '/': *o++ = c; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp;
            if (read_hex4(p, end, &cp) != 0) return NULL;
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                unsigned lo;
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && read_hex4(p + 2, end, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                } else cp = 0xfffd;
            } else if (cp >= 0xdc00 && cp < 0xe000) cp = 0xfffd;
            /* A \uXXXX escape is 6 bytes, a pair 12: UTF-8 never needs more room than that. */
            if (cp < 0x80) *o++ = (char)cp;
            else if (cp < 0x800) {
                *o++ = (char)(0xc0 | cp >> 6);
                *o++ = (char)(0x80 | (cp & 63));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xe0 | cp >> 12);
                *o++ = (char)(0x80 | (cp >> 6 & 63));
                *o++ = (char)(0x80 | (cp & 63));
            } else {
                *o++ = (char)(0xf0 | cp >> 18);
                *o++ = (char)(0x80 | (cp >> 12 & 63));
                *o++ = (char)(0x80 | (cp >> 6 & 63));
                *o++ = (char)(0x80 | (cp & 63));
            }
            break;
        }
        default: return NULL;
        }
    }
    if (p >= end) return NULL;
    *len = (size_t)(o - *dst);
    return p + 1;
}

static int parse_reply(char *p, char *end, struct reply *r) {
    memset(r, 0, sizeof *r);
    r->ok = -1;
    p = (char *)skip_ws(p, end);
    if (p >= end || *p++ != '{') return -1;
    p = (char *)skip_ws(p, end);
    if (p < end && *p == '}') return -1;
    for (;;) {
        p = (char *)skip_ws(p, end);
        if (p >= end || *p++ != '"') return -1;
        char *key;
        size_t klen;
        if (!(p = read_string(p, end, &key, &klen))) return -1;
        p = (char *)skip_ws(p, end);
        if (p >= end || *p++ != ':') return -1;
        p = (char *)skip_ws(p, end);
        if (p >= end) return -1;
        if (*p == '"') {
            char *v;
            size_t vlen;
            if (!(p = read_string(p + 1, end, &v, &vlen))) return -1;
            if (klen == 6 && !memcmp(key, "stdout", 6)) r->out = v, r->out_n = vlen;
            else if (klen == 6 && !memcmp(key, "stderr", 6)) r->err = v, r->err_n = vlen;
            else if (klen == 5 && !memcmp(key, "error", 5)) r->error = v, r->error_n = vlen;
        } else if (end - p >= 4 && !memcmp(p, "true", 4)) {
            if (klen == 2 && !memcmp(key, "ok", 2)) r->ok = 1;
            p += 4;
        } else if (end - p >= 5 && !memcmp(p, "false", 5)) {
            if (klen == 2 && !memcmp(key, "ok", 2)) r->ok = 0;
            p += 5;
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            long v = 0;
            int neg = *p == '-';
            if (neg) p++;
            if (p >= end || *p < '0' || *p > '9') return -1;
            while (p < end && *p >= '0' && *p <= '9') {
                if (v > 100000000) return -1;
                v = v * 10 + (*p++ - '0');
            }
            if (klen == 8 && !memcmp(key, "exitCode", 8)) r->exit_code = neg ? -v : v, r->have_exit = 1;
        } else return -1; /* nested values never occur in a cni reply */
        p = (char *)skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') break;
        return -1;
    }
    p = (char *)skip_ws(p + 1, end);
    return p == end ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------- fallback */

static void fallback(const char *self, const char *name, const char *why) {
    char dir[SY_MAX_PATH], script[SY_MAX_PATH], node[SY_MAX_PATH], msg[512] = "";
    snprintf(dir, sizeof dir, "%s", self);
    char *slash = strrchr(dir, SY_PATH_SEP);
#ifdef _WIN32
    char *fwd = strrchr(dir, '/');
    if (fwd && (!slash || fwd > slash)) slash = fwd;
    const char *node_name = "node.exe";
#else
    const char *node_name = "node";
#endif
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    if ((size_t)snprintf(script, sizeof script, "%s%cswitchyard-node%c%s.js", dir, SY_PATH_SEP, SY_PATH_SEP, name) >= sizeof script || !sy_is_file(script)) {
        char details[SY_MAX_PATH + 600];
        snprintf(details, sizeof details, "%s; no Node entrypoint at %s", why, script);
        cni_fail(NOT_AVAILABLE, "switchyard agent is not running and the Node fallback is not installed", details);
    }
    const char *env_node = sy_getenv("SWITCHYARD_NODE");
    int found = 0;
    if (env_node && *env_node) {
        snprintf(node, sizeof node, "%s", env_node);
        found = sy_is_file(node);
    } else {
        found = (size_t)snprintf(node, sizeof node, "%s%cswitchyard-node%c%s", dir, SY_PATH_SEP, SY_PATH_SEP, node_name) < sizeof node && sy_is_file(node);
        if (!found) found = sy_find_in_path(node_name, node, sizeof node) == 0;
    }
    if (!found) {
        char details[SY_MAX_PATH + 600];
        snprintf(details, sizeof details, "%s; %s not found (SWITCHYARD_NODE, %s%cswitchyard-node%c%s, PATH)", why,
                 env_node && *env_node ? env_node : node_name, dir, SY_PATH_SEP, SY_PATH_SEP, node_name);
        cni_fail(NOT_AVAILABLE, "switchyard agent is not running and node was not found for the fallback", details);
    }
    sy_run_fallback(node, script, msg, sizeof msg);
    char details[SY_MAX_PATH + 600];
    snprintf(details, sizeof details, "%s; %s", why, msg);
    cni_fail(NOT_AVAILABLE, "switchyard agent is not running and the Node fallback could not be started", details);
}

/* ----------------------------------------------------------------------------------------------- main */

static void plugin_name(const char *self, char *out, size_t cap) {
    const char *base = self;
    for (const char *p = self; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    snprintf(out, cap, "%s", base);
    size_t n = strlen(out);
    if (n > 4 && (!strcmp(out + n - 4, ".exe") || !strcmp(out + n - 4, ".EXE") || !strcmp(out + n - 4, ".Exe"))) out[n - 4] = 0;
}

int main(int argc, char **argv) {
    (void)argc;
    char self[SY_MAX_PATH], name[256], msg[512] = "";
    sy_self_path(argv[0] ? argv[0] : "switchyard", self, sizeof self);
    plugin_name(argv[0] && *argv[0] ? argv[0] : self, name, sizeof name);

    const char *address = sy_getenv("SWITCHYARD_AGENT_SOCKET");
    char addr[SY_MAX_PATH];
    snprintf(addr, sizeof addr, "%s", address && *address ? address : SY_DEFAULT_SOCKET);
    long timeout = SY_DEFAULT_TIMEOUT_MS;
    const char *t = sy_getenv("SWITCHYARD_AGENT_TIMEOUT_MS");
    if (t && *t) {
        char *endp;
        long v = strtol(t, &endp, 10);
        if (*endp || v <= 0 || v > 3600000) cni_fail(4, "SWITCHYARD_AGENT_TIMEOUT_MS must be a number of milliseconds (1..3600000)", t);
        timeout = v;
    }
    int64_t deadline = sy_now_ms() + timeout;

    struct sy_conn *conn = NULL;
    enum sy_connect_result cr = sy_connect(addr, deadline, &conn, msg, sizeof msg);
    if (cr == SY_NO_AGENT) fallback(self, name, msg);
    if (cr != SY_CONNECTED) cni_fail(TRY_AGAIN, "cannot reach the switchyard agent", msg);

    /* The skel reads no stdin for VERSION (or without a command), so neither does this. */
    const char *cmd = sy_getenv("CNI_COMMAND");
    int wants_stdin = cmd && *cmd && strcmp(cmd, "VERSION") != 0;
    static char in[SY_MAX_STDIN];
    long in_n = 0;
    if (wants_stdin) {
        in_n = sy_read_stdin(in, sizeof in);
        if (in_n == -2) cni_fail(IO_FAILURE, "error reading from stdin", "the network configuration is larger than 1 MiB");
        if (in_n < 0) cni_fail(IO_FAILURE, "error reading from stdin", "read failed");
    }

    static char frame[SY_MAX_FRAME + 4];
    struct buf b = {frame + 4, 0, SY_MAX_FRAME, 0};
    buf_str(&b, "{\"op\":\"cni\",\"plugin\":");
    buf_json_string(&b, name, strlen(name), 0);
    buf_str(&b, ",\"env\":{");
    struct env_ctx ctx = {&b, 1};
    sy_each_env(add_env, &ctx);
    buf_str(&b, "},\"stdin\":\"");
    buf_base64(&b, (const unsigned char *)in, (size_t)in_n);
    buf_str(&b, "\"}");
    if (b.overflow) cni_fail(IO_FAILURE, "the CNI call is too large to forward to the switchyard agent", "environment and stdin exceed 4 MiB");
    frame[0] = (char)(b.n >> 24);
    frame[1] = (char)(b.n >> 16);
    frame[2] = (char)(b.n >> 8);
    frame[3] = (char)b.n;

    /* A refusal (e.g. of a caller that is not root) may arrive, and the agent close, before the request is
     * written whole: the reply then explains the failed write better than the write error does. */
    char write_msg[512] = "";
    int wrote = sy_write_all(conn, frame, b.n + 4, deadline, write_msg, sizeof write_msg);
    unsigned char head[4];
    if (sy_read_full(conn, head, 4, deadline, msg, sizeof msg) != 0) {
        if (wrote != 0) cni_fail(TRY_AGAIN, "the switchyard agent did not take the call", write_msg);
        cni_fail(TRY_AGAIN, "no reply from the switchyard agent", msg);
    }
    size_t len = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
    if (len > SY_MAX_FRAME) cni_fail(TRY_AGAIN, "malformed reply from the switchyard agent", "reply frame over 4 MiB");
    /* The request buffer is done with: the reply is read into the same memory. */
    if (sy_read_full(conn, frame, len, deadline, msg, sizeof msg) != 0) cni_fail(TRY_AGAIN, "no reply from the switchyard agent", msg);
    sy_close(conn);

    struct reply r;
    if (parse_reply(frame, frame + len, &r) != 0 || r.ok < 0) cni_fail(TRY_AGAIN, "malformed reply from the switchyard agent", "not a reply object");
    if (r.ok == 0) {
        char details[1024];
        snprintf(details, sizeof details, "%.*s", (int)(r.error_n < 1000 ? r.error_n : 1000), r.error ? r.error : "");
        cni_fail(999, "the switchyard agent refused the call", details);
    }
    if (!r.have_exit || !r.out) cni_fail(TRY_AGAIN, "malformed reply from the switchyard agent", "no stdout or exitCode");
    if (r.err_n) sy_write_stderr(r.err, r.err_n);
    if (r.out_n) sy_write_stdout(r.out, r.out_n);
    return (int)(r.exit_code & 255);
}
