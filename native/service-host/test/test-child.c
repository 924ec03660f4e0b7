/* Stands in for `node main.js agent` under Wine, where there is no node.exe: behaves like the agent towards the
 * service host. Usage: test-child.exe MARKER_FILE [--ignore-stop] [--exit-code N] [--crash-after-ms N]
 * Appends "started pid=<pid> stop=<SWITCHYARD_SERVICE_STOP> argc=<n>" and its arguments to MARKER_FILE, then
 * waits for "stop" or EOF on stdin (or ignores it), appends "stopping", and exits with the given code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static void mark(const char *path, const char *line) {
    FILE *f = fopen(path, "ab");
    if (!f) return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *marker = argv[1];
    int ignore_stop = 0, exit_code = 0, crash_after = -1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--ignore-stop") == 0) ignore_stop = 1;
        else if (strcmp(argv[i], "--exit-code") == 0 && i + 1 < argc) exit_code = atoi(argv[++i]);
        else if (strcmp(argv[i], "--crash-after-ms") == 0 && i + 1 < argc) crash_after = atoi(argv[++i]);
    }
    char line[1024];
    const char *stop = getenv("SWITCHYARD_SERVICE_STOP");
    snprintf(line, sizeof line, "started pid=%lu stop=%s argc=%d", (unsigned long)GetCurrentProcessId(), stop ? stop : "-", argc);
    mark(marker, line);
    for (int i = 1; i < argc; i++) {
        snprintf(line, sizeof line, "arg[%d]=%s", i, argv[i]);
        mark(marker, line);
    }
    printf("test-child: running\n");
    fflush(stdout);
    if (crash_after >= 0) {
        Sleep((DWORD)crash_after);
        mark(marker, "crashing");
        return exit_code ? exit_code : 3;
    }
    if (ignore_stop) {
        for (;;) Sleep(1000);
    }
    char buf[64];
    while (fgets(buf, sizeof buf, stdin)) {
        if (strncmp(buf, "stop", 4) == 0) break;
    }
    mark(marker, "stopping");
    return exit_code;
}
