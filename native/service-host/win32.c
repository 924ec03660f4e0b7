/* The Windows side of the service host: the SCM dispatcher and control handler, the job object, the agent's
 * process and its stdin pipe, and the log file. All policy lives in host.c; this file only adapts Win32.
 *
 * Usage (the service's ImagePath, written by `switchyard service install`):
 *   switchyard-service.exe --conf C:\ProgramData\Switchyard\service-host.conf
 * Without --conf the file next to the executable with the extension .conf is read. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host.h"

#define SERVICE_NAME L"switchyard-agent"

static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;
static HANDLE g_stop_event;
static const wchar_t *g_conf_path;

struct win_ctx {
    HANDLE job;
    HANDLE process;
    HANDLE stdin_write;
    HANDLE log;
};

static wchar_t *to_wide(const char *s) {
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
    if (n <= 0) return NULL;
    wchar_t *w = malloc(sizeof(wchar_t) * (size_t)n);
    if (w) MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
    return w;
}

static void win_set_status(void *ctx, enum sy_state state, uint32_t win32_exit, uint32_t specific_exit, uint32_t wait_hint_ms) {
    (void)ctx;
    static const DWORD map[] = {SERVICE_START_PENDING, SERVICE_RUNNING, SERVICE_STOP_PENDING, SERVICE_STOPPED};
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = map[state];
    g_status.dwControlsAccepted = state == SY_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN : 0;
    g_status.dwWin32ExitCode = win32_exit;
    g_status.dwServiceSpecificExitCode = specific_exit;
    g_status.dwWaitHint = wait_hint_ms;
    g_status.dwCheckPoint = (state == SY_START_PENDING || state == SY_STOP_PENDING) ? g_status.dwCheckPoint + 1 : 0;
    SetServiceStatus(g_status_handle, &g_status);
}

static void format_error(DWORD code, char *err, size_t errcap) {
    wchar_t buf[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, buf, 512, NULL);
    while (n > 0 && (buf[n - 1] == L'\r' || buf[n - 1] == L'\n' || buf[n - 1] == L'.')) buf[--n] = 0;
    if (n == 0) swprintf(buf, 512, L"Win32 error %lu", (unsigned long)code);
    WideCharToMultiByte(CP_UTF8, 0, buf, -1, err, (int)errcap, NULL, NULL);
}

static uint32_t fail(const char *what, char *err, size_t errcap) {
    DWORD code = GetLastError();
    char msg[400];
    format_error(code, msg, sizeof msg);
    snprintf(err, errcap, "%s: %s", what, msg);
    return code ? code : ERROR_GEN_FAILURE;
}

/* Logs are appended forever otherwise: at each start, a log over 10 MiB becomes <name>.1 (replacing the older one). */
#define SY_LOG_ROTATE_BYTES (10ull << 20)
static void rotate_if_large(const wchar_t *path) {
    WIN32_FILE_ATTRIBUTE_DATA a;
    if (!GetFileAttributesExW(path, GetFileExInfoStandard, &a)) return;
    unsigned long long size = ((unsigned long long)a.nFileSizeHigh << 32) | a.nFileSizeLow;
    if (size <= SY_LOG_ROTATE_BYTES) return;
    size_t n = wcslen(path);
    wchar_t *old = malloc(sizeof(wchar_t) * (n + 3));
    if (!old) return;
    wcscpy(old, path);
    wcscat(old, L".1");
    MoveFileExW(path, old, MOVEFILE_REPLACE_EXISTING);
    free(old);
}

