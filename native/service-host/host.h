/* The service host's logic, independent of Windows: start the agent, report RUNNING, turn a stop request into
 * the agent's graceful stop, wait a bounded time, then terminate its job, and report STOPPED with the agent's
 * exit code. Every operating-system call goes through struct sy_platform, so win32.c supplies the SCM, job
 * object and process calls and test/host-check.c supplies a scripted fake that runs on Linux. */
#ifndef SY_HOST_H
#define SY_HOST_H
#include <stddef.h>
#include <stdint.h>
#include "conf.h"

enum sy_state { SY_START_PENDING, SY_RUNNING, SY_STOP_PENDING, SY_STOPPED };
enum sy_wait { SY_WAIT_CHILD_EXITED, SY_WAIT_STOP_REQUESTED, SY_WAIT_TIMEOUT, SY_WAIT_FAILED };

#define SY_WAIT_FOREVER 0xFFFFFFFFu
/* Win32 error codes the host reports; defined here so the logic does not need <windows.h>. */
#define SY_ERROR_SERVICE_SPECIFIC_ERROR 1066u
#define SY_ERROR_BAD_CONFIGURATION 1610u
/* The exit code given to the agent's job when it ignores the graceful stop (Windows' ERROR_TIMEOUT). */
#define SY_TERMINATED_EXIT_CODE 1460u
/* How often a STOP_PENDING status is re-reported (with a new checkpoint) while waiting. */
#define SY_STOP_SLICE_MS 2000u

struct sy_platform {
    void *ctx;
    /* SetServiceStatus; the platform advances the checkpoint for pending states. */
    void (*set_status)(void *ctx, enum sy_state state, uint32_t win32_exit, uint32_t specific_exit, uint32_t wait_hint_ms);
    /* Starts cmdline in a kill-on-close job, stdin a pipe, stdout/stderr appended to output (may be NULL).
     * Returns 0, or a Win32 error code with err filled. */
    uint32_t (*spawn)(void *ctx, const char *program, const char *cmdline, const char *output, uint32_t *pid, char *err, size_t errcap);
    /* Waits for the child to exit or (when watch_stop) for the SCM's stop request. */
    enum sy_wait (*wait)(void *ctx, int watch_stop, uint32_t timeout_ms);
    /* The agent's graceful stop: "stop\n" on its stdin, then stdin closed. */
    int (*request_stop)(void *ctx);
    void (*terminate)(void *ctx, uint32_t exit_code);
    uint32_t (*exit_code)(void *ctx);
    void (*log)(void *ctx, const char *line);
    /* Closes the job: anything still in it dies (kill-on-close). */
    void (*release)(void *ctx);
};

/* Runs the service to the end. Returns the agent's exit code (or the Win32 error that prevented a start). */
uint32_t sy_run(const struct sy_platform *p, const struct sy_conf *conf);

#endif
