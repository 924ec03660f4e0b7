/* Windows command-line quoting (CommandLineToArgvW rules), the C twin of src/service/quote.ts.
 * UTF-8 in, UTF-8 out: the special characters are ASCII, and UTF-8 continuation bytes never equal them, so the
 * rules apply byte for byte; the Windows adapter converts the finished line to UTF-16. */
#ifndef SY_QUOTE_H
#define SY_QUOTE_H
#include <stddef.h>

/* Appends the quoted argument (not the program name) to out. Returns the length the quoted form needs
 * (excluding NUL); writes at most cap-1 bytes and always NUL-terminates when cap > 0. */
size_t sy_quote_arg(const char *arg, char *out, size_t cap);

/* argv[0] is the program path: quoted if it has blanks; a quote in it cannot be expressed. The rest go
 * through sy_quote_arg, joined by single spaces. Returns the needed length, or (size_t)-1 when argv[0] is
 * empty or holds a quote. */
size_t sy_build_cmdline(const char *const *argv, int argc, char *out, size_t cap);

#endif