static uint32_t win_spawn(void *vctx, const char *program, const char *cmdline, const char *output, uint32_t *pid, char *err, size_t errcap) {
    struct win_ctx *c = vctx;
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    HANDLE stdin_read = NULL, out = INVALID_HANDLE_VALUE;
    uint32_t rc = 0;
    wchar_t *wprog = to_wide(program), *wcmd = to_wide(cmdline), *wout = output ? to_wide(output) : NULL;
    PROCESS_INFORMATION pi = {0};

    c->job = CreateJobObjectW(NULL, NULL);
    if (!c->job) { rc = fail("CreateJobObjectW", err, errcap); goto done; }
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = {0};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(c->job, JobObjectExtendedLimitInformation, &limits, sizeof limits)) {
        rc = fail("SetInformationJobObject(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE)", err, errcap);
        goto done;
    }
    if (!CreatePipe(&stdin_read, &c->stdin_write, &inherit, 0)) { rc = fail("CreatePipe (agent stdin)", err, errcap); goto done; }
    SetHandleInformation(c->stdin_write, HANDLE_FLAG_INHERIT, 0);
    if (wout) {
        rotate_if_large(wout);
        out = CreateFileW(wout, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &inherit, OPEN_ALWAYS,
                          FILE_ATTRIBUTE_NORMAL, NULL);
        if (out == INVALID_HANDLE_VALUE) { rc = fail("opening the agent's output log", err, errcap); goto done; }
    }
    STARTUPINFOW si = {0};
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = stdin_read;
    si.hStdOutput = out != INVALID_HANDLE_VALUE ? out : NULL;
    si.hStdError = si.hStdOutput;
    /* Tells the agent to take "stop" (or EOF) on stdin as its graceful stop (src/agent/platform/stop-signal.ts). */
    SetEnvironmentVariableW(L"SWITCHYARD_SERVICE_STOP", L"stdin");
    /* Suspended until it is in the job, so nothing it starts can escape the job. */
    if (!CreateProcessW(wprog, wcmd, NULL, NULL, TRUE, CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &si, &pi)) {
        rc = fail("CreateProcessW", err, errcap);
        goto done;
    }
    if (!AssignProcessToJobObject(c->job, pi.hProcess)) {
        rc = fail("AssignProcessToJobObject", err, errcap);
        TerminateProcess(pi.hProcess, 1);
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
        goto done;
    }
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    c->process = pi.hProcess;
    *pid = pi.dwProcessId;
done:
    if (stdin_read) CloseHandle(stdin_read);
    if (out != INVALID_HANDLE_VALUE) CloseHandle(out);
    free(wprog);
    free(wcmd);
    free(wout);
    return rc;
}

static enum sy_wait win_wait(void *vctx, int watch_stop, uint32_t timeout_ms) {
    struct win_ctx *c = vctx;
    HANDLE hs[2] = {c->process, g_stop_event};
    DWORD r = WaitForMultipleObjects(watch_stop ? 2 : 1, hs, FALSE, timeout_ms == SY_WAIT_FOREVER ? INFINITE : timeout_ms);
    if (r == WAIT_OBJECT_0) return SY_WAIT_CHILD_EXITED;
    if (r == WAIT_OBJECT_0 + 1) return SY_WAIT_STOP_REQUESTED;
    if (r == WAIT_TIMEOUT) return SY_WAIT_TIMEOUT;
    return SY_WAIT_FAILED;
}

static int win_request_stop(void *vctx) {
    struct win_ctx *c = vctx;
    if (!c->stdin_write) return -1;
    DWORD n = 0;
    BOOL ok = WriteFile(c->stdin_write, "stop\n", 5, &n, NULL);
    CloseHandle(c->stdin_write);
    c->stdin_write = NULL;
    return ok ? 0 : -1;
}

static void win_terminate(void *vctx, uint32_t code) {
    struct win_ctx *c = vctx;
    if (c->job) TerminateJobObject(c->job, code);
}

static uint32_t win_exit_code(void *vctx) {
    struct win_ctx *c = vctx;
    DWORD code = 0;
    if (!c->process || !GetExitCodeProcess(c->process, &code)) return ERROR_GEN_FAILURE;
    return code;
}

static void win_log(void *vctx, const char *line) {
    struct win_ctx *c = vctx;
    if (!c->log || c->log == INVALID_HANDLE_VALUE) return;
    SYSTEMTIME t;
    GetSystemTime(&t);
    char buf[4300];
    int n = snprintf(buf, sizeof buf, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ switchyard-service[%lu]: %s\r\n", t.wYear, t.wMonth, t.wDay, t.wHour,
                     t.wMinute, t.wSecond, t.wMilliseconds, (unsigned long)GetCurrentProcessId(), line);
    if (n < 0) return;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    DWORD w;
    WriteFile(c->log, buf, (DWORD)n, &w, NULL);
}

static void win_release(void *vctx) {
    struct win_ctx *c = vctx;
    if (c->stdin_write) { CloseHandle(c->stdin_write); c->stdin_write = NULL; }
    if (c->job) { CloseHandle(c->job); c->job = NULL; }
}

