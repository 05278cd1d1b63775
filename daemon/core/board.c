/* Mismatch detection over the identified controllers.  See board.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/board.h"
#include "core/string-table.h"
#include "macro.h"
#include "strv.h"

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

static int compare_one(const Controller *ref, const Controller *c, Strv *reasons, Strv *actions,
                       bool planner) {
        bool fw_differs = false;
        int r;

        if (strcmp(ref->fw_version, c->fw_version) != 0) {
                r = strv_addf_unique(reasons, "firmware %s \u2260 %s", ref->fw_version, c->fw_version);
                if (r < 0)
                        return r;
                fw_differs = true;
        }
        if (ref->fw_test_build != c->fw_test_build) {
                r = strv_addf_unique(reasons, "test build %u \u2260 %u", ref->fw_test_build, c->fw_test_build);
                if (r < 0)
                        return r;
                fw_differs = true;
        }
        if (strcmp(ref->fw_name, c->fw_name) != 0) {
                r = strv_addf_unique(reasons, "firmware name \"%s\" \u2260 \"%s\"", ref->fw_name, c->fw_name);
                if (r < 0)
                        return r;
                fw_differs = true;
        }
        bool hw_differs = strcmp(ref->hw_name, c->hw_name) != 0;
        if (hw_differs) {
                r = strv_addf_unique(reasons, "hardware %s \u2260 %s", ref->hw_name, c->hw_name);
                if (r < 0)
                        return r;
        }
        if (ref->bootloader_gen && c->bootloader_gen && ref->bootloader_gen != c->bootloader_gen) {
                r = strv_addf_unique(reasons, "bootloader generation %u \u2260 %u", ref->bootloader_gen, c->bootloader_gen);
                if (r < 0)
                        return r;
        }
        /* signatures belong to a firmware: with different firmware they
         * differ by definition, so only compare them on equal firmware */
        if (!fw_differs && ref->mc_signature && c->mc_signature && ref->mc_signature != c->mc_signature) {
                r = strv_addf_unique(reasons, "motor configuration signature 0x%08x \u2260 0x%08x",
                                 (unsigned) ref->mc_signature, (unsigned) c->mc_signature);
                if (r < 0)
                        return r;
        }
        if (!fw_differs && ref->app_signature && c->app_signature && ref->app_signature != c->app_signature) {
                r = strv_addf_unique(reasons, "app configuration signature 0x%08x \u2260 0x%08x",
                                 (unsigned) ref->app_signature, (unsigned) c->app_signature);
                if (r < 0)
                        return r;
        }

        if (fw_differs && !hw_differs && !planner) {
                char target[96], current[32];

                format_version(ref, target, sizeof target, true);
                format_version(c, current, sizeof current, false);
                r = strv_addf_unique(actions, "update %s (id %u) from %s to %s", c->uuid_str, c->id, current, target);
                if (r < 0)
                        return r;
        } else if (hw_differs) {
                r = strv_addf_unique(actions, "check hardware of %s (id %u): %s, expected %s", c->uuid_str, c->id,
                                 c->hw_name, ref->hw_name);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *const board_state_table[_BOARD_STATE_MAX] = {
        [BOARD_STATE_UNKNOWN] = "unknown",
        [BOARD_STATE_CONSISTENT] = "consistent",
        [BOARD_STATE_MISMATCH] = "mismatch",
        [BOARD_STATE_DEGRADED] = "degraded",
        [BOARD_STATE_UPDATING] = "updating",
};

DEFINE_STRING_TABLE_LOOKUP(board_state, BoardState, board_state_table, _BOARD_STATE_MAX)

bool board_is_motor_controller(const Controller *c) {
        return c && c->has_identity && c->hw_type == BOARD_HW_TYPE_VESC;
}

bool board_is_member(const Controller *c) {
        /* a second motor is its MCU's primary's: one member, one update */
        return board_is_motor_controller(c) && !c->candidate && !c->primary_motor[0];
}

/* Why the board is updating or degraded, in CAN-id order.  Returns the
 * state these lines justify (or consistent). */
static int state_lines(const Controller *const *controllers, size_t n, const BoardExtra *extra, Strv *updating,
                       Strv *degraded) {
        int r;

        for (unsigned id = 0; id < 256; id++)
                for (size_t i = 0; i < n; i++) {
                        const Controller *c = controllers[i];
                        if (!board_is_member(c) || c->id != id)
                                continue;
                        if (extra && extra->updating && extra->updating[i]) {
                                r = strv_addf_unique(updating, "%s (id %u) is being updated", c->uuid_str, c->id);
                                if (r < 0)
                                        return r;
                        } else if (!c->online) {
                                r = strv_addf_unique(degraded, "%s (id %u) is offline", c->uuid_str, c->id);
                                if (r < 0)
                                        return r;
                        }
                }
        for (const char *const *u = extra ? extra->missing : NULL; u && *u; u++) {
                r = strv_addf_unique(degraded, "%s is a member of the board but not on the bus (ForgetController removes it)",
                                 *u);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int append_all_unique(Strv *dst, const Strv *src) {
        for (size_t i = 0; i < src->n; i++) {
                int r = strv_addf_unique(dst, "%s", src->v[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/**
 * board_compute_extra() - compute the board view
 * @controllers: the controllers (any order); those without identity, and
 *               devices other than motor controllers, are not compared
 * @n: number of entries
 * @extra: jobs and remembered members (may be NULL)
 * @ret: receives the result; release with board_done()
 *
 * Returns: 0, or -ENOMEM.
 */
int board_compute_extra(const Controller *const *controllers, size_t n, const BoardExtra *extra, Board *ret) {
        _cleanup_(strv_done) Strv reasons = {}, actions = {}, updating = {}, degraded = {}, why = {};
        const Controller *ref = NULL;
        size_t count = 0;
        bool missing;
        int r;

        for (size_t i = 0; i < n; i++) {
                const Controller *c = controllers[i];
                if (!board_is_member(c))
                        continue;
                count++;
                if (!ref || version_cmp(c, ref) > 0 || (version_cmp(c, ref) == 0 && c->id < ref->id))
                        ref = c;
        }

        /* stable order: compare the others in CAN-id order */
        for (unsigned id = 0; ref && id < 256; id++)
                for (size_t i = 0; i < n; i++) {
                        const Controller *c = controllers[i];
                        if (!board_is_member(c) || c == ref || c->id != id)
                                continue;
                        r = compare_one(ref, c, &reasons, &actions, extra && extra->firmware_actions);
                        if (r < 0)
                                return r;
                }

        r = state_lines(controllers, n, extra, &updating, &degraded);
        if (r < 0)
                return r;
        if (extra && extra->firmware_actions && count > 0 && updating.n == 0) {
                _cleanup_free_ const Controller **members = calloc(count, sizeof *members);
                size_t k = 0;
                char **lines;

                if (!members)
                        return -ENOMEM;
                for (unsigned id = 0; id < 256; id++)
                        for (size_t i = 0; i < n; i++)
                                if (board_is_member(controllers[i]) && controllers[i]->id == id)
                                        members[k++] = controllers[i];
                lines = extra->firmware_actions(extra->userdata, members, k);
                for (char **p = lines; p && *p && r >= 0; p++)
                        r = strv_addf_unique(&actions, "%s", *p);
                strv_free(lines);
                if (r < 0)
                        return r;
        }
        missing = extra && extra->missing && extra->missing[0];

        BoardState state;
        if (updating.n > 0)
                state = BOARD_STATE_UPDATING;
        else if (degraded.n > 0)
                state = BOARD_STATE_DEGRADED;
        else if (reasons.n > 0)
                state = BOARD_STATE_MISMATCH;
        else if (count > 0 || missing)
                state = BOARD_STATE_CONSISTENT;
        else
                state = BOARD_STATE_UNKNOWN;

        /* every reason that applies, the one deciding the state first */
        if ((r = append_all_unique(&why, &updating)) < 0 || (r = append_all_unique(&why, &degraded)) < 0 ||
            (r = append_all_unique(&why, &reasons)) < 0)
                return r;
        if (state == BOARD_STATE_UNKNOWN && (r = strv_addf_unique(&why, "no motor controller found")) < 0)
                return r;

        Board b = {
                .n_controllers = count,
                .mismatch = reasons.n > 0,
                .state = state,
        };
        b.reasons = strv_take(&reasons);
        b.actions = strv_take(&actions);
        b.state_reasons = strv_take(&why);
        if (!b.reasons || !b.actions || !b.state_reasons) {
                board_done(&b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

/**
 * board_compute() - board_compute_extra() without jobs or remembered members
 */
int board_compute(const Controller *const *controllers, size_t n, Board *ret) {
        return board_compute_extra(controllers, n, NULL, ret);
}

/**
 * board_done() - free the strings of a board (idempotent)
 * @b: the board
 */
void board_done(Board *b) {
        b->reasons = strv_free(b->reasons);
        b->actions = strv_free(b->actions);
        b->state_reasons = strv_free(b->state_reasons);
        b->state = BOARD_STATE_UNKNOWN;
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
        return a->n_controllers == b->n_controllers && a->mismatch == b->mismatch && a->state == b->state &&
               strv_equal(a->reasons, b->reasons) && strv_equal(a->actions, b->actions) &&
               strv_equal(a->state_reasons, b->state_reasons);
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

        if (b->state_reasons && b->state_reasons[0] && b->state != BOARD_STATE_UNKNOWN)
                r = asprintf(&s, "%zu controller%s, %s: %s", b->n_controllers, b->n_controllers == 1 ? "" : "s",
                             board_state_to_string(b->state), b->state_reasons[0]);
        else
                r = asprintf(&s, "%zu controller%s, %s", b->n_controllers, b->n_controllers == 1 ? "" : "s",
                             board_state_to_string(b->state));
        if (r < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/**
 * board_mismatch_reason() - the one-line mismatch reason
 * @b: the board
 *
 * Returns: the first of b->reasons while the board is mismatched, else "".
 */
const char *board_mismatch_reason(const Board *b) {
        return b->mismatch && b->reasons && b->reasons[0] ? b->reasons[0] : "";
}
