/* A Linux stand-in for the advapi32 service functions (and kernel32's GetLastError) that src/service/scm-koffi.ts
 * binds, so the koffi adapter's marshalling runs byte for byte: UTF-16 strings, the double-NUL dependency list,
 * SERVICE_FAILURE_ACTIONSW with its SC_ACTION array, QUERY_SERVICE_CONFIGW with its strings after the struct,
 * SERVICE_STATUS(_PROCESS) out-parameters. The structures are the Windows x64 ones, declared here in C (their
 * layout is the same under the SysV x64 ABI). Services live in memory; AdvapiStubState() returns them as JSON,
 * decoded by C, so a test can check what the adapter really sent. Not thread-safe (the adapter is synchronous). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
typedef uint16_t WCHAR;
typedef uint32_t DWORD;
typedef int BOOL;

typedef struct { DWORD Type; DWORD Delay; } SC_ACTION;
typedef struct { DWORD dwResetPeriod; WCHAR *lpRebootMsg; WCHAR *lpCommand; DWORD cActions; SC_ACTION *lpsaActions; } SERVICE_FAILURE_ACTIONSW;
typedef struct { WCHAR *lpDescription; } SERVICE_DESCRIPTIONW;
typedef struct { BOOL fFailureActionsOnNonCrashFailures; } SERVICE_FAILURE_ACTIONS_FLAG;
typedef struct { DWORD dwServiceType, dwCurrentState, dwControlsAccepted, dwWin32ExitCode, dwServiceSpecificExitCode, dwCheckPoint, dwWaitHint; } SERVICE_STATUS;
typedef struct { DWORD dwServiceType, dwCurrentState, dwControlsAccepted, dwWin32ExitCode, dwServiceSpecificExitCode, dwCheckPoint, dwWaitHint, dwProcessId, dwServiceFlags; } SERVICE_STATUS_PROCESS;
typedef struct {
    DWORD dwServiceType, dwStartType, dwErrorControl;
    WCHAR *lpBinaryPathName, *lpLoadOrderGroup;
    DWORD dwTagId;
    WCHAR *lpDependencies, *lpServiceStartName, *lpDisplayName;
} QUERY_SERVICE_CONFIGW;

#define MAX_SERVICES 16
struct service {
    int used;
    char name[256], display[256], binpath[1024], deps[1024], description[1024];
    DWORD type, start, error, state, pid;
    int failure_set, flag_set, flag, nactions;
    DWORD reset, actions[8][2];
};
static struct service services[MAX_SERVICES];
static DWORD last_error;
static int manager_token;
static DWORD next_pid = 500;

EXPORT DWORD GetLastError(void) { return last_error; }

/* UTF-16 → UTF-8 (surrogate pairs included). */
static void to_utf8(const WCHAR *w, char *out, size_t cap) {
    size_t n = 0;
    for (; w && *w; w++) {
        uint32_t c = *w;
        if (c >= 0xD800 && c < 0xDC00 && w[1] >= 0xDC00 && w[1] < 0xE000) { c = 0x10000 + ((c - 0xD800) << 10) + (w[1] - 0xDC00); w++; }
        char b[4]; int k;
        if (c < 0x80) { b[0] = (char)c; k = 1; }
        else if (c < 0x800) { b[0] = (char)(0xC0 | c >> 6); b[1] = (char)(0x80 | (c & 0x3F)); k = 2; }
        else if (c < 0x10000) { b[0] = (char)(0xE0 | c >> 12); b[1] = (char)(0x80 | ((c >> 6) & 0x3F)); b[2] = (char)(0x80 | (c & 0x3F)); k = 3; }
        else { b[0] = (char)(0xF0 | c >> 18); b[1] = (char)(0x80 | ((c >> 12) & 0x3F)); b[2] = (char)(0x80 | ((c >> 6) & 0x3F)); b[3] = (char)(0x80 | (c & 0x3F)); k = 4; }
        if (n + (size_t)k + 1 > cap) break;
        memcpy(out + n, b, (size_t)k); n += (size_t)k;
    }
    out[n] = '\0';
}

