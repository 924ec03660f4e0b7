/* The OS layer of the native CNI entrypoint (transport.h): POSIX first, then Win32. */
#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
/* ------------------------------------------------------------------------------------------------ POSIX */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct sy_conn {
    int fd;
};

int64_t sy_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline_ms, char *msg, size_t cap) {
    for (;;) {
        int64_t left = deadline_ms - sy_now_ms();
        if (left <= 0) {
            snprintf(msg, cap, "no answer from the agent before the deadline");
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0) return 0;
        if (r < 0 && errno != EINTR) {
            snprintf(msg, cap, "poll: %s", strerror(errno));
            return -1;
        }
    }
}

enum sy_connect_result sy_connect(const char *address, int64_t deadline_ms, struct sy_conn **out, char *msg, size_t cap) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(address) >= sizeof sa.sun_path) {
        snprintf(msg, cap, "agent socket path is too long (%zu bytes, limit %zu)", strlen(address), sizeof sa.sun_path - 1);
        return SY_CONNECT_FAILED;
    }
    memcpy(sa.sun_path, address, strlen(address));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(msg, cap, "socket: %s", strerror(errno));
        return SY_CONNECT_FAILED;
    }
    /* A unix-socket connect does not block for long; the deadline governs the exchange that follows. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        snprintf(msg, cap, "connect %s: %s", address, strerror(e));
        return (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR) ? SY_NO_AGENT : SY_CONNECT_FAILED;
    }
    (void)deadline_ms;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct sy_conn *c = malloc(sizeof *c);
    if (!c) {
        close(fd);
        snprintf(msg, cap, "out of memory");
        return SY_CONNECT_FAILED;
    }
    c->fd = fd;
    *out = c;
    return SY_CONNECTED;
}

int sy_write_all(struct sy_conn *c, const void *buf, size_t n, int64_t deadline_ms, char *msg, size_t cap) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (wait_fd(c->fd, POLLOUT, deadline_ms, msg, cap) != 0) return -1;
            continue;
        }
        snprintf(msg, cap, "sending the request: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int sy_read_full(struct sy_conn *c, void *buf, size_t n, int64_t deadline_ms, char *msg, size_t cap) {
    char *p = buf;
    while (n > 0) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0) {
            snprintf(msg, cap, "the agent closed the connection before answering");
            return -1;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (wait_fd(c->fd, POLLIN, deadline_ms, msg, cap) != 0) return -1;
            continue;
        }
        snprintf(msg, cap, "reading the reply: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void sy_close(struct sy_conn *c) {
    if (!c) return;
    close(c->fd);
    free(c);
}

void sy_each_env(void (*fn)(const char *entry, void *arg), void *arg) {
    for (char **e = environ; e && *e; e++) fn(*e, arg);
}

const char *sy_getenv(const char *name) {
    return getenv(name);
}

long sy_read_stdin(char *buf, size_t cap) {
    size_t have = 0;
    for (;;) {
        if (have == cap) {
            char extra;
            ssize_t r = read(0, &extra, 1);
            if (r == 0) return (long)have;
            if (r < 0 && errno == EINTR) continue;
            return r < 0 ? -1 : -2;
        }
        ssize_t r = read(0, buf + have, cap - have);
        if (r == 0) return (long)have;
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        have += (size_t)r;
    }
}

static void write_fd(int fd, const char *buf, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        buf += w;
        n -= (size_t)w;
    }
}

void sy_write_stdout(const char *buf, size_t n) { write_fd(1, buf, n); }
void sy_write_stderr(const char *buf, size_t n) { write_fd(2, buf, n); }

void sy_self_path(const char *argv0, char *out, size_t cap) {
    /* argv[0] as invoked keeps the directory the runtime used (installed copies or symlinks alike). */
    if (strchr(argv0, '/')) {
        snprintf(out, cap, "%s", argv0);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n > 0) out[n] = 0;
    else snprintf(out, cap, "%s", argv0);
}

int sy_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int sy_find_in_path(const char *name, char *out, size_t cap) {
    const char *path = getenv("PATH");
    if (!path) return -1;
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0 && (size_t)snprintf(out, cap, "%.*s/%s", (int)len, path, name) < cap && sy_is_file(out) && access(out, X_OK) == 0) return 0;
        if (!end) break;
        path = end + 1;
    }
    return -1;
}

int sy_run_fallback(const char *node, const char *script, char *msg, size_t cap) {
    char *const argv[] = {(char *)node, (char *)script, NULL};
    execve(node, argv, environ);
    snprintf(msg, cap, "exec %s: %s", node, strerror(errno));
    return -1;
}

#else
/* ------------------------------------------------------------------------------------------------ Win32 */
#include <windows.h>

struct sy_conn {
    HANDLE h;
    HANDLE ev;
};

int64_t sy_now_ms(void) { return (int64_t)GetTickCount64(); }

