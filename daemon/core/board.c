/* Mismatch detection over the identified controllers.  See board.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/board.h"
#include "macro.h"

typedef struct StrList {
        char **v;
        size_t n;
} StrList;

static void strlist_free(StrList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        *l = (StrList) {};
}

static char **strv_free(char **v) {
        if (v) {
                for (char **p = v; *p; p++)
                        free(*p);
                free(v);
        }
        return NULL;
}

/* Appends a formatted line unless an equal line is already there. */
_printf_(2, 3) static int strlist_addf(StrList *l, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->v[i], s) == 0)
                        return 0;
        char **nv = realloc(l->v, (l->n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        l->v = nv;
        l->v[l->n++] = TAKE_PTR(s);
        l->v[l->n] = NULL;
        return 1;
}

static char **strlist_take(StrList *l) {
        if (!l->v) {
                char **v = calloc(1, sizeof(char *));
                return v;
        }
        char **v = l->v;
        *l = (StrList) {};
        return v;
}

static int version_cmp(const Controller *a, const Controller *b) {
        if (a->fw_major != b->fw_major)
                return a->fw_major < b->fw_major ? -1 : 1;
        if (a->fw_minor != b->fw_minor)
                return a->fw_minor < b->fw_minor ? -1 : 1;
        /* a release (test build 0) is newer than any test build of it */
        if (a->fw_test_build != b->fw_test_build) {
                if (a->fw_test_build == 0)
                        return 1;
                if (b->fw_test_build == 0)
                        return -1;
                return a->fw_test_build < b->fw_test_build ? -1 : 1;
        }
        return 0;
}

/* "5.03", "6.05 test 3", and with_name: "6.05 (no_hw_limits)" */
static void format_version(const Controller *c, char *buf, size_t size, bool with_name) {
        int n = snprintf(buf, size, "%s", c->fw_version);

        if (c->fw_test_build && n > 0 && (size_t) n < size)
                n += snprintf(buf + n, size - (size_t) n, " test %u", c->fw_test_build);
        if (with_name && c->fw_name[0] && n > 0 && (size_t) n < size)
                snprintf(buf + n, size - (size_t) n, " (%s)", c->fw_name);
}

static int compare_one(const Controller *ref, const Controller *c, StrList *reasons, StrList *actions) {
        bool fw_differs = false;
        int r;

        if (strcmp(ref->fw_version, c->fw_version) != 0) {
                r = strlist_addf(reasons, "firmware %s \u2260 %s", ref->fw_version, c->fw_version);
                if (r < 0)
                        return r;
                fw_differs = true;
        }
        if (ref->fw_test_build != c->fw_test_build) {
                r = strlist_addf(reasons, "test build %u \u2260 %u", ref->fw_test_build, c->fw_test_build);
                if (r < 0)
                        return r;
                fw_differs = true;
        }
        if (strcmp(ref->fw_name, c->fw_name) != 0) {
                r = strlist_addf(reasons, "firmware name \"%s\" \u2260 \"%s\"", ref->fw_name, c->fw_name);
                if (r < 0)
                        return r;
                fw_differs = true;
        }
        bool hw_differs = strcmp(ref->hw_name, c->hw_name) != 0;
        if (hw_differs) {
                r = strlist_addf(reasons, "hardware %s \u2260 %s", ref->hw_name, c->hw_name);
                if (r < 0)
                        return r;
        }
        if (ref->bootloader_gen && c->bootloader_gen && ref->bootloader_gen != c->bootloader_gen) {
                r = strlist_addf(reasons, "bootloader generation %u \u2260 %u", ref->bootloader_gen, c->bootloader_gen);
                if (r < 0)
                        return r;
        }
        /* signatures belong to a firmware: with different firmware they
         * differ by definition, so only compare them on equal firmware */
        if (!fw_differs && ref->mc_signature && c->mc_signature && ref->mc_signature != c->mc_signature) {
                r = strlist_addf(reasons, "motor configuration signature 0x%08x \u2260 0x%08x",
                                 (unsigned) ref->mc_signature, (unsigned) c->mc_signature);
                if (r < 0)
                        return r;
        }
        if (!fw_differs && ref->app_signature && c->app_signature && ref->app_signature != c->app_signature) {
                r = strlist_addf(reasons, "app configuration signature 0x%08x \u2260 0x%08x",
                                 (unsigned) ref->app_signature, (unsigned) c->app_signature);
                if (r < 0)
                        return r;
        }

        if (fw_differs && !hw_differs) {
                char target[96], current[32];

                format_version(ref, target, sizeof target, true);
                format_version(c, current, sizeof current, false);
                r = strlist_addf(actions, "update %s (id %u) from %s to %s", c->uuid_str, c->id, current, target);
                if (r < 0)
                        return r;
        } else if (hw_differs) {
                r = strlist_addf(actions, "check hardware of %s (id %u): %s, expected %s", c->uuid_str, c->id,
                                 c->hw_name, ref->hw_name);
                if (r < 0)
                        return r;
        }
        return 0;
}

/**
 * board_compute() - compute the board view
 * @controllers: the controllers (any order); those without identity are skipped
 * @n: number of entries
 * @ret: receives the result; release with board_done()
 *
 * Returns: 0, or -ENOMEM.
 */
int board_compute(const Controller *const *controllers, size_t n, Board *ret) {
        _cleanup_(strlist_free) StrList reasons = {}, actions = {};
        const Controller *ref = NULL;
        size_t count = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                const Controller *c = controllers[i];
                if (!c || !c->has_identity)
                        continue;
                count++;
                if (!ref || version_cmp(c, ref) > 0 || (version_cmp(c, ref) == 0 && c->id < ref->id))
                        ref = c;
        }

        /* stable order: compare the others in CAN-id order */
        for (unsigned id = 0; ref && id < 256; id++)
                for (size_t i = 0; i < n; i++) {
                        const Controller *c = controllers[i];
                        if (!c || !c->has_identity || c == ref || c->id != id)
                                continue;
                        r = compare_one(ref, c, &reasons, &actions);
                        if (r < 0)
                                return r;
                }

        Board b = {
                .n_controllers = count,
                .mismatch = reasons.n > 0,
        };
        b.reasons = strlist_take(&reasons);
        b.actions = strlist_take(&actions);
        if (!b.reasons || !b.actions) {
                board_done(&b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

/**
 * board_done() - free the strings of a board (idempotent)
 * @b: the board
 */
void board_done(Board *b) {
        b->reasons = strv_free(b->reasons);
        b->actions = strv_free(b->actions);
        b->mismatch = false;
        b->n_controllers = 0;
}

static bool strv_equal(char **a, char **b) {
        if (!a || !b)
                return a == b;
        for (; *a && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return !*a && !*b;
}

/**
 * board_equal() - whether two boards would publish the same state
 * @a: one board
 * @b: the other
 *
 * Returns: true if equal.
 */
bool board_equal(const Board *a, const Board *b) {
        return a->n_controllers == b->n_controllers && a->mismatch == b->mismatch &&
               strv_equal(a->reasons, b->reasons) && strv_equal(a->actions, b->actions);
}

/**
 * board_summary() - one line for sd_notify STATUS= and logs
 * @b: the board
 * @ret: receives a malloc'ed string
 *
 * Returns: 0, or -ENOMEM.
 */
int board_summary(const Board *b, char **ret) {
        char *s;
        int r;

        if (b->mismatch)
                r = asprintf(&s, "%zu controller%s, mismatch: %s", b->n_controllers,
                             b->n_controllers == 1 ? "" : "s", b->reasons[0]);
        else
                r = asprintf(&s, "%zu controller%s, %s", b->n_controllers, b->n_controllers == 1 ? "" : "s",
                             b->n_controllers >= 2 ? "consistent" : "no pair");
        if (r < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}