/* UTF-8 → UTF-16 into out; returns units written (without NUL). */
static size_t to_utf16(const char *s, WCHAR *out) {
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c; int k;
        if (*p < 0x80) { c = *p; k = 1; }
        else if (*p < 0xE0) { c = (uint32_t)(*p & 0x1F) << 6 | (p[1] & 0x3F); k = 2; }
        else if (*p < 0xF0) { c = (uint32_t)(*p & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F); k = 3; }
        else { c = (uint32_t)(*p & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F); k = 4; }
        p += k;
        if (c >= 0x10000) { c -= 0x10000; out[n++] = (WCHAR)(0xD800 + (c >> 10)); out[n++] = (WCHAR)(0xDC00 + (c & 0x3FF)); }
        else out[n++] = (WCHAR)c;
    }
    out[n] = 0;
    return n;
}

/* A double-NUL-terminated UTF-16 list → "a|b|c" in UTF-8 (| never appears in a service name). */
static void multi_to_utf8(const WCHAR *w, char *out, size_t cap) {
    out[0] = '\0';
    if (!w) return;
    size_t n = 0;
    while (*w) {
        char one[256];
        to_utf8(w, one, sizeof one);
        size_t l = strlen(one);
        if (n + l + 2 > cap) break;
        if (n) out[n++] = '|';
        memcpy(out + n, one, l + 1);
        n += l;
        while (*w) w++;
        w++;
    }
}

static struct service *find(const char *name) {
    for (int i = 0; i < MAX_SERVICES; i++)
        if (services[i].used && strcasecmp(services[i].name, name) == 0) return &services[i];
    return NULL;
}

static void *handle_of(struct service *s) { return s; }
static struct service *svc(void *h) {
    struct service *s = h;
    if (!s || s < services || s >= services + MAX_SERVICES || !s->used) { last_error = 6; return NULL; }
    return s;
}

EXPORT void *OpenSCManagerW(const WCHAR *machine, const WCHAR *db, DWORD access) {
    (void)machine; (void)db; (void)access;
    return &manager_token;
}

EXPORT void *OpenServiceW(void *m, const WCHAR *wname, DWORD access) {
    (void)access;
    if (m != &manager_token) { last_error = 6; return NULL; }
    char name[256];
    to_utf8(wname, name, sizeof name);
    struct service *s = find(name);
    if (!s) { last_error = 1060; return NULL; }
    return handle_of(s);
}

EXPORT void *CreateServiceW(void *m, const WCHAR *wname, const WCHAR *display, DWORD access, DWORD type, DWORD start, DWORD error,
                            const WCHAR *path, const WCHAR *group, DWORD *tag, const WCHAR *deps, const WCHAR *account, const WCHAR *password) {
    (void)access; (void)group; (void)tag; (void)account; (void)password;
    if (m != &manager_token) { last_error = 6; return NULL; }
    char name[256];
    to_utf8(wname, name, sizeof name);
    if (find(name)) { last_error = 1073; return NULL; }
    for (int i = 0; i < MAX_SERVICES; i++) {
        if (services[i].used) continue;
        struct service *s = &services[i];
        memset(s, 0, sizeof *s);
        s->used = 1;
        snprintf(s->name, sizeof s->name, "%s", name);
        to_utf8(display, s->display, sizeof s->display);
        to_utf8(path, s->binpath, sizeof s->binpath);
        multi_to_utf8(deps, s->deps, sizeof s->deps);
        s->type = type; s->start = start; s->error = error; s->state = 1;
        return handle_of(s);
    }
    last_error = 8;
    return NULL;
}

EXPORT BOOL ChangeServiceConfigW(void *h, DWORD type, DWORD start, DWORD error, const WCHAR *path, const WCHAR *group, DWORD *tag,
                                 const WCHAR *deps, const WCHAR *account, const WCHAR *password, const WCHAR *display) {
    (void)group; (void)tag; (void)account; (void)password;
    struct service *s = svc(h);
    if (!s) return 0;
    if (type != 0xFFFFFFFFu) s->type = type;
    if (start != 0xFFFFFFFFu) s->start = start;
    if (error != 0xFFFFFFFFu) s->error = error;
    if (path) to_utf8(path, s->binpath, sizeof s->binpath);
    if (deps) multi_to_utf8(deps, s->deps, sizeof s->deps);
    if (display) to_utf8(display, s->display, sizeof s->display);
    return 1;
}