static void win_error(char *msg, size_t cap, const char *what, DWORD err) {
    char text[256] = "";
    FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0, text, sizeof text, NULL);
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == '.')) text[--n] = 0;
    snprintf(msg, cap, "%s: %s (error %lu)", what, text, (unsigned long)err);
}

static int utf8_to_wide(const char *s, wchar_t *out, int cap) {
    return MultiByteToWideChar(CP_UTF8, 0, s, -1, out, cap) > 0 ? 0 : -1;
}

static int wide_to_utf8(const wchar_t *s, char *out, int cap) {
    return WideCharToMultiByte(CP_UTF8, 0, s, -1, out, cap, NULL, NULL) > 0 ? 0 : -1;
}

enum sy_connect_result sy_connect(const char *address, int64_t deadline_ms, struct sy_conn **out, char *msg, size_t cap) {
    wchar_t name[512];
    if (utf8_to_wide(address, name, 512) != 0) {
        snprintf(msg, cap, "agent pipe name is not valid UTF-8 or too long");
        return SY_CONNECT_FAILED;
    }
    for (;;) {
        HANDLE h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            struct sy_conn *c = malloc(sizeof *c);
            HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
            if (!c || !ev) {
                CloseHandle(h);
                free(c);
                snprintf(msg, cap, "out of memory");
                return SY_CONNECT_FAILED;
            }
            c->h = h;
            c->ev = ev;
            *out = c;
            return SY_CONNECTED;
        }
        DWORD err = GetLastError();
        if (err == ERROR_PIPE_BUSY) {
            /* Every instance is taken: the agent is there, wait for a free one within the deadline. */
            int64_t left = deadline_ms - sy_now_ms();
            if (left <= 0 || !WaitNamedPipeW(name, (DWORD)(left > 5000 ? 5000 : left))) {
                if (deadline_ms - sy_now_ms() > 0) continue;
                snprintf(msg, cap, "the agent's pipe stayed busy until the deadline");
                return SY_CONNECT_FAILED;
            }
            continue;
        }
        win_error(msg, cap, "open agent pipe", err);
        return (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) ? SY_NO_AGENT : SY_CONNECT_FAILED;
    }
}

/* One overlapped read or write, waited for until the deadline; cancelled when it passes. */
static int io_once(struct sy_conn *c, int writing, void *buf, DWORD n, DWORD *done, int64_t deadline_ms, char *msg, size_t cap) {
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ResetEvent(c->ev);
    ov.hEvent = c->ev;
    BOOL ok = writing ? WriteFile(c->h, buf, n, NULL, &ov) : ReadFile(c->h, buf, n, NULL, &ov);
    DWORD err = ok ? 0 : GetLastError();
    if (!ok && err != ERROR_IO_PENDING) {
        if (err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED) snprintf(msg, cap, "the agent closed the connection before answering");
        else win_error(msg, cap, writing ? "sending the request" : "reading the reply", err);
        return -1;
    }
    int64_t left = deadline_ms - sy_now_ms();
    if (left < 0) left = 0;
    if (WaitForSingleObject(c->ev, (DWORD)left) != WAIT_OBJECT_0) {
        CancelIoEx(c->h, &ov);
        GetOverlappedResult(c->h, &ov, done, TRUE);
        snprintf(msg, cap, "no answer from the agent before the deadline");
        return -1;
    }
    if (!GetOverlappedResult(c->h, &ov, done, FALSE)) {
        err = GetLastError();
        if (err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED) snprintf(msg, cap, "the agent closed the connection before answering");
        else win_error(msg, cap, writing ? "sending the request" : "reading the reply", err);
        return -1;
    }
    return 0;
}

int sy_write_all(struct sy_conn *c, const void *buf, size_t n, int64_t deadline_ms, char *msg, size_t cap) {
    const char *p = buf;
    while (n > 0) {
        DWORD chunk = n > 65536 ? 65536 : (DWORD)n, done = 0;
        if (io_once(c, 1, (void *)p, chunk, &done, deadline_ms, msg, cap) != 0) return -1;
        p += done;
        n -= done;
    }
    return 0;
}

int sy_read_full(struct sy_conn *c, void *buf, size_t n, int64_t deadline_ms, char *msg, size_t cap) {
    char *p = buf;
    while (n > 0) {
        DWORD chunk = n > 65536 ? 65536 : (DWORD)n, done = 0;
        if (io_once(c, 0, p, chunk, &done, deadline_ms, msg, cap) != 0) return -1;
        if (done == 0) {
            snprintf(msg, cap, "the agent closed the connection before answering");
            return -1;
        }
        p += done;
        n -= done;
    }
    return 0;
}

void sy_close(struct sy_conn *c) {
    if (!c) return;
    CloseHandle(c->h);
    CloseHandle(c->ev);
    free(c);
}

