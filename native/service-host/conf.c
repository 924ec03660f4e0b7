#include "conf.h"
#include "quote.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STOP_TIMEOUT_MS 30000u
#define MAX_STOP_TIMEOUT_MS 600000u

static char *trim_end(char *s, const char *chars) {
    size_t n = strlen(s);
    while (n > 0 && strchr(chars, s[n - 1]) != NULL) s[--n] = '\0';
    return s;
}

int sy_conf_parse(char *text, struct sy_conf *conf, char *err, size_t errcap) {
    memset(conf, 0, sizeof *conf);
    conf->stop_timeout_ms = DEFAULT_STOP_TIMEOUT_MS;
    /* A UTF-8 byte-order mark (Notepad writes one) is not part of the first key. */
    if ((unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF) text += 3;
    int lineno = 0;
    for (char *line = text; line != NULL;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        lineno++;
        char *l = line;
        line = nl ? nl + 1 : NULL;
        trim_end(l, "\r"); /* CRLF files; a value keeps its own trailing blanks */
        while (*l == ' ' || *l == '\t') l++;
        if (*l == '\0' || *l == '#') continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            snprintf(err, errcap, "line %d: expected key=value", lineno);
            return -1;
        }
        *eq = '\0';
        char *key = trim_end(l, " \t");
        char *value = eq + 1; /* kept verbatim: an argument may begin with blanks */
        if (strcmp(key, "program") == 0) {
            if (*value == '\0') {
                snprintf(err, errcap, "line %d: program is empty", lineno);
                return -1;
            }
            conf->program = value;
        } else if (strcmp(key, "arg") == 0) {
            if (conf->nargs >= SY_MAX_ARGS) {
                snprintf(err, errcap, "line %d: more than %d arg lines", lineno, SY_MAX_ARGS);
                return -1;
            }
            conf->args[conf->nargs++] = value;
        } else if (strcmp(key, "log") == 0) {
            conf->log = value;
        } else if (strcmp(key, "output") == 0) {
            conf->output = value;
        } else if (strcmp(key, "stop-timeout-ms") == 0) {
            char *end = NULL;
            unsigned long v = strtoul(value, &end, 10);
            if (*value == '\0' || *end != '\0' || v == 0 || v > MAX_STOP_TIMEOUT_MS) {
                snprintf(err, errcap, "line %d: stop-timeout-ms \"%s\" must be a whole number of milliseconds, 1..%u", lineno, value,
                         MAX_STOP_TIMEOUT_MS);
                return -1;
            }
            conf->stop_timeout_ms = (uint32_t)v;
        } else {
            snprintf(err, errcap, "line %d: unknown key \"%s\"", lineno, key);
            return -1;
        }
    }
    if (!conf->program) {
        snprintf(err, errcap, "no program= line");
        return -1;
    }
    if (strchr(conf->program, '"')) {
        snprintf(err, errcap, "program \"%s\" contains a quote, which a Windows command line cannot carry", conf->program);
        return -1;
    }
    return 0;
}

size_t sy_conf_cmdline(const struct sy_conf *conf, char *out, size_t cap) {
    const char *argv[SY_MAX_ARGS + 1];
    argv[0] = conf->program;
    for (int i = 0; i < conf->nargs; i++) argv[i + 1] = conf->args[i];
    return sy_build_cmdline(argv, conf->nargs + 1, out, cap);
}
