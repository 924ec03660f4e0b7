/*
 * cni-exec-driver: the benchmarks' stand-in for a container runtime's exec of a CNI plugin (bench/lib/
 * exec-driver.ts). containerd / CRI-O call plugins through libcni, a Go program that already runs in the node's
 * network namespace and starts each plugin with os/exec: clone(CLONE_VM|CLONE_VFORK) + exec, the network
 * config on a stdin pipe, stdout read through a pipe, then wait. A Node harness that spawns `nsenter <plugin>`
 * per call instead pays a fork of a large process (~2 ms) and nsenter (~0.7 ms) on every call, which is not
 * the plugin's cost. This process is started once per route, inside the route's node netns, with the route's
 * base environment, and then launches plugins the way the runtime does: posix_spawn (glibc: clone(CLONE_VM|
 * CLONE_VFORK) + exec).
 *
 * Protocol (lines end in \n; fields are separated by one \t, so no field may hold a tab or newline):
 *   harness -> driver
 *     wave <n>\n                  1 <= n <= MAX_JOBS, followed by n job lines:
 *     <plugin path>\t<stdin file>\t<VAR=value>\t...\n
 *                                  stdin file: the job's stdin (the network config); empty = /dev/null.
 *                                  VAR=value: added to this process's environment, replacing a same-named VAR.
 *     quit\n                      (or EOF between waves) ends the driver with status 0.
 *   driver -> harness, after every job of the wave has finished, per job in request order:
 *     <ns> <status> <captured> <dropped>\n<captured bytes of output>
 *       ns:       CLOCK_MONOTONIC from just before posix_spawn until the job's exit was reaped and its output
 *                 pipe reached EOF, whichever is later (what os/exec's Run waits for).
 *       status:   the exit code, 128 + signal number when killed by a signal, 127 when it could not be
 *                 started (the output then says why).
 *       captured: bytes of stdout + stderr that follow (one pipe for both, as written); at most MAX_OUTPUT,
 *       dropped:  bytes read beyond that and discarded.
 *     then: wall <ns from the first spawn until the last job finished>\n
 * All n jobs of a wave are started at once. A wave that has not finished after SY_DRIVER_TIMEOUT_MS (default
 * 120000) has its remaining jobs killed with SIGKILL (status 137) and their pipes closed.
 *
 * Unlike libcni, stdin is the config file itself rather than a pipe fed by a goroutine: the harness writes
 * each route's config once. stdout and stderr share one pipe (the harness reports them together).
 *
 * Exit status: 0 after quit/EOF; 2 on a protocol error (the offending line on stderr); 1 when the system
 * refuses something the driver itself needs (pipe, signalfd, memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 256
#define MAX_LINE (64 * 1024)
#define MAX_EXTRA_ENV 64
#define MAX_OUTPUT (64 * 1024)
#define DEFAULT_TIMEOUT_MS 120000

extern char **environ;

struct job {
    char *line; /* owns the strings below (split in place) */
    const char *file;
    const char *stdin_path;
    char *extra[MAX_EXTRA_ENV + 1];
    pid_t pid;
    int out_fd; /* read end of the output pipe; -1 once at EOF */
    int reaped, status;
    uint64_t t0, t_eof, t_reap;
    char *out;
    size_t captured, dropped;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(int code, const char *what, const char *detail) {
    fprintf(stderr, "cni-exec-driver: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(code);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) die(1, "out of memory", NULL);
    return p;
}

/* One line of stdin without its \n, or NULL at EOF; a line over MAX_LINE is a protocol error. */
static char *read_line(void) {
    static char *line;
    static size_t cap;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        if (ferror(stdin)) die(1, "reading stdin", strerror(errno));
        return NULL;
    }
    if (n > MAX_LINE) die(2, "protocol: line longer than 65536 bytes", NULL);
    if (n == 0 || line[n - 1] != '\n') die(2, "protocol: unterminated line at EOF", line);
    line[n - 1] = '\0';
    return line;
}

