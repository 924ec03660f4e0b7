/* The service host's logic (host.c, conf.c, quote.c) compiled for Linux against a scripted fake platform: each
 * scenario lists what the fake's wait() returns and the exit code it reports, and the test prints the exact
 * sequence of platform calls (status reports, spawn, stop request, terminate, release, log lines) that
 * tests/abi/service-host.test.ts compares with the expected ones. Usage: host-check SCENARIO */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../host.h"

struct fake {
    const enum sy_wait *waits;
    int nwaits;
    int next;
    uint32_t exit_code;
    uint32_t spawn_error;
};

static const char *state_name(enum sy_state s) {
    static const char *n[] = {"START_PENDING", "RUNNING", "STOP_PENDING", "STOPPED"};
    return n[s];
}

static void f_set_status(void *ctx, enum sy_state s, uint32_t w, uint32_t sp, uint32_t hint) {
    (void)ctx;
    printf("status %s win32=%u specific=%u hint=%u\n", state_name(s), w, sp, hint);
}

static uint32_t f_spawn(void *ctx, const char *program, const char *cmdline, const char *output, uint32_t *pid, char *err, size_t errcap) {
    struct fake *f = ctx;
    printf("spawn program=[%s] cmdline=[%s] output=[%s]\n", program, cmdline, output ? output : "-");
    if (f->spawn_error) {
        snprintf(err, errcap, "CreateProcessW: The system cannot find the file specified");
        return f->spawn_error;
    }
    *pid = 4242;
    return 0;
}

static enum sy_wait f_wait(void *ctx, int watch_stop, uint32_t timeout) {
    struct fake *f = ctx;
    enum sy_wait w = f->next < f->nwaits ? f->waits[f->next++] : SY_WAIT_CHILD_EXITED;
    static const char *n[] = {"CHILD_EXITED", "STOP_REQUESTED", "TIMEOUT", "FAILED"};
    if (timeout == SY_WAIT_FOREVER)
        printf("wait stop=%d timeout=forever -> %s\n", watch_stop, n[w]);
    else
        printf("wait stop=%d timeout=%u -> %s\n", watch_stop, timeout, n[w]);
    return w;
}

static int f_request_stop(void *ctx) {
    (void)ctx;
    printf("request_stop\n");
    return 0;
}

static void f_terminate(void *ctx, uint32_t code) {
    struct fake *f = ctx;
    f->exit_code = code;
    printf("terminate %u\n", code);
}

static uint32_t f_exit_code(void *ctx) { return ((struct fake *)ctx)->exit_code; }
static void f_log(void *ctx, const char *line) { (void)ctx; printf("log %s\n", line); }
static void f_release(void *ctx) { (void)ctx; printf("release\n"); }

static const char CONF[] =
    "\xEF\xBB\xBF# written by switchyard service install\r\n"
    "program=C:\\Program Files\\nodejs\\node.exe\r\n"
    "arg=C:\\Program Files\\Switchyard\\dist\\src\\cli\\main.js\r\n"
    "arg=agent\r\n"
    "arg=--config\r\n"
    "arg=C:\\ProgramData\\My \"Cluster\"\\agent.yaml\r\n"
    "arg=\r\n"
    "log=C:\\ProgramData\\Switchyard\\logs\\service-host.log\r\n"
    "output=C:\\ProgramData\\Switchyard\\logs\\agent.log\r\n"
    "stop-timeout-ms=5000\r\n";

static int run(const char *scenario) {
    char text[sizeof CONF];
    memcpy(text, CONF, sizeof CONF);
    struct sy_conf conf;
    char err[256];
    if (sy_conf_parse(text, &conf, err, sizeof err) != 0) {
        printf("conf error: %s\n", err);
        return 1;
    }
    struct fake f = {0};
    static const enum sy_wait graceful[] = {SY_WAIT_STOP_REQUESTED, SY_WAIT_TIMEOUT, SY_WAIT_CHILD_EXITED};
    static const enum sy_wait hung[] = {SY_WAIT_STOP_REQUESTED, SY_WAIT_TIMEOUT, SY_WAIT_TIMEOUT, SY_WAIT_TIMEOUT, SY_WAIT_CHILD_EXITED};
    static const enum sy_wait crash[] = {SY_WAIT_CHILD_EXITED};
    if (strcmp(scenario, "graceful") == 0) {
        f.waits = graceful, f.nwaits = 3, f.exit_code = 0;
    } else if (strcmp(scenario, "graceful-nonzero") == 0) {
        f.waits = graceful, f.nwaits = 3, f.exit_code = 2;
    } else if (strcmp(scenario, "hung") == 0) {
        f.waits = hung, f.nwaits = 5, f.exit_code = 259 /* STILL_ACTIVE until terminated */;
    } else if (strcmp(scenario, "crash") == 0) {
        f.waits = crash, f.nwaits = 1, f.exit_code = 0xC0000005u;
    } else if (strcmp(scenario, "spawn-fails") == 0) {
        f.spawn_error = 2;
    } else {
        fprintf(stderr, "unknown scenario %s\n", scenario);
        return 2;
    }
    struct sy_platform p = {&f, f_set_status, f_spawn, f_wait, f_request_stop, f_terminate, f_exit_code, f_log, f_release};
    uint32_t code = sy_run(&p, &conf);
    printf("returned %u\n", code);
    return 0;
}

/* Configuration files the host must refuse, each with the message naming the line and key. */
static int conf_errors(void) {
    const char *bad[] = {
        "arg=x\n",
        "program=\n",
        "program=a.exe\nstop-timeout-ms=soon\n",
        "program=a.exe\nstop-timeout-ms=0\n",
        "program=a.exe\nstop-timeout-ms=600001\n",
        "program=a.exe\nmystery=1\n",
        "program=a.exe\njust text\n",
        "program=C:\\x\"y.exe\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s", bad[i]);
        struct sy_conf conf;
        char err[256] = "";
        int rc = sy_conf_parse(text, &conf, err, sizeof err);
        printf("%d %s\n", rc, err);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "conf-errors") == 0) return conf_errors();
    if (argc == 2) return run(argv[1]);
    fprintf(stderr, "usage: host-check graceful|graceful-nonzero|hung|crash|spawn-fails|conf-errors\n");
    return 2;
}
