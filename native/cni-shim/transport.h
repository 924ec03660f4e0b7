/*
 * The native CNI entrypoint's OS layer: the agent connection (unix socket / named pipe) with a deadline,
 * the environment as UTF-8, stdin/stdout/stderr, the program's own path and running the Node fallback.
 * shim.c holds everything else and is the same on both systems.
 */
#ifndef SY_TRANSPORT_H
#define SY_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#define SY_DEFAULT_SOCKET "\\\\.\\pipe\\switchyard-agent"
#define SY_PATH_SEP '\\'
#else
#define SY_DEFAULT_SOCKET "/run/switchyard/agent.sock"
#define SY_PATH_SEP '/'
#endif

enum sy_connect_result {
    SY_CONNECTED = 0,
    SY_NO_AGENT = 1, /* nothing there, or nobody listening: the fallback runs */
    SY_CONNECT_FAILED = 2,
};

struct sy_conn;

/* msg receives a description on failure (at most cap bytes, NUL-terminated). */
enum sy_connect_result sy_connect(const char *address, int64_t deadline_ms, struct sy_conn **out, char *msg, size_t cap);
/* 0 on success, -1 on error or when the deadline passes (msg says which). */
int sy_write_all(struct sy_conn *c, const void *buf, size_t n, int64_t deadline_ms, char *msg, size_t cap);
/* Reads exactly n bytes: 0 on success, -1 on error, end of stream or deadline (msg says which). */
int sy_read_full(struct sy_conn *c, void *buf, size_t n, int64_t deadline_ms, char *msg, size_t cap);
void sy_close(struct sy_conn *c);

int64_t sy_now_ms(void);

/* Calls fn for each environment entry "NAME=value" as UTF-8. */
void sy_each_env(void (*fn)(const char *entry, void *arg), void *arg);
/* An environment variable as UTF-8, or NULL. The pointer stays valid until the next call. */
const char *sy_getenv(const char *name);

/* Reads all of stdin up to cap bytes: the length, or -1 on error, -2 when over cap. */
long sy_read_stdin(char *buf, size_t cap);
void sy_write_stdout(const char *buf, size_t n);
void sy_write_stderr(const char *buf, size_t n);

/* The full path of this executable (UTF-8), or argv0 when the OS cannot tell. */
void sy_self_path(const char *argv0, char *out, size_t cap);
int sy_is_file(const char *path);
/* Finds `name` in PATH into out; 0 when found. */
int sy_find_in_path(const char *name, char *out, size_t cap);

/*
 * Runs `node script` with this process's environment and standard handles and does not return on success:
 * Linux execs; Windows waits for the child and exits with its code. Returns -1 with msg set on failure.
 */
int sy_run_fallback(const char *node, const char *script, char *msg, size_t cap);

#endif