static DWORD WINAPI control_handler(DWORD control, DWORD type, LPVOID data, LPVOID context) {
    (void)type; (void)data; (void)context;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
        SetEvent(g_stop_event);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

/* Reads the whole configuration file as UTF-8. */
static char *read_file(const wchar_t *path, DWORD *err) {
    HANDLE f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (f == INVALID_HANDLE_VALUE) { *err = GetLastError(); return NULL; }
    LARGE_INTEGER size;
    char *buf = NULL;
    if (GetFileSizeEx(f, &size) && size.QuadPart < (1 << 20)) {
        buf = malloc((size_t)size.QuadPart + 1);
        DWORD got = 0;
        if (buf && ReadFile(f, buf, (DWORD)size.QuadPart, &got, NULL)) buf[got] = '\0';
        else { free(buf); buf = NULL; }
    }
    if (!buf) *err = GetLastError() ? GetLastError() : ERROR_INVALID_DATA;
    CloseHandle(f);
    return buf;
}

static HANDLE open_log_w(const wchar_t *w) {
    return CreateFileW(w, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
}

static HANDLE open_log(const char *path) {
    if (!path) return INVALID_HANDLE_VALUE;
    wchar_t *w = to_wide(path);
    if (w) rotate_if_large(w);
    HANDLE h = w ? open_log_w(w) : INVALID_HANDLE_VALUE;
    free(w);
    return h;
}

/* Before the configuration names a log, problems go to service-host.log beside the configuration file. */
static void log_beside_conf(struct win_ctx *ctx, const char *line) {
    wchar_t path[MAX_PATH + 32];
    wcsncpy(path, g_conf_path, MAX_PATH);
    path[MAX_PATH] = 0;
    wchar_t *slash = wcsrchr(path, L'\\');
    if (slash) slash[1] = 0; else path[0] = 0;
    wcscat(path, L"service-host.log");
    ctx->log = open_log_w(path);
    win_log(ctx, line);
    if (ctx->log != INVALID_HANDLE_VALUE) CloseHandle(ctx->log);
    ctx->log = NULL;
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv) {
    /* The SCM passes the name the service was installed under; the host works under any name. */
    g_status_handle = RegisterServiceCtrlHandlerExW(argc > 0 ? argv[0] : SERVICE_NAME, control_handler, NULL);
    if (!g_status_handle) return;
    g_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    struct win_ctx ctx = {0};
    struct sy_platform p = {&ctx, win_set_status, win_spawn, win_wait, win_request_stop, win_terminate, win_exit_code, win_log, win_release};

    DWORD read_err = 0;
    char *text = read_file(g_conf_path, &read_err);
    struct sy_conf conf;
    char err[512];
    if (!text) {
        snprintf(err, sizeof err, "start failed: cannot read the configuration file (error %lu)", (unsigned long)read_err);
        log_beside_conf(&ctx, err);
        win_set_status(NULL, SY_STOPPED, read_err ? read_err : ERROR_FILE_NOT_FOUND, 0, 0);
        return;
    }
    if (sy_conf_parse(text, &conf, err, sizeof err) != 0) {
        char line[600];
        snprintf(line, sizeof line, "start failed: configuration file: %s", err);
        log_beside_conf(&ctx, line);
        win_set_status(NULL, SY_STOPPED, SY_ERROR_BAD_CONFIGURATION, 0, 0);
        free(text);
        return;
    }
    ctx.log = open_log(conf.log);
    sy_run(&p, &conf);
    if (ctx.process) CloseHandle(ctx.process);
    if (ctx.log != INVALID_HANDLE_VALUE) CloseHandle(ctx.log);
    free(text);
}

int wmain(int argc, wchar_t **argv) {
    static wchar_t default_conf[MAX_PATH + 8];
    if (argc == 3 && wcscmp(argv[1], L"--conf") == 0) {
        g_conf_path = argv[2];
    } else if (argc == 1) {
        DWORD n = GetModuleFileNameW(NULL, default_conf, MAX_PATH);
        if (n == 0 || n >= MAX_PATH) return 1;
        wchar_t *dot = wcsrchr(default_conf, L'.');
        if (dot) *dot = 0;
        wcscat(default_conf, L".conf");
        g_conf_path = default_conf;
    } else {
        fwprintf(stderr, L"usage: switchyard-service.exe [--conf FILE]\n");
        return 2;
    }
    SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)SERVICE_NAME, service_main}, {NULL, NULL}};
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD e = GetLastError();
        if (e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
            fwprintf(stderr, L"switchyard-service.exe runs as a Windows service: install it with `switchyard service install`\n");
        else
            fwprintf(stderr, L"StartServiceCtrlDispatcherW failed: error %lu\n", (unsigned long)e);
        return 1;
    }
    return 0;
}