void sy_each_env(void (*fn)(const char *entry, void *arg), void *arg) {
    wchar_t *block = GetEnvironmentStringsW();
    if (!block) return;
    static char entry[65536];
    for (wchar_t *e = block; *e; e += wcslen(e) + 1) {
        /* Entries such as "=C:=C:\\" are the shell's per-drive directories, not variables. */
        if (e[0] == L'=') continue;
        if (wide_to_utf8(e, entry, sizeof entry) == 0) fn(entry, arg);
    }
    FreeEnvironmentStringsW(block);
}

const char *sy_getenv(const char *name) {
    static char value[32768];
    wchar_t wname[256], wvalue[32768];
    if (utf8_to_wide(name, wname, 256) != 0) return NULL;
    DWORD n = GetEnvironmentVariableW(wname, wvalue, 32768);
    if (n == 0 || n >= 32768) return NULL;
    return wide_to_utf8(wvalue, value, sizeof value) == 0 ? value : NULL;
}

long sy_read_stdin(char *buf, size_t cap) {
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    size_t have = 0;
    if (in == NULL || in == INVALID_HANDLE_VALUE) return 0;
    for (;;) {
        DWORD got = 0;
        char extra;
        BOOL ok = have == cap ? ReadFile(in, &extra, 1, &got, NULL) : ReadFile(in, buf + have, (DWORD)(cap - have > 65536 ? 65536 : cap - have), &got, NULL);
        if (!ok) return GetLastError() == ERROR_BROKEN_PIPE ? (long)have : -1;
        if (got == 0) return (long)have;
        if (have == cap) return -2;
        have += got;
    }
}

static void write_handle(DWORD which, const char *buf, size_t n) {
    HANDLE h = GetStdHandle(which);
    while (n > 0) {
        DWORD w = 0;
        if (!WriteFile(h, buf, (DWORD)(n > 65536 ? 65536 : n), &w, NULL) || w == 0) return;
        buf += w;
        n -= w;
    }
}

void sy_write_stdout(const char *buf, size_t n) { write_handle(STD_OUTPUT_HANDLE, buf, n); }
void sy_write_stderr(const char *buf, size_t n) { write_handle(STD_ERROR_HANDLE, buf, n); }

void sy_self_path(const char *argv0, char *out, size_t cap) {
    wchar_t w[4096];
    DWORD n = GetModuleFileNameW(NULL, w, 4096);
    if (n == 0 || n >= 4096 || wide_to_utf8(w, out, (int)cap) != 0) snprintf(out, cap, "%s", argv0);
}

int sy_is_file(const char *path) {
    wchar_t w[4096];
    if (utf8_to_wide(path, w, 4096) != 0) return 0;
    DWORD a = GetFileAttributesW(w);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

int sy_find_in_path(const char *name, char *out, size_t cap) {
    const char *path = sy_getenv("PATH");
    if (!path) return -1;
    char copy[32768];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *dir = copy; dir && *dir;) {
        char *end = strchr(dir, ';');
        if (end) *end = 0;
        if (*dir && (size_t)snprintf(out, cap, "%s\\%s", dir, name) < cap && sy_is_file(out)) return 0;
        dir = end ? end + 1 : NULL;
    }
    return -1;
}

/* CommandLineToArgvW quoting: backslashes are literal except before a quote. */
static size_t quote_arg(const wchar_t *arg, wchar_t *out, size_t cap) {
    size_t o = 0;
    if (o + 1 < cap) out[o++] = L'"';
    for (const wchar_t *p = arg;; p++) {
        size_t slashes = 0;
        while (*p == L'\\') {
            slashes++;
            p++;
        }
        size_t times = (*p == 0) ? slashes * 2 : (*p == L'"') ? slashes * 2 + 1 : slashes;
        for (size_t i = 0; i < times && o + 1 < cap; i++) out[o++] = L'\\';
        if (*p == 0) break;
        if (o + 1 < cap) out[o++] = *p;
    }
    if (o + 1 < cap) out[o++] = L'"';
    out[o] = 0;
    return o;
}

int sy_run_fallback(const char *node, const char *script, char *msg, size_t cap) {
    wchar_t wnode[4096], wscript[4096], cmd[8400];
    if (utf8_to_wide(node, wnode, 4096) != 0 || utf8_to_wide(script, wscript, 4096) != 0) {
        snprintf(msg, cap, "fallback path is not valid UTF-8 or too long");
        return -1;
    }
    size_t o = quote_arg(wnode, cmd, 4200);
    cmd[o++] = L' ';
    quote_arg(wscript, cmd + o, 4200);
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    if (!CreateProcessW(wnode, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        win_error(msg, cap, "start node", GetLastError());
        return -1;
    }
    CloseHandle(pi.hThread);
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 1;
    GetExitCodeProcess(pi.hProcess, &code);
    ExitProcess(code);
}
#endif
