#include "host.h"
#include <stdio.h>
#include <stdlib.h>

static void logf_(const struct sy_platform *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void logf_(const struct sy_platform *p, const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->log(p->ctx, line);
}

/* 0 is success for the SCM; anything else is reported as a service-specific error carrying the agent's code,
 * which is what makes the SCM's failure actions (with the failure-actions flag set) restart it. */
static void report_stopped(const struct sy_platform *p, uint32_t code) {
    if (code == 0)
        p->set_status(p->ctx, SY_STOPPED, 0, 0, 0);
    else
        p->set_status(p->ctx, SY_STOPPED, SY_ERROR_SERVICE_SPECIFIC_ERROR, code, 0);
}

uint32_t sy_run(const struct sy_platform *p, const struct sy_conf *conf) {
    p->set_status(p->ctx, SY_START_PENDING, 0, 0, 10000);
    size_t need = sy_conf_cmdline(conf, NULL, 0);
    if (need == (size_t)-1) {
        logf_(p, "start failed: the program path cannot be put on a command line");
        p->set_status(p->ctx, SY_STOPPED, SY_ERROR_BAD_CONFIGURATION, 0, 0);
        return SY_ERROR_BAD_CONFIGURATION;
    }
    char *cmdline = malloc(need + 1);
    if (!cmdline) {
        p->set_status(p->ctx, SY_STOPPED, 8 /* ERROR_NOT_ENOUGH_MEMORY */, 0, 0);
        return 8;
    }
    sy_conf_cmdline(conf, cmdline, need + 1);

    uint32_t pid = 0;
    char err[512] = "";
    uint32_t rc = p->spawn(p->ctx, conf->program, cmdline, conf->output, &pid, err, sizeof err);
    if (rc != 0) {
        logf_(p, "start failed: %s (error %u): %s", err, rc, cmdline);
        free(cmdline);
        p->release(p->ctx);
        p->set_status(p->ctx, SY_STOPPED, rc, 0, 0);
        return rc;
    }
    logf_(p, "start: agent pid %u: %s", pid, cmdline);
    free(cmdline);
    p->set_status(p->ctx, SY_RUNNING, 0, 0, 0);

    enum sy_wait w = p->wait(p->ctx, 1, SY_WAIT_FOREVER);
    uint32_t code;
    if (w == SY_WAIT_CHILD_EXITED || w == SY_WAIT_FAILED) {
        code = p->exit_code(p->ctx);
        if (code == 0)
            logf_(p, "exit: agent pid %u exited with code 0 without a stop request", pid);
        else
            logf_(p, "crash: agent pid %u exited with code %u (0x%08X) while running", pid, code, code);
        p->release(p->ctx);
        report_stopped(p, code);
        return code;
    }

    logf_(p, "stop: requested by the service control manager; asking agent pid %u to stop (timeout %u ms)", pid, conf->stop_timeout_ms);
    p->set_status(p->ctx, SY_STOP_PENDING, 0, 0, SY_STOP_SLICE_MS * 2);
    if (p->request_stop(p->ctx) != 0) logf_(p, "stop: the agent's stdin is already closed");
    uint32_t waited = 0;
    int exited = 0;
    while (waited < conf->stop_timeout_ms) {
        uint32_t slice = conf->stop_timeout_ms - waited < SY_STOP_SLICE_MS ? conf->stop_timeout_ms - waited : SY_STOP_SLICE_MS;
        w = p->wait(p->ctx, 0, slice);
        if (w == SY_WAIT_CHILD_EXITED) {
            exited = 1;
            break;
        }
        if (w == SY_WAIT_FAILED) break;
        waited += slice;
        p->set_status(p->ctx, SY_STOP_PENDING, 0, 0, SY_STOP_SLICE_MS * 2);
    }
    if (!exited) {
        logf_(p, "stop: agent pid %u did not exit within %u ms; terminating its job", pid, conf->stop_timeout_ms);
        p->terminate(p->ctx, SY_TERMINATED_EXIT_CODE);
        p->wait(p->ctx, 0, 5000);
    }
    code = p->exit_code(p->ctx);
    logf_(p, "stopped: agent pid %u exited with code %u", pid, code);
    p->release(p->ctx);
    report_stopped(p, code);
    return code;
}