/* Splits a job line in place: plugin path, stdin path, then VAR=value fields. */
static void parse_job(struct job *j, char *line, int index) {
    char detail[160];
    snprintf(detail, sizeof detail, "job %d: %.120s", index, line);
    j->line = line;
    char *fields[2 + MAX_EXTRA_ENV];
    int n = 0;
    for (char *p = line;;) {
        if (n == 2 + MAX_EXTRA_ENV) die(2, "protocol: more than 64 VAR=value fields", detail);
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = '\0';
        p = tab + 1;
    }
    if (n < 2 || fields[0][0] != '/') die(2, "protocol: a job is <absolute plugin path>\\t<stdin file>[\\tVAR=value...]", detail);
    j->file = fields[0];
    j->stdin_path = fields[1][0] ? fields[1] : "/dev/null";
    for (int i = 2; i < n; i++) {
        char *eq = strchr(fields[i], '=');
        if (!eq || eq == fields[i]) die(2, "protocol: environment field is not VAR=value", detail);
        j->extra[i - 2] = fields[i];
    }
    j->extra[n - 2] = NULL;
}

static int same_name(const char *a, const char *b) {
    size_t n = strcspn(a, "=");
    return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* environ less the names the job sets, then the job's VAR=value fields. */
static char **job_env(const struct job *j) {
    size_t base = 0, extra = 0;
    while (environ[base]) base++;
    while (j->extra[extra]) extra++;
    char **env = xmalloc((base + extra + 1) * sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < base; i++) {
        int overridden = 0;
        for (size_t e = 0; e < extra && !overridden; e++) overridden = same_name(j->extra[e], environ[i]);
        if (!overridden) env[k++] = environ[i];
    }
    for (size_t e = 0; e < extra; e++) env[k++] = j->extra[e];
    env[k] = NULL;
    return env;
}

static void append_output(struct job *j, const char *p, size_t n) {
    size_t room = MAX_OUTPUT - j->captured;
    size_t take = n < room ? n : room;
    memcpy(j->out + j->captured, p, take);
    j->captured += take;
    j->dropped += n - take;
}

/* A job that could not be started: status 127 and the reason as its output (and on stderr). */
static void spawn_failed(struct job *j, const char *what, int err) {
    char msg[512];
    int n = snprintf(msg, sizeof msg, "cni-exec-driver: %s %s: %s\n", what, j->file, strerror(err));
    fputs(msg, stderr);
    append_output(j, msg, n < (int)sizeof msg ? (size_t)n : sizeof msg - 1);
    j->pid = -1;
    j->out_fd = -1;
    j->reaped = 1;
    j->status = 127;
    j->t_eof = j->t_reap = now_ns();
}

static void start_job(struct job *j, const posix_spawnattr_t *attr) {
    j->out = xmalloc(MAX_OUTPUT);
    j->captured = j->dropped = 0;
    j->reaped = 0;
    j->t0 = now_ns();
    int in_fd = open(j->stdin_path, O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) {
        spawn_failed(j, "opening stdin file for", errno);
        return;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) die(1, "pipe2", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    char **env = job_env(j);
    char *argv[] = {(char *)j->file, NULL};
    j->t0 = now_ns();
    int err = posix_spawn(&j->pid, j->file, &fa, attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(in_fd);
    close(p[1]);
    j->out_fd = p[0];
    if (err) {
        close(p[0]);
        spawn_failed(j, "posix_spawn", err);
    }
}

static void reap(struct job *jobs, int n, int block) {
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, block ? 0 : WNOHANG);
        if (pid <= 0) return;
        uint64_t t = now_ns();
        for (int i = 0; i < n; i++) {
            if (jobs[i].pid != pid || jobs[i].reaped) continue;
            jobs[i].reaped = 1;
            jobs[i].t_reap = t;
            jobs[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
        }
        block = 0;
    }
}

static void run_wave(int n, posix_spawnattr_t *attr, int sigfd, int timeout_ms) {
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    if (!jobs) die(1, "out of memory", NULL);
    for (int i = 0; i < n; i++) {
        char *line = read_line();
        if (!line) die(2, "protocol: EOF inside a wave", NULL);
        char *copy = strdup(line);
        if (!copy) die(1, "out of memory", NULL);
        parse_job(&jobs[i], copy, i);
    }

    uint64_t wall0 = now_ns();
    for (int i = 0; i < n; i++) start_job(&jobs[i], attr);
    uint64_t deadline = wall0 + (uint64_t)timeout_ms * 1000000u;

    struct pollfd pfd[MAX_JOBS + 1];
    int idx[MAX_JOBS + 1];
    char chunk[16384];
    for (;;) {
        int m = 0, pending = 0;
        pfd[m++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        for (int i = 0; i < n; i++) {
            if (jobs[i].out_fd >= 0) {
                idx[m] = i;
                pfd[m++] = (struct pollfd){.fd = jobs[i].out_fd, .events = POLLIN};
            }
            if (jobs[i].out_fd >= 0 || !jobs[i].reaped) pending++;
        }
        if (!pending) break;
        uint64_t t = now_ns();
        if (t >= deadline) {
            for (int i = 0; i < n; i++) {
                if (!jobs[i].reaped) {
                    fprintf(stderr, "cni-exec-driver: job %d (%s) still running after %d ms: killed\n", i, jobs[i].file, timeout_ms);
                    kill(jobs[i].pid, SIGKILL);
                }
                if (jobs[i].out_fd >= 0) {
                    close(jobs[i].out_fd);
                    jobs[i].out_fd = -1;
                    jobs[i].t_eof = t;
                }
            }
            for (int i = 0; i < n; i++)
                if (!jobs[i].reaped) reap(jobs, n, 1);
            break;
        }
        int wait_ms = (int)((deadline - t) / 1000000u) + 1;
        if (poll(pfd, (nfds_t)m, wait_ms) < 0) {
            if (errno == EINTR) continue;
            die(1, "poll", strerror(errno));
        }
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
            }
        }
        /* SIGCHLD coalesces and may arrive before its job is in the poll set: reap every time round. */
        reap(jobs, n, 0);
        for (int k = 1; k < m; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            struct job *j = &jobs[idx[k]];
            ssize_t r = read(j->out_fd, chunk, sizeof chunk);
            if (r > 0) append_output(j, chunk, (size_t)r);
            else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                close(j->out_fd);
                j->out_fd = -1;
                j->t_eof = now_ns();
            }
        }
    }

    uint64_t wall_end = wall0;
    for (int i = 0; i < n; i++) {
        struct job *j = &jobs[i];
        uint64_t end = j->t_reap > j->t_eof ? j->t_reap : j->t_eof;
        if (end > wall_end) wall_end = end;
        printf("%llu %d %zu %zu\n", (unsigned long long)(end - j->t0), j->status, j->captured, j->dropped);
        fwrite(j->out, 1, j->captured, stdout);
        free(j->out);
        free(j->line);
    }
    printf("wall %llu\n", (unsigned long long)(wall_end - wall0));
    if (fflush(stdout) != 0) die(1, "writing stdout", strerror(errno));
    free(jobs);
}

int main(void) {
    const char *t = getenv("SY_DRIVER_TIMEOUT_MS");
    int timeout_ms = t && atoi(t) > 0 ? atoi(t) : DEFAULT_TIMEOUT_MS;

    /* SIGCHLD through a signalfd, so that poll() wakes when a job exits. Blocked here, so the children must
     * get an empty mask and default dispositions back, as a runtime's children do. */
    sigset_t chld, none, all;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigemptyset(&none);
    sigfillset(&all);
    if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0) die(1, "sigprocmask", strerror(errno));
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0) die(1, "signalfd", strerror(errno));
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    for (;;) {
        char *line = read_line();
        if (!line || strcmp(line, "quit") == 0) break;
        char *end;
        long n;
        if (strncmp(line, "wave ", 5) != 0 || (n = strtol(line + 5, &end, 10)) < 1 || n > MAX_JOBS || *end != '\0')
            die(2, "protocol: expected \"wave <1..256>\" or \"quit\", got", line);
        run_wave((int)n, &attr, sigfd, timeout_ms);
    }
    posix_spawnattr_destroy(&attr);
    return 0;
}
