/* Quoting corpus tool. Reads cases from stdin, one per line: argv as hex-encoded UTF-8 strings separated by
 * single spaces (argv[0] first). For each case prints "Q <hex>" — the command line sy_build_cmdline makes —
 * and, when built for Windows, "A <hex> <hex>..." — what CommandLineToArgvW splits that line back into
 * (converted UTF-8 → UTF-16 → UTF-8 on the way). "E" marks a case sy_build_cmdline refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../quote.h"
#ifdef _WIN32
#include <windows.h>
#include <shellapi.h>
#include <fcntl.h>
#include <io.h>
#endif

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void print_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", (unsigned char)s[i]);
}

int main(void) {
    static char line[1 << 16];
#ifdef _WIN32
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (n == 0) continue;
        char *argv[256];
        int argc = 0;
        for (char *tok = line; tok && argc < 256;) {
            char *sp = strchr(tok, ' ');
            if (sp) *sp = '\0';
            size_t hl = strlen(tok);
            char *arg = malloc(hl / 2 + 1);
            if (!arg) return 1;
            for (size_t i = 0; i + 1 < hl + 1 && i < hl; i += 2) arg[i / 2] = (char)(hexval(tok[i]) * 16 + hexval(tok[i + 1]));
            arg[hl / 2] = '\0';
            argv[argc++] = arg;
            tok = sp ? sp + 1 : NULL;
        }
        size_t need = sy_build_cmdline((const char *const *)argv, argc, NULL, 0);
        if (need == (size_t)-1) {
            printf("E\n");
        } else {
            char *cmd = malloc(need + 1);
            if (!cmd) return 1;
            sy_build_cmdline((const char *const *)argv, argc, cmd, need + 1);
            printf("Q ");
            print_hex(cmd, need);
            printf("\n");
#ifdef _WIN32
            int wn = MultiByteToWideChar(CP_UTF8, 0, cmd, -1, NULL, 0);
            wchar_t *w = malloc(sizeof(wchar_t) * (size_t)wn);
            MultiByteToWideChar(CP_UTF8, 0, cmd, -1, w, wn);
            int wargc = 0;
            wchar_t **wargv = CommandLineToArgvW(w, &wargc);
            printf("A");
            for (int i = 0; wargv && i < wargc; i++) {
                int un = WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, NULL, 0, NULL, NULL);
                char *u = malloc((size_t)un);
                WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, u, un, NULL, NULL);
                printf(" ");
                print_hex(u, strlen(u));
                if (u[0] == '\0') printf("-");
                free(u);
            }
            printf("\n");
            LocalFree(wargv);
            free(w);
#endif
            free(cmd);
        }
        for (int i = 0; i < argc; i++) free(argv[i]);
        fflush(stdout);
    }
    return 0;
}
