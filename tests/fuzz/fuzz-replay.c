/* Replays a fuzz target over a corpus, without libFuzzer: this is what
 * `make check` runs, so every committed corpus file (and every prefix of
 * it, which covers truncation for free) goes through the target's
 * invariants under the normal and the sanitizer builds.
 *
 * Usage: <target>-replay [FILE|DIR]...
 * Without arguments it replays $top_srcdir/tests/fuzz/corpus/<target>/,
 * where <target> is the program name without the "-replay" suffix.
 *
 * Adding a fuzz target "fuzz-foo" (for example for another parser):
 *   1. write tests/fuzz/fuzz-foo.c defining LLVMFuzzerTestOneInput() (include
 *      "fuzz.h" for FUZZ_CHECK) and assert invariants, never just "no crash";
 *   2. commit seed inputs under tests/fuzz/corpus/fuzz-foo/ and list them in
 *      EXTRA_DIST;
 *   3. in the area's local.mk (see tests/fuzz/local.mk for the pattern):
 *        check_PROGRAMS += tests/fuzz/fuzz-foo-replay
 *        TESTS += tests/fuzz/fuzz-foo-replay
 *        tests_fuzz_fuzz_foo_replay_SOURCES = tests/fuzz/fuzz-foo.c tests/fuzz/fuzz-replay.c tests/fuzz/fuzz.h
 *        tests_fuzz_fuzz_foo_replay_LDADD = <what it tests> common/libvesc.a
 *      and, inside "if ENABLE_FUZZING", the real libFuzzer binary with
 *      CFLAGS/LDFLAGS -fsanitize=fuzzer and the sources under test compiled
 *      in (so they are instrumented), without fuzz-replay.c. */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (1024 * 1024)

/* Run the target on the whole file and on every proper prefix. */
static int replay_file(const char *path, unsigned *count) {
        FILE *f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        uint8_t *buf = malloc(REPLAY_MAX_INPUT);
        if (!buf) {
                fclose(f);
                return -ENOMEM;
        }
        size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
        int bad = ferror(f);
        fclose(f);
        if (bad) {
                fprintf(stderr, "%s: read error\n", path);
                free(buf);
                return -EIO;
        }

        for (size_t len = 0; len <= n; len++) {
                /* A fresh copy of exactly len bytes, so ASan catches any read
                 * past the end of the input. */
                uint8_t *copy = malloc(len ? len : 1);
                if (!copy) {
                        free(buf);
                        return -ENOMEM;
                }
                memcpy(copy, buf, len);
                (void) LLVMFuzzerTestOneInput(copy, len);
                free(copy);
        }
        free(buf);
        (*count)++;
        return 0;
}

static int replay_path(const char *path, unsigned *count) {
        struct stat st;
        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode))
                return replay_file(path, count);

        DIR *d = opendir(path);
        if (!d) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char sub[PATH_MAX];
                if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= (int) sizeof sub) {
                        r = -ENAMETOOLONG;
                        break;
                }
                r = replay_path(sub, count);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int main(int argc, char **argv) {
        unsigned count = 0;

        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        if (replay_path(argv[i], &count) < 0)
                                return EXIT_FAILURE;
        } else {
                const char *top = getenv("top_srcdir");
                const char *base = strrchr(argv[0], '/');
                base = base ? base + 1 : argv[0];
                size_t blen = strlen(base);
                const char *suffix = "-replay";
                if (blen > strlen(suffix) && strcmp(base + blen - strlen(suffix), suffix) == 0)
                        blen -= strlen(suffix);

                char dir[PATH_MAX];
                if (snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%.*s", top ? top : ".", (int) blen, base) >=
                    (int) sizeof dir)
                        return EXIT_FAILURE;
                if (replay_path(dir, &count) < 0)
                        return EXIT_FAILURE;
        }

        if (count == 0) {
                fprintf(stderr, "no corpus files found\n");
                return EXIT_FAILURE;
        }
        printf("replayed %u inputs (with all their prefixes)\n", count);
        return EXIT_SUCCESS;
}