EXPORT BOOL ChangeServiceConfig2W(void *h, DWORD level, void *info) {
    struct service *s = svc(h);
    if (!s) return 0;
    if (!info) { last_error = 87; return 0; }
    if (level == 1) {
        to_utf8(((SERVICE_DESCRIPTIONW *)info)->lpDescription, s->description, sizeof s->description);
    } else if (level == 2) {
        SERVICE_FAILURE_ACTIONSW *fa = info;
        if (fa->cActions > 8 || (fa->cActions && !fa->lpsaActions)) { last_error = 87; return 0; }
        s->failure_set = 1;
        s->reset = fa->dwResetPeriod;
        s->nactions = (int)fa->cActions;
        for (DWORD i = 0; i < fa->cActions; i++) { s->actions[i][0] = fa->lpsaActions[i].Type; s->actions[i][1] = fa->lpsaActions[i].Delay; }
    } else if (level == 4) {
        s->flag_set = 1;
        s->flag = ((SERVICE_FAILURE_ACTIONS_FLAG *)info)->fFailureActionsOnNonCrashFailures;
    } else {
        last_error = 124;
        return 0;
    }
    return 1;
}

EXPORT BOOL QueryServiceConfigW(void *h, QUERY_SERVICE_CONFIGW *buf, DWORD size, DWORD *needed) {
    struct service *s = svc(h);
    if (!s) return 0;
    WCHAR path[1024], display[256], deps[1024];
    size_t pl = to_utf16(s->binpath, path), dl = to_utf16(s->display, display);
    /* deps "a|b" → "a\0b\0\0" */
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", s->deps);
    size_t ql = 0;
    for (char *tok = tmp, *bar; tok && *tok; tok = bar ? bar + 1 : NULL) {
        bar = strchr(tok, '|');
        if (bar) *bar = '\0';
        ql += to_utf16(tok, deps + ql) + 1;
    }
    deps[ql++] = 0;
    DWORD need = (DWORD)(sizeof(QUERY_SERVICE_CONFIGW) + sizeof(WCHAR) * (pl + 1 + dl + 1 + ql + 1));
    *needed = need;
    if (!buf || size < need) { last_error = 122; return 0; }
    memset(buf, 0, need);
    WCHAR *p = (WCHAR *)(buf + 1);
    buf->dwServiceType = s->type; buf->dwStartType = s->start; buf->dwErrorControl = s->error;
    buf->lpBinaryPathName = p; memcpy(p, path, sizeof(WCHAR) * (pl + 1)); p += pl + 1;
    buf->lpDisplayName = p; memcpy(p, display, sizeof(WCHAR) * (dl + 1)); p += dl + 1;
    buf->lpDependencies = p; memcpy(p, deps, sizeof(WCHAR) * ql); p += ql;
    buf->lpLoadOrderGroup = p; *p = 0;
    buf->lpServiceStartName = p;
    return 1;
}

EXPORT BOOL StartServiceW(void *h, DWORD argc, const WCHAR **argv) {
    (void)argc; (void)argv;
    struct service *s = svc(h);
    if (!s) return 0;
    if (s->state != 1) { last_error = 1056; return 0; }
    s->state = 4;
    s->pid = next_pid++;
    return 1;
}

EXPORT BOOL ControlService(void *h, DWORD control, SERVICE_STATUS *st) {
    struct service *s = svc(h);
    if (!s) return 0;
    if (control != 1) { last_error = 1052; return 0; }
    if (s->state == 1) { last_error = 1062; return 0; }
    s->state = 1;
    s->pid = 0;
    memset(st, 0, sizeof *st);
    st->dwServiceType = s->type;
    st->dwCurrentState = 1;
    return 1;
}

