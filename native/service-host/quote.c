/* Windows command-line quoting, CommandLineToArgvW rules: 2n backslashes + quote → n backslashes and a
 * section delimiter; 2n+1 backslashes + quote → n backslashes and a literal quote; other backslashes are
 * literal. Hence: double the backslashes that precede a quote or the closing quote, escape each quote. */
#include "quote.h"
#include <string.h>

struct sink {
    char *out;
    size_t cap;
    size_t len;
};

static void put(struct sink *s, char c) {
    if (s->cap > 0 && s->len + 1 < s->cap) s->out[s->len] = c;
    s->len++;
}

static void put_n(struct sink *s, char c, size_t n) {
    while (n-- > 0) put(s, c);
}

static void finish(struct sink *s) {
    if (s->cap == 0) return;
    s->out[s->len < s->cap ? s->len : s->cap - 1] = '\0';
}

static int needs_quotes(const char *a) {
    if (*a == '\0') return 1;
    return strpbrk(a, " \t\n\v\"") != NULL;
}

static void quote_into(struct sink *s, const char *arg) {
    if (!needs_quotes(arg)) {
        for (const char *p = arg; *p; p++) put(s, *p);
        return;
    }
    put(s, '"');
    size_t backslashes = 0;
    for (const char *p = arg; *p; p++) {
        if (*p == '\\') {
            backslashes++;
            continue;
        }
        if (*p == '"') {
            put_n(s, '\\', backslashes * 2 + 1);
        } else {
            put_n(s, '\\', backslashes);
        }
        put(s, *p);
        backslashes = 0;
    }
    put_n(s, '\\', backslashes * 2);
    put(s, '"');
}

size_t sy_quote_arg(const char *arg, char *out, size_t cap) {
    struct sink s = {out, cap, 0};
    quote_into(&s, arg);
    finish(&s);
    return s.len;
}

size_t sy_build_cmdline(const char *const *argv, int argc, char *out, size_t cap) {
    if (argc < 1 || argv[0] == NULL || argv[0][0] == '\0' || strchr(argv[0], '"') != NULL) return (size_t)-1;
    struct sink s = {out, cap, 0};
    int blank = strpbrk(argv[0], " \t") != NULL;
    if (blank) put(&s, '"');
    for (const char *p = argv[0]; *p; p++) put(&s, *p);
    if (blank) put(&s, '"');
    for (int i = 1; i < argc; i++) {
        put(&s, ' ');
        quote_into(&s, argv[i]);
    }
    finish(&s);
    return s.len;
}
