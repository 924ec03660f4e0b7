/* The service host's configuration file (UTF-8, one key=value per line, '#' comments), written by
 * `switchyard service install` as C:\ProgramData\Switchyard\service-host.conf and named on the host's
 * command line (--conf FILE) in the service's ImagePath. Each argument is its own `arg=` line, so the host
 * never splits a string: it quotes each one itself (quote.c) to build the child's command line.
 *
 *   program=C:\Program Files\nodejs\node.exe        the executable (required)
 *   arg=C:\Program Files\Switchyard\dist\src\cli\main.js   one argument each, in order (repeatable)
 *   log=C:\ProgramData\Switchyard\logs\service-host.log    the host's own start/stop/crash lines
 *   output=C:\ProgramData\Switchyard\logs\agent.log        the child's stdout and stderr (appended)
 *   stop-timeout-ms=30000                                  graceful-stop wait before the job is terminated
 */
#ifndef SY_CONF_H
#define SY_CONF_H
#include <stddef.h>
#include <stdint.h>

#define SY_MAX_ARGS 64

struct sy_conf {
    char *program;
    char *args[SY_MAX_ARGS];
    int nargs;
    char *log;
    char *output;
    uint32_t stop_timeout_ms;
};

/* Parses text (modified in place; conf points into it). Returns 0, or -1 with err naming the line and key. */
int sy_conf_parse(char *text, struct sy_conf *conf, char *err, size_t errcap);

/* The child's command line from conf (program + args, quoted). Returns the needed length or (size_t)-1. */
size_t sy_conf_cmdline(const struct sy_conf *conf, char *out, size_t cap);

#endif