EXPORT BOOL QueryServiceStatusEx(void *h, DWORD level, SERVICE_STATUS_PROCESS *buf, DWORD size, DWORD *needed) {
    struct service *s = svc(h);
    if (!s) return 0;
    *needed = sizeof *buf;
    if (level != 0 || size < sizeof *buf) { last_error = 122; return 0; }
    memset(buf, 0, sizeof *buf);
    buf->dwServiceType = s->type;
    buf->dwCurrentState = s->state;
    buf->dwProcessId = s->pid;
    buf->dwWin32ExitCode = s->state == 1 ? 1066 : 0;
    buf->dwServiceSpecificExitCode = s->state == 1 ? 7 : 0;
    return 1;
}

EXPORT BOOL DeleteService(void *h) {
    struct service *s = svc(h);
    if (!s) return 0;
    s->used = 0;
    return 1;
}

EXPORT BOOL CloseServiceHandle(void *h) { (void)h; return 1; }

/* Test export: seeds a service (name, dependencies "a|b") as if someone else installed it. */
EXPORT void AdvapiStubSeed(const char *name, const char *deps) {
    for (int i = 0; i < MAX_SERVICES; i++) {
        if (services[i].used) continue;
        struct service *s = &services[i];
        memset(s, 0, sizeof *s);
        s->used = 1;
        snprintf(s->name, sizeof s->name, "%s", name);
        snprintf(s->display, sizeof s->display, "%s", name);
        snprintf(s->deps, sizeof s->deps, "%s", deps);
        snprintf(s->binpath, sizeof s->binpath, "C:\\k\\%s.exe", name);
        s->type = 0x10; s->start = 2; s->error = 1; s->state = 4; s->pid = next_pid++;
        return;
    }
}

EXPORT void AdvapiStubReset(void) { memset(services, 0, sizeof services); last_error = 0; }

static void json_str(char **p, char *end, const char *s) {
    *p += snprintf(*p, (size_t)(end - *p), "\"");
    for (; *s && *p < end - 8; s++) {
        if (*s == '"' || *s == '\\') *p += snprintf(*p, (size_t)(end - *p), "\\%c", *s);
        else *p += snprintf(*p, (size_t)(end - *p), "%c", *s);
    }
    *p += snprintf(*p, (size_t)(end - *p), "\"");
}

/* Test export: every service as JSON, as the stub decoded it. */
EXPORT const char *AdvapiStubState(void) {
    static char out[65536];
    char *p = out, *end = out + sizeof out;
    p += snprintf(p, (size_t)(end - p), "{");
    int first = 1;
    for (int i = 0; i < MAX_SERVICES; i++) {
        struct service *s = &services[i];
        if (!s->used) continue;
        if (!first) p += snprintf(p, (size_t)(end - p), ",");
        first = 0;
        json_str(&p, end, s->name);
        p += snprintf(p, (size_t)(end - p), ":{\"display\":");
        json_str(&p, end, s->display);
        p += snprintf(p, (size_t)(end - p), ",\"binpath\":");
        json_str(&p, end, s->binpath);
        p += snprintf(p, (size_t)(end - p), ",\"deps\":");
        json_str(&p, end, s->deps);
        p += snprintf(p, (size_t)(end - p), ",\"description\":");
        json_str(&p, end, s->description);
        p += snprintf(p, (size_t)(end - p), ",\"type\":%u,\"start\":%u,\"error\":%u,\"state\":%u,\"flag\":%d,\"reset\":%u,\"actions\":[",
                      s->type, s->start, s->error, s->state, s->flag_set ? s->flag : -1, s->failure_set ? s->reset : 0);
        for (int a = 0; a < s->nactions; a++) p += snprintf(p, (size_t)(end - p), "%s[%u,%u]", a ? "," : "", s->actions[a][0], s->actions[a][1]);
        p += snprintf(p, (size_t)(end - p), "]}");
    }
    snprintf(p, (size_t)(end - p), "}");
    return out;
}
