/* Controller operations: GetValues, SetLimits, Reboot, configuration
 * backup / restore / compare / copy, each a small chain of requests.  See
 * operations.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-json.h"
#include "core/daemon-private.h"
#include "core/format.h"
#include "core/hold.h"
#include "core/log.h"
#include "macro.h"
#include "core/operations.h"
#include "core/request.h"
#include "core/string-table.h"
#include "strv.h"
#include "wire.h"

/* After a reboot we asked for: the time a controller takes to start. */
#define REBOOT_SETTLE_USEC (1500 * USEC_PER_MSEC)

/* Configuration writes store to flash; give them more than a read. */
#define CONFIG_WRITE_TIMEOUT_USEC (2 * REQUEST_TIMEOUT_CONFIG_USEC)

typedef enum OpKind {
        OP_VALUES,
        OP_LIMITS,
        OP_GET_LIMITS,
        OP_REBOOT,
        OP_BACKUP,
        OP_RESTORE,
        OP_COMPARE,
        OP_COPY,
        OP_GET_CONFIG,
        OP_SET_CONFIG,
        OP_DIFF_CONFIG,
        OP_BACKUP_FILE,
} OpKind;

/* An operation's completion, by kind (op_fail() calls the right one). */
typedef union OpDone {
        OpValuesFn values;
        OpDoneFn plain;
        OpBackupFn backup;
        OpCompareFn compare;
        OpCopyFn copy;
        OpConfigFn config;
        OpLimitsFn limits;
} OpDone;

typedef struct Op {
        Daemon *d;
        Ctl *ctl, *other;
        Hold *hold, *other_hold;
        OpKind kind;
        unsigned step;
        OpDone done;
        void *userdata;
        Limits limits;
        /* blobs: [0] mc, [1] app of ctl; [2] mc, [3] app of other (compare,
         * copy); restore keeps its inputs in [0]/[1] */
        uint8_t *blob[4];
        size_t blob_len[4];
        /* configuration by name: the part, set's parameters, its phase
         * (0 read, 1 write, 2 read back) and the CAN id asked for (or -1; restore: the id its APPCONF moves
         * the controller to) */
        ConfigWhich which;
        json_t *params;
        unsigned phase;
        int new_id;
        uint8_t *written;
} Op;

static Op *op_free(Op *op) {
        if (!op)
                return NULL;
        hold_release(op->hold);
        hold_release(op->other_hold);
        for (size_t i = 0; i < ELEMENTSOF(op->blob); i++)
                free(op->blob[i]);
        json_decref(op->params);
        free(op->written);
        free(op);
        return NULL;
}

/* The hold each operation takes (DESIGN.md "Decisions of 2026-12" item 1):
 * reads shared, writes exclusive; @target: the controller written by a
 * copy (the source is only read).  The text completes "<uuid> ". */
static HoldKind op_hold_kind(OpKind kind, bool target) {
        switch (kind) {
        case OP_LIMITS:
        case OP_REBOOT:
        case OP_RESTORE:
        case OP_SET_CONFIG:
                return HOLD_EXCLUSIVE;
        case OP_COPY:
                return target ? HOLD_EXCLUSIVE : HOLD_SHARED;
        default:
                return HOLD_SHARED;
        }
}

static const char *op_hold_text(OpKind kind, bool target) {
        switch (kind) {
        case OP_VALUES:
                return "is being read (values)";
        case OP_LIMITS:
                return "is being written (runtime limits)";
        case OP_GET_LIMITS:
                return "is being read (runtime limits)";
        case OP_REBOOT:
                return "is being rebooted";
        case OP_BACKUP:
        case OP_BACKUP_FILE:
                /* the same read, whether the caller wants blobs or the file */
                return "is being read (configuration backup)";
        case OP_RESTORE:
                return "is being written (configuration restore)";
        case OP_COMPARE:
                return "is being read (configuration compare)";
        case OP_COPY:
                return target ? "is being written (configuration copy)" : "is being read (configuration copy)";
        case OP_GET_CONFIG:
                return "is being read (configuration)";
        case OP_SET_CONFIG:
                return "is being written (configuration set by name)";
        case OP_DIFF_CONFIG:
                return "is being read (configuration diff)";
        }
        return NULL;
}

/* Take the operation's hold on ctl; -EBUSY leaves the holder's text for
 * op_busy_text(). */
static int op_hold(Daemon *d, Ctl *ctl, OpKind kind, bool target, Hold **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = hold_acquire(d->holds, ctl->c.uuid, op_hold_kind(kind, target), /* wait= */ false,
                         &(HoldOwner) { .text = op_hold_text(kind, target) }, ret, &text);
        if (r == -EBUSY) {
                snprintf(d->busy_text, sizeof d->busy_text, "%s", text ? text : "");
                log_ctl_debug(&ctl->c, "operation refused: %s", d->busy_text);
        }
        return r;
}

static int check_online(const Ctl *ctl);

/* An operation on one exported controller, its hold taken; @online: the
 * controller must be online too (-EHOSTDOWN after the hold's -EBUSY). */
static int op_new(Daemon *d, Controller *c, OpKind kind, OpDone done, void *userdata, bool online, Op **ret) {
        Ctl *ctl = daemon_ctl(d, c);
        Op *op;
        int r;

        if (!ctl || !ctl->exported)
                return -ENODEV;
        if (!d->requests)
                return -ECANCELED;
        op = calloc(1, sizeof *op);
        if (!op)
                return -ENOMEM;
        op->d = d;
        op->ctl = ctl;
        op->kind = kind;
        op->done = done;
        op->userdata = userdata;
        r = op_hold(d, ctl, kind, /* target= */ false, &op->hold);
        if (r >= 0 && online)
                r = check_online(ctl);
        if (r < 0) {
                op_free(op);
                return r;
        }
        op->new_id = -1;
        *ret = op;
        return 0;
}

/* An operation on two controllers (compare, copy), both online. */
static int op_new_pair(Daemon *d, Controller *a, Controller *b, OpKind kind, OpDone done, void *userdata, Op **ret) {
        Ctl *other = daemon_ctl(d, b);
        Op *op;
        int r;

        if (!other || !other->exported)
                return -ENODEV;
        if (a == b)
                return -EINVAL;
        r = op_new(d, a, kind, done, userdata, /* online= */ false, &op);
        if (r < 0)
                return r;
        op->other = other;
        r = op_hold(d, other, kind, /* target= */ true, &op->other_hold);
        if (r < 0) {
                op_free(op);
                return r;
        }
        r = check_online(op->ctl);
        if (r >= 0)
                r = check_online(other);
        if (r < 0) {
                op_free(op);
                return r;
        }
        *ret = op;
        return 0;
}

static void op_fail(Op *op, int error) {
        switch (op->kind) {
        case OP_VALUES:
                op->done.values(op->userdata, error, NULL);
                break;
        case OP_LIMITS:
        case OP_REBOOT:
        case OP_RESTORE:
                op->done.plain(op->userdata, error);
                break;
        case OP_GET_LIMITS:
                op->done.limits(op->userdata, error, NULL);
                break;
        case OP_BACKUP:
                op->done.backup(op->userdata, error, NULL, 0, NULL, 0);
                break;
        case OP_COMPARE:
                op->done.compare(op->userdata, error, NULL);
                break;
        case OP_COPY:
                op->done.copy(op->userdata, error, NULL);
                break;
        case OP_GET_CONFIG:
        case OP_SET_CONFIG:
        case OP_DIFF_CONFIG:
        case OP_BACKUP_FILE:
                op->done.config(op->userdata, error, NULL, NULL);
                break;
        }
        op_free(op);
}

/* alt_id >= 0: the reply may come from there (a write moving the id). */
static int op_request_alt(Op *op, Ctl *target, RequestReply kind, const uint8_t *payload, size_t len,
                          uint64_t timeout_usec, unsigned retries, int alt_id, RequestDoneFn done) {
        return request_send(op->d->requests,
                            &(RequestParams) {
                                    .dest = target->c.id,
                                    .reply = kind,
                                    .payload = payload,
                                    .len = len,
                                    .reply_cmd = -1,
                                    .timeout_usec = timeout_usec,
                                    .retries = retries,
                                    .has_alt_replier = alt_id >= 0,
                                    .alt_replier = (uint8_t) (alt_id >= 0 ? alt_id : 0),
                                    .done = done,
                                    .userdata = op,
                            },
                            daemon_now(), NULL);
}

static int op_request(Op *op, Ctl *target, RequestReply kind, const uint8_t *payload, size_t len,
                      uint64_t timeout_usec, unsigned retries, RequestDoneFn done) {
        return op_request_alt(op, target, kind, payload, len, timeout_usec, retries, -1, done);
}

/* Who else uses CAN id @id: vescd itself or another controller object
 * (online or remembered).  0 when it is free or @target's own; otherwise
 * -EINVAL and *ret_error (may stay NULL on -ENOMEM) naming both devices. */
static int check_can_id_free(Daemon *d, const Ctl *target, uint8_t id, const char *verb, char **ret_error) {
        const Controller *t = &target->c;
        const Ctl *user = NULL;
        char *text = NULL;
        int k;

        if (id == t->id)
                return 0;
        for (size_t i = 0; i < d->n_ctls && !user; i++)
                if (d->ctls[i] != target && d->ctls[i]->c.id == id && !d->ctls[i]->id_stale)
                        user = d->ctls[i];
        if (user)
                k = asprintf(&text,
                             "%s would move controller %s (%s, id %u) to CAN id %u, which controller %s (%s, id %u%s) "
                             "uses; keep the target's id (KeepCanId) or free that id first",
                             verb, t->uuid_str, t->hw_name, t->id, id,
                             user->c.has_identity ? user->c.uuid_str : "unidentified",
                             user->c.has_identity ? user->c.hw_name : "unknown hardware", id,
                             user->c.online ? "" : ", offline");
        else if (id == d->config->can_id)
                k = asprintf(&text,
                             "%s would move controller %s (%s, id %u) to CAN id %u, which vescd itself uses; keep "
                             "the controller's id (KeepCanId) or choose a free one",
                             verb, t->uuid_str, t->hw_name, t->id, id);
        else
                return 0;
        if (k < 0)
                text = NULL;
        if (ret_error)
                *ret_error = text;
        else
                free(text);
        return -EINVAL;
}

static int check_online(const Ctl *ctl) {
        return ctl->c.online ? 0 : -EHOSTDOWN;
}

/* An operation that is one request (the command byte alone) to one online
 * controller. */
static int op_single(Daemon *d, Controller *c, OpKind kind, OpDone done, void *userdata, uint8_t cmd,
                     RequestReply reply, unsigned retries, RequestDoneFn req_done) {
        const uint8_t payload[] = { cmd };
        Op *op;
        int r;

        r = op_new(d, c, kind, done, userdata, /* online= */ true, &op);
        if (r < 0)
                return r;
        r = op_request(op, op->ctl, reply, payload, sizeof payload, 0, retries, req_done);
        if (r < 0)
                op_free(op);
        return r < 0 ? r : 0;
}

/* A request's completion: false (the operation failed and is freed) on a
 * request error. */
static bool op_replied(Op *op, int error) {
        if (error >= 0)
                return true;
        op_fail(op, error);
        return false;
}

/* After op_replied(): false (failed with -EPROTO, freed) when the reply
 * did not decode. */
static bool op_decoded(Op *op, bool ok) {
        if (!ok)
                op_fail(op, -EPROTO);
        return ok;
}

/* -------------------------------------------------------------- values */

static void values_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;
        VescValues v;

        if (!op_replied(op, error) || !op_decoded(op, vesc_values_decode(reply, len, &v) >= 0))
                return;
        (void) controller_apply_values(&op->ctl->c, &v, daemon_now());
        daemon_model_changed(op->d);
        op->done.values(op->userdata, 0, &v);
        op_free(op);
}

/**
 * op_get_values() - read COMM_GET_VALUES now
 * @d: the daemon
 * @c: an exported controller
 * @done: completion with the decoded values
 * @userdata: for @done
 *
 * The reply also updates the model's telemetry and fault.
 *
 * Returns: 0 (started), -ENODEV, -EBUSY (held: op_busy_text()), -EHOSTDOWN (offline), -ENOBUFS, -ENOMEM.
 */
int op_get_values(Daemon *d, Controller *c, OpValuesFn done, void *userdata) {
        return op_single(d, c, OP_VALUES, (OpDone) { .values = done }, userdata, COMM_GET_VALUES, REQUEST_REPLY_LONG,
                         1, values_done);
}

/* -------------------------------------------------------------- limits */

#define LIMIT_NAME_ROW(f, key, lo, hi) [f] = key,
static const char *const limit_names[_LIMIT_MAX] = { LIMIT_FIELDS(LIMIT_NAME_ROW) };
#define LIMIT_RANGE_ROW(f, key, lo, hi) [f] = { lo, hi },
static const struct {
        double min, max;
} limit_ranges[_LIMIT_MAX] = { LIMIT_FIELDS(LIMIT_RANGE_ROW) };

/* limit_field_to_string(): the key name of a limit, or NULL;
 * limit_field_from_string(): the limit by key name, or -EINVAL. */
DEFINE_STRING_TABLE_LOOKUP(limit_field, LimitField, limit_names, _LIMIT_MAX)

/**
 * limit_check() - range check of a limit value (spec §12.4)
 * @f: the field
 * @v: the value
 *
 * Returns: 0 or -EINVAL.
 */
int limit_check(LimitField f, double v) {
        if ((unsigned) f >= _LIMIT_MAX || !isfinite(v))
                return -EINVAL;
        return v >= limit_ranges[f].min && v <= limit_ranges[f].max ? 0 : -EINVAL;
}

static bool version_at_least(const Controller *c, unsigned major, unsigned minor) {
        return c->fw_major > major || (c->fw_major == major && c->fw_minor >= minor);
}

static void limits_set_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;

        if (error >= 0) {
                log_ctl_info(&op->ctl->c, "runtime limits changed%s", op->limits.store ? " and stored" : "");
                /* what is in force now, for GetLimits where the firmware cannot say */
                op->ctl->limits_mask = op->limits.set;
                memcpy(op->ctl->limits, op->limits.value, sizeof op->ctl->limits);
        }
        op->done.plain(op->userdata, error < 0 ? error : 0);
        op_free(op);
}

static void limits_send(Op *op, const VescMcconfTempReply *cur) {
        const Limits *l = &op->limits;
        double v[_LIMIT_MAX];
        uint8_t buf[64];
        ssize_t n;
        int r;

        if (cur) {
                v[LIMIT_CURRENT_MIN_SCALE] = cur->current_min_scale;
                v[LIMIT_CURRENT_MAX_SCALE] = cur->current_max_scale;
                v[LIMIT_MIN_ERPM] = cur->min_erpm;
                v[LIMIT_MAX_ERPM] = cur->max_erpm;
                v[LIMIT_MIN_DUTY] = cur->min_duty;
                v[LIMIT_MAX_DUTY] = cur->max_duty;
                v[LIMIT_WATT_MIN] = cur->watt_min;
                v[LIMIT_WATT_MAX] = cur->watt_max;
                v[LIMIT_IN_CURRENT_MIN] = cur->in_current_min;
                v[LIMIT_IN_CURRENT_MAX] = cur->in_current_max;
        }
        for (unsigned i = 0; i < _LIMIT_MAX; i++)
                if (l->set & (1u << i))
                        v[i] = l->value[i];

        VescMcconfTemp t = {
                .store = l->store,
                .ack = true,
                .current_min_scale = (float) v[LIMIT_CURRENT_MIN_SCALE],
                .current_max_scale = (float) v[LIMIT_CURRENT_MAX_SCALE],
                .min_erpm = (float) v[LIMIT_MIN_ERPM],
                .max_erpm = (float) v[LIMIT_MAX_ERPM],
                .min_duty = (float) v[LIMIT_MIN_DUTY],
                .max_duty = (float) v[LIMIT_MAX_DUTY],
                .watt_min = (float) v[LIMIT_WATT_MIN],
                .watt_max = (float) v[LIMIT_WATT_MAX],
                .has_in_current = cur || (l->set & (3u << LIMIT_IN_CURRENT_MIN)) == (3u << LIMIT_IN_CURRENT_MIN),
                .in_current_min = (float) v[LIMIT_IN_CURRENT_MIN],
                .in_current_max = (float) v[LIMIT_IN_CURRENT_MAX],
        };
        /* what is sent: every base field, the input-current pair when given */
        op->limits.set = 0xFFu | (t.has_in_current ? 3u << LIMIT_IN_CURRENT_MIN : 0);
        memcpy(op->limits.value, v, sizeof v);
        n = vesc_mcconf_temp_encode(&t, COMM_SET_MCCONF_TEMP, buf, sizeof buf);
        if (n < 0) {
                op_fail(op, (int) n);
                return;
        }
        r = op_request(op, op->ctl, REQUEST_REPLY_SHORT, buf, (size_t) n, REQUEST_TIMEOUT_CONFIG_USEC, 1,
                       limits_set_done);
        if (r < 0)
                op_fail(op, r);
}

static void limits_read_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;
        VescMcconfTempReply cur;

        if (!op_replied(op, error) || !op_decoded(op, vesc_get_mcconf_temp_decode(reply, len, &cur) >= 0))
                return;
        limits_send(op, &cur);
}

/**
 * op_set_limits() - change runtime limits (COMM_SET_MCCONF_TEMP with ack)
 * @d: the daemon
 * @c: an exported controller
 * @l: the limits to change (validated with limit_check() by the caller or here)
 * @done: completion
 * @userdata: for @done
 *
 * Every field of the command is mandatory (spec §12.4), so the current
 * values are read first with COMM_GET_MCCONF_TEMP (5.02+).  Older firmware
 * cannot report them: there all eight base fields must be given, and the
 * input-current pair is refused before 5.00.
 *
 * Returns: 0 (started), -EINVAL, -ENODEV, -EBUSY (held: op_busy_text()), -EHOSTDOWN, -EOPNOTSUPP, -ENOBUFS.
 */
int op_set_limits(Daemon *d, Controller *c, const Limits *l, OpDoneFn done, void *userdata) {
        static const uint8_t get[] = { COMM_GET_MCCONF_TEMP };
        Op *op;
        int r;

        if (!l->set)
                return -EINVAL;
        for (unsigned i = 0; i < _LIMIT_MAX; i++)
                if ((l->set & (1u << i)) && limit_check((LimitField) i, l->value[i]) < 0)
                        return -EINVAL;

        r = op_new(d, c, OP_LIMITS, (OpDone) { .plain = done }, userdata, /* online= */ true, &op);
        if (r < 0)
                return r;
        op->limits = *l;

        if (version_at_least(c, 5, 2)) {
                r = op_request(op, op->ctl, REQUEST_REPLY_LONG, get, sizeof get, REQUEST_TIMEOUT_CONFIG_USEC, 1,
                               limits_read_done);
                if (r < 0)
                        goto fail;
                return 0;
        }
        if ((l->set & 0xFFu) != 0xFFu) {
                r = -EOPNOTSUPP;
                goto fail;
        }
        if ((l->set & (3u << LIMIT_IN_CURRENT_MIN)) && !version_at_least(c, 5, 0)) {
                r = -EOPNOTSUPP;
                goto fail;
        }
        /* limits_send() may fail the op itself; it has been started either way */
        limits_send(op, NULL);
        return 0;
fail:
        op_free(op);
        return r;
}

static void limits_get_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;
        VescMcconfTempReply cur;
        Limits l = {};

        if (!op_replied(op, error) || !op_decoded(op, vesc_get_mcconf_temp_decode(reply, len, &cur) >= 0))
                return;
        l.set = 0x3FFu;
        l.value[LIMIT_CURRENT_MIN_SCALE] = cur.current_min_scale;
        l.value[LIMIT_CURRENT_MAX_SCALE] = cur.current_max_scale;
        l.value[LIMIT_MIN_ERPM] = cur.min_erpm;
        l.value[LIMIT_MAX_ERPM] = cur.max_erpm;
        l.value[LIMIT_MIN_DUTY] = cur.min_duty;
        l.value[LIMIT_MAX_DUTY] = cur.max_duty;
        l.value[LIMIT_WATT_MIN] = cur.watt_min;
        l.value[LIMIT_WATT_MAX] = cur.watt_max;
        l.value[LIMIT_IN_CURRENT_MIN] = cur.in_current_min;
        l.value[LIMIT_IN_CURRENT_MAX] = cur.in_current_max;
        op->done.limits(op->userdata, 0, &l);
        op_free(op);
}

/**
 * op_get_limits() - read the runtime limits in force (COMM_GET_MCCONF_TEMP)
 * @d: the daemon
 * @c: an exported controller
 * @done: completion with all ten limits
 * @userdata: for @done
 *
 * Returns: 0 (started), -ENODEV, -EBUSY (held: op_busy_text()), -EHOSTDOWN,
 * -EOPNOTSUPP (firmware before 5.02 cannot report them), -ENOBUFS.
 */
int op_get_limits(Daemon *d, Controller *c, OpLimitsFn done, void *userdata) {
        if (!version_at_least(c, 5, 2))
                return -EOPNOTSUPP;
        return op_single(d, c, OP_GET_LIMITS, (OpDone) { .limits = done }, userdata, COMM_GET_MCCONF_TEMP,
                         REQUEST_REPLY_LONG, 1, limits_get_done);
}

/* -------------------------------------------------------------- reboot */

static void reboot_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;

        if (error >= 0) {
                log_ctl_notice(&op->ctl->c, "reboot requested");
                /* firmware before 6.x says nothing when it is back: the ride
                 * mode is applied again once it had the time to start */
                ride_mode_restarted(op->d, op->ctl, REBOOT_SETTLE_USEC);
        }
        op->done.plain(op->userdata, error < 0 ? error : 0);
        op_free(op);
}

/**
 * op_reboot() - COMM_REBOOT (fire and forget; the controller goes offline
 * briefly and is found again by UUID)
 * @d: the daemon
 * @c: an exported controller
 * @done: completion once the frames are queued
 * @userdata: for @done
 *
 * Returns: 0 (started), -ENODEV, -EBUSY (held: op_busy_text()), -EHOSTDOWN, -ENOBUFS.
 */
int op_reboot(Daemon *d, Controller *c, OpDoneFn done, void *userdata) {
        return op_single(d, c, OP_REBOOT, (OpDone) { .plain = done }, userdata, COMM_REBOOT, REQUEST_REPLY_NONE, 0,
                         reboot_done);
}

/* ------------------------------------------------------ config blobs */

/* Steps of backup/compare/copy that read a blob: read blob[step % 4] from
 * (step % 4 < 2 ? ctl : other).  Copy reads the target again in steps 6
 * and 7 to confirm what it wrote. */
static void read_next_blob(Op *op);

static bool op_reading(const Op *op) {
        switch (op->kind) {
        case OP_BACKUP:
                return op->step < 2;
        case OP_COMPARE:
                return op->step < 4;
        case OP_COPY:
                return op->step < 4 || op->step == 6 || op->step == 7;
        case OP_GET_CONFIG:
        case OP_SET_CONFIG:
                return op->step == (unsigned) op->which;
        case OP_DIFF_CONFIG:
                return op->step == (unsigned) op->which || op->step == 2 + (unsigned) op->which;
        case OP_BACKUP_FILE:
                return op->step < 2;
        default:
                return false;
        }
}

/* blob[idx] = a copy of p[0..n) (n > 0). */
static int op_set_blob(Op *op, unsigned idx, const uint8_t *p, size_t n) {
        uint8_t *copy = malloc(n);

        if (!copy)
                return -ENOMEM;
        memcpy(copy, p, n);
        free(op->blob[idx]);
        op->blob[idx] = copy;
        op->blob_len[idx] = n;
        return 0;
}

static void compare_finish(Op *op);
static void copy_step(Op *op);
static void config_finish(Op *op);

static void read_blob_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;
        unsigned idx = op->step % 4;
        Ctl *target = idx < 2 ? op->ctl : op->other;
        VescConfBlob blob;

        if (!op_replied(op, error) ||
            !op_decoded(op, vesc_conf_blob_decode(reply, len, &blob) >= 0 && blob.len >= 4))
                return;
        if (op_set_blob(op, idx, blob.data, blob.len) < 0) {
                op_fail(op, -ENOMEM);
                return;
        }
        if (idx % 2 == 0)
                controller_set_signatures(&target->c, blob.signature, 0);
        else
                controller_set_signatures(&target->c, 0, blob.signature);
        daemon_model_changed(op->d);

        op->step++;
        read_next_blob(op);
}

static void read_next_blob(Op *op) {
        static const uint8_t get_mc[] = { COMM_GET_MCCONF }, get_app[] = { COMM_GET_APPCONF };
        int r;

        /* a diff reads part `which` of each controller */
        if (op->kind == OP_DIFF_CONFIG && op->step == (unsigned) op->which + 1)
                op->step = 2 + (unsigned) op->which;
        if (!op_reading(op)) {
                if (op->kind >= OP_GET_CONFIG)
                        config_finish(op);
                else if (op->kind == OP_BACKUP) {
                        log_ctl_info(&op->ctl->c, "configuration read (%zu + %zu bytes)", op->blob_len[0],
                                     op->blob_len[1]);
                        op->done.backup(op->userdata, 0, op->blob[0], op->blob_len[0], op->blob[1], op->blob_len[1]);
                        op_free(op);
                } else if (op->kind == OP_COMPARE)
                        compare_finish(op);
                else
                        copy_step(op);
                return;
        }
        Ctl *target = op->step % 4 < 2 ? op->ctl : op->other;
        r = check_online(target);
        if (r >= 0)
                r = op_request(op, target, REQUEST_REPLY_LONG, op->step % 2 ? get_app : get_mc, 1,
                               REQUEST_TIMEOUT_CONFIG_USEC, 1, read_blob_done);
        if (r < 0)
                op_fail(op, r);
}

/**
 * op_backup_config() - read MCCONF and APPCONF (COMM_GET_MCCONF/APPCONF)
 * @d: the daemon
 * @c: an exported controller
 * @done: completion with both serialized blobs (signature included)
 * @userdata: for @done
 *
 * The signatures are recorded in the model (the board compares them).
 *
 * Returns: 0 (started), -ENODEV, -EBUSY (held: op_busy_text()), -EHOSTDOWN, -ENOBUFS.
 */
int op_backup_config(Daemon *d, Controller *c, OpBackupFn done, void *userdata) {
        Op *op;
        int r;

        r = op_new(d, c, OP_BACKUP, (OpDone) { .backup = done }, userdata, /* online= */ true, &op);
        if (r < 0)
                return r;
        read_next_blob(op);
        return 0;
}

/* Restore steps: 0 learn mc signature, 1 learn app signature, 2 write mc,
 * 3 write app, 4 done.  blob[0]/[1] are the inputs; blob[2]/[3] hold what
 * was read to learn signatures. */
static void restore_step(Op *op);

static void restore_learn_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;
        VescConfBlob blob;

        if (!op_replied(op, error) || !op_decoded(op, vesc_conf_blob_decode(reply, len, &blob) >= 0))
                return;
        if (op->step == 0)
                controller_set_signatures(&op->ctl->c, blob.signature, 0);
        else
                controller_set_signatures(&op->ctl->c, 0, blob.signature);
        daemon_model_changed(op->d);
        op->step++;
        restore_step(op);
}

static void restore_write_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;

        if (!op_replied(op, error))
                return;
        /* the APPCONF moved the controller: it answered from the new id,
         * the model follows it there by UUID */
        if (op->step % 2 == 1 && op->new_id >= 0 && replier == op->new_id)
                daemon_controller_moved(op->d, op->ctl->c.uuid, replier);
        op->step++;
        restore_step(op);
}

/* COMM_SET_MCCONF (part 0) or COMM_SET_APPCONF (part 1) of one blob; the
 * reply is a short acknowledgement, an APPCONF's also from op->new_id when
 * it moves the controller there. */
static int write_blob(Op *op, Ctl *target, unsigned part, const uint8_t *p, size_t n, RequestDoneFn done) {
        uint8_t buf[VESC_BUFFER_MAX];
        ssize_t k;

        k = vesc_conf_blob_encode(part ? COMM_SET_APPCONF : COMM_SET_MCCONF, p, n, buf, sizeof buf);
        if (k < 0)
                return (int) k;
        return op_request_alt(op, target, REQUEST_REPLY_SHORT, buf, (size_t) k, CONFIG_WRITE_TIMEOUT_USEC, 0,
                              part ? op->new_id : -1, done);
}

static uint32_t expected_signature(const Controller *c, VescConfKind kind) {
        uint32_t known = kind == VESC_CONF_MC ? c->mc_signature : c->app_signature;
        return known ? known : vesc_conf_signature(kind, c->fw_major, c->fw_minor);
}

static void restore_step(Op *op) {
        static const uint8_t get_mc[] = { COMM_GET_MCCONF }, get_app[] = { COMM_GET_APPCONF };
        int r = 0;

        for (;;) {
                unsigned part = op->step % 2;
                VescConfKind kind = part == 0 ? VESC_CONF_MC : VESC_CONF_APP;

                if (op->step >= 4) {
                        log_ctl_notice(&op->ctl->c, "configuration restored%s",
                                       op->new_id >= 0 ? " (its CAN id changed)" : "");
                        op->done.plain(op->userdata, 0);
                        op_free(op);
                        return;
                }
                if (op->blob_len[part] == 0) {
                        op->step++;
                        continue;
                }
                if (op->step < 2) {
                        if (expected_signature(&op->ctl->c, kind)) {
                                op->step++;
                                continue;
                        }
                        r = op_request(op, op->ctl, REQUEST_REPLY_LONG, part ? get_app : get_mc, 1,
                                       REQUEST_TIMEOUT_CONFIG_USEC, 1, restore_learn_done);
                        break;
                }
                if (op->step == 2) {
                        /* check both before writing either */
                        for (unsigned p = 0; p < 2; p++) {
                                VescConfKind k = p == 0 ? VESC_CONF_MC : VESC_CONF_APP;
                                if (op->blob_len[p] &&
                                    vesc_conf_blob_signature(op->blob[p], op->blob_len[p]) != expected_signature(&op->ctl->c, k)) {
                                        op_fail(op, -EMEDIUMTYPE);
                                        return;
                                }
                        }
                }
                r = write_blob(op, op->ctl, part, op->blob[part], op->blob_len[part], restore_write_done);
                break;
        }
        if (r < 0)
                op_fail(op, r);
}

/**
 * op_restore_config() - write MCCONF and/or APPCONF (COMM_SET_MCCONF/APPCONF)
 * @d: the daemon
 * @c: an exported controller
 * @mc: serialized motor configuration with its signature, or NULL
 * @mc_len: its length (0: leave the motor configuration alone), <= 511
 * @app: serialized app configuration with its signature, or NULL
 * @app_len: its length (0: leave it alone), <= 511
 * @done: completion
 * @userdata: for @done
 *
 * @o: options (NULL: defaults, the controller keeps its CAN id)
 * @ret_error: receives a text for a refusal before anything is sent, or NULL
 *
 * Each blob's signature must equal the running firmware's (known from the
 * table of spec §13.2, or read from the controller first); otherwise
 * nothing is written and the completion gets -EMEDIUMTYPE.  With
 * keep_can_id the APPCONF is written with the controller's current id;
 * without it, an id another device (or vescd) uses is refused (-EINVAL,
 * *ret_error names both), and a free one moves the controller there (the
 * reply is expected from the new id, the model follows by UUID).
 *
 * Returns: 0 (started), -EINVAL (sizes, an id in use), -ENODEV, -EBUSY (held: op_busy_text()), -EHOSTDOWN,
 *          -ENOMEM.
 */
int op_restore_config(Daemon *d, Controller *c, const uint8_t *mc, size_t mc_len, const uint8_t *app,
                      size_t app_len, const OpConfigOptions *o, OpDoneFn done, void *userdata, char **ret_error) {
        OpConfigOptions opts = o ? *o : OP_CONFIG_OPTIONS_DEFAULT;
        uint8_t id;
        Op *op;
        int r;

        if ((mc_len == 0 && app_len == 0) || (mc_len && mc_len < 4) || (app_len && app_len < 4) ||
            mc_len > VESC_BUFFER_MAX - 1 || app_len > VESC_BUFFER_MAX - 1)
                return -EINVAL;
        r = op_new(d, c, OP_RESTORE, (OpDone) { .plain = done }, userdata, /* online= */ true, &op);
        if (r < 0)
                return r;
        if (mc_len && (r = op_set_blob(op, 0, mc, mc_len)) < 0)
                goto fail;
        if (app_len) {
                r = op_set_blob(op, 1, app, app_len);
                if (r < 0)
                        goto fail;
                r = vesc_appconf_get_controller_id(op->blob[1], op->blob_len[1], &id);
                if (r < 0) {
                        r = -EINVAL;
                        goto fail;
                }
                if (opts.keep_can_id)
                        (void) vesc_appconf_set_controller_id(op->blob[1], op->blob_len[1], op->ctl->c.id);
                else if (id != op->ctl->c.id) {
                        r = check_can_id_free(d, op->ctl, id, "restoring this configuration", ret_error);
                        if (r < 0)
                                goto fail;
                        op->new_id = id;
                }
        }
        /* a signature mismatch known up front fails synchronously */
        for (unsigned p = 0; p < 2; p++) {
                VescConfKind k = p == 0 ? VESC_CONF_MC : VESC_CONF_APP;
                uint32_t want = expected_signature(c, k);
                if (op->blob_len[p] && want && vesc_conf_blob_signature(op->blob[p], op->blob_len[p]) != want) {
                        r = -EMEDIUMTYPE;
                        goto fail;
                }
        }
        restore_step(op);
        return 0;
fail:
        op_free(op);
        return r;
}

/* ------------------------------------------------------------ compare */

static int compare_part(const char *what, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                        Strv *l) {
        uint32_t sa = vesc_conf_blob_signature(a, a_len), sb = vesc_conf_blob_signature(b, b_len);
        size_t differing = 0, first = 0;

        if (sa != sb)
                return strv_addf(l, "%s signature 0x%08x \u2260 0x%08x", what, (unsigned) sa, (unsigned) sb);
        if (a_len != b_len)
                return strv_addf(l, "%s size %zu \u2260 %zu", what, a_len, b_len);
        for (size_t i = 0; i < a_len; i++)
                if (a[i] != b[i]) {
                        if (!differing)
                                first = i;
                        differing++;
                }
        if (differing)
                return strv_addf(l, "%s differs in %zu byte%s (first at offset %zu)", what, differing,
                                 differing == 1 ? "" : "s", first);
        return 0;
}

static void compare_finish(Op *op) {
        _cleanup_(strv_done) Strv l = {};
        char **v = NULL;
        uint8_t id;
        int r;

        /* the CAN id always differs; compare app configurations without it */
        if (op->blob[1] && op->blob[3] &&
            vesc_appconf_get_controller_id(op->blob[1], op->blob_len[1], &id) >= 0)
                (void) vesc_appconf_set_controller_id(op->blob[3], op->blob_len[3], id);

        r = compare_part("motor configuration", op->blob[0], op->blob_len[0], op->blob[2], op->blob_len[2], &l);
        if (r >= 0)
                r = compare_part("app configuration", op->blob[1], op->blob_len[1], op->blob[3], op->blob_len[3], &l);
        if (r >= 0 && !(v = strv_take(&l)))
                r = -ENOMEM;
        op->done.compare(op->userdata, r < 0 ? r : 0, r < 0 ? NULL : v);
        strv_free(v);
        op_free(op);
}

/**
 * op_compare_config() - compare two controllers' configurations
 * @d: the daemon
 * @a: one exported controller
 * @b: another
 * @done: completion with one line per difference (empty: identical)
 * @userdata: for @done
 *
 * Reads all four blobs one after the other.  Without a per-version field
 * table the comparison is by signature, then by bytes; the app
 * configuration's controller id is ignored.
 *
 * Returns: 0 (started), -EINVAL (same controller), -ENODEV, -EBUSY (held: op_busy_text()), -EHOSTDOWN.
 */
int op_compare_config(Daemon *d, Controller *a, Controller *b, OpCompareFn done, void *userdata) {
        Op *op;
        int r;

        r = op_new_pair(d, a, b, OP_COMPARE, (OpDone) { .compare = done }, userdata, &op);
        if (r < 0)
                return r;
        read_next_blob(op);
        return 0;
}

/* --------------------------------------------------------------- copy */

/* Copy steps: 0–3 read source mc/app and target mc/app (read_next_blob),
 * 4 write mc, 5 write app, 6–7 read the target again, 8 confirm. */

static void copy_fail(Op *op, int error, const char *fmt, ...) _printf_(3, 4);
static void copy_fail(Op *op, int error, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;

        FORMAT_ARGS(text, fmt);
        log_rl_ctl_warning(&op->other->c, "configuration copy refused: %s", text ? text : strerror(-error));
        op->done.copy(op->userdata, error, text);
        op_free(op);
}

static void copy_write_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;

        if (error < 0) {
                op_fail(op, error);
                return;
        }
        op->step++;
        copy_step(op);
}

/* Both signatures of the target must equal the source's: a blob only
 * deserializes on the firmware that wrote it. */
static bool copy_check_signatures(Op *op) {
        static const char *const what[2] = { "motor", "app" };

        for (unsigned p = 0; p < 2; p++) {
                uint32_t src = vesc_conf_blob_signature(op->blob[p], op->blob_len[p]);
                uint32_t dst = vesc_conf_blob_signature(op->blob[2 + p], op->blob_len[2 + p]);
                if (src != dst) {
                        copy_fail(op, -EMEDIUMTYPE,
                                  "cannot copy the configuration of controller %s (id %u, firmware %s) to controller "
                                  "%s (id %u, firmware %s): %s configuration signature 0x%08x \u2260 0x%08x; bring "
                                  "both to the same firmware first",
                                  op->ctl->c.uuid_str, op->ctl->c.id, op->ctl->c.fw_version, op->other->c.uuid_str,
                                  op->other->c.id, op->other->c.fw_version, what[p], (unsigned) src, (unsigned) dst);
                        return false;
                }
        }
        return true;
}

static void copy_step(Op *op) {
        uint8_t id;
        int r;

        if (op->step == 4) {
                if (!copy_check_signatures(op))
                        return;
                /* keep the target's own CAN id: copying it would give both
                 * controllers one id */
                if (vesc_appconf_get_controller_id(op->blob[3], op->blob_len[3], &id) < 0 ||
                    vesc_appconf_set_controller_id(op->blob[1], op->blob_len[1], id) < 0) {
                        op_fail(op, -EPROTO);
                        return;
                }
        }
        if (op->step == 4 || op->step == 5) {
                unsigned part = op->step - 4;
                r = write_blob(op, op->other, part, op->blob[part], op->blob_len[part], copy_write_done);
                if (r < 0)
                        op_fail(op, r);
                return;
        }
        if (op->step == 6) {
                read_next_blob(op);
                return;
        }
        /* step 8: what the target reports now must be what was written */
        for (unsigned p = 0; p < 2; p++)
                if (op->blob_len[p] != op->blob_len[2 + p] ||
                    memcmp(op->blob[p], op->blob[2 + p], op->blob_len[p]) != 0) {
                        copy_fail(op, -EPROTO, "controller %s (id %u) reports a different %s configuration after the copy",
                                  op->other->c.uuid_str, op->other->c.id, p ? "app" : "motor");
                        return;
                }
        log_ctl_notice(&op->other->c, "configuration copied from %s (id %u)", op->ctl->c.uuid_str, op->ctl->c.id);
        op->done.copy(op->userdata, 0, NULL);
        op_free(op);
}

/**
 * op_copy_config() - copy one controller's configuration to another
 * @d: the daemon
 * @source: an exported controller whose MCCONF and APPCONF are read
 * @target: another exported controller, which receives them
 * @done: completion; on failure with a text for people (may be NULL)
 * @userdata: for @done
 *
 * Reads both controllers' configurations, refuses (-EMEDIUMTYPE, nothing
 * written) unless the target's firmware has the same configuration
 * signatures as the source's, writes the source's blobs to the target
 * with the target's own controller id kept in the APPCONF, and reads the
 * target again to confirm it holds exactly what was written (-EPROTO
 * otherwise).
 *
 * Without @o->keep_can_id the source's id would be written, which the
 * source uses: refused with -EINVAL and *ret_error naming both.
 *
 * Returns: 0 (started), -EINVAL (same controller, an id in use), -ENODEV, -EBUSY (held: op_busy_text()),
 *          -EHOSTDOWN.
 */
int op_copy_config(Daemon *d, Controller *source, Controller *target, const OpConfigOptions *o, OpCopyFn done,
                   void *userdata, char **ret_error) {
        Op *op;
        int r;

        r = op_new_pair(d, source, target, OP_COPY, (OpDone) { .copy = done }, userdata, &op);
        if (r < 0)
                return r;
        if (o && !o->keep_can_id) {
                r = check_can_id_free(d, op->other, op->ctl->c.id, "copying this configuration", ret_error);
                if (r < 0) {
                        op_free(op);
                        return r;
                }
        }
        read_next_blob(op);
        return 0;
}

/**
 * op_busy_text() - who holds the controller an operation was refused for
 * @d: the daemon
 *
 * Right after an op_*() start returned -EBUSY: "<uuid> <holder>", e.g.
 * "2f002b001451363336333531 is being updated by job 3 (writing)", the text
 * both adapters send with the Busy error.
 *
 * Returns: the text (owned by the daemon, valid until the next start).
 */
const char *op_busy_text(const Daemon *d) {
        return d->busy_text;
}

/* ------------------------------------------------ configuration by name */

static void byname_done(Op *op, int error, const char *message, json_t *result) {
        if (error < 0 && message)
                log_rl_ctl_warning(&op->ctl->c, "configuration by name: %s", message);
        op->done.config(op->userdata, error, message, result);
        op_free(op);
}

static void byname_fail(Op *op, int error, const char *fmt, ...) _printf_(3, 4);
static void byname_fail(Op *op, int error, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;

        FORMAT_ARGS(text, fmt);
        byname_done(op, error, text, NULL);
}

static void set_write_done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Op *op = userdata;

        if (!op_replied(op, error))
                return;
        /* a new CAN id answers from the new id (the firmware applies the
         * configuration before it acknowledges): follow it by UUID */
        if (op->new_id >= 0 && replier == op->new_id && replier != op->ctl->c.id) {
                log_ctl_notice(&op->ctl->c, "CAN id %u -> %u (configuration set by name)", op->ctl->c.id, replier);
                daemon_controller_moved(op->d, op->ctl->c.uuid, replier);
        }
        op->phase = 2;
        op->step = (unsigned) op->which;
        read_next_blob(op);
}

/* The CAN id asked for must not be another known device's. */
static const Controller *id_user(Op *op, int id) {
        Controller *const *cs;
        size_t n = daemon_controllers(op->d, &cs);

        for (size_t i = 0; i < n; i++)
                if (cs[i] != &op->ctl->c && cs[i]->id == id)
                        return cs[i];
        return NULL;
}

static void set_apply(Op *op) {
        unsigned w = (unsigned) op->which;
        const ConfigLayout *l = config_layout_of_blob(op->which, op->blob[w], op->blob_len[w]);
        _cleanup_free_ char *message = NULL;
        const Controller *other;
        int r;

        if (!l || l->size != op->blob_len[w]) {
                byname_fail(op, -EOPNOTSUPP, "controller %s (firmware %s): %s configuration signature 0x%08x is not a known layout",
                            op->ctl->c.uuid_str, op->ctl->c.fw_version, config_which_to_string(op->which),
                            (unsigned) vesc_conf_blob_signature(op->blob[w], op->blob_len[w]));
                return;
        }
        r = config_json_apply(l, op->blob[w], op->blob_len[w], op->params, true, &op->new_id, &message);
        if (r < 0) {
                byname_done(op, r == -ERANGE || r == -ENOENT ? -EINVAL : r, message, NULL);
                return;
        }
        if (op->new_id == op->ctl->c.id)
                op->new_id = -1;
        if (op->new_id >= 0 && (other = id_user(op, op->new_id))) {
                byname_fail(op, -EINVAL, "CAN id %d is used by controller %s (%s): not written to controller %s (id %u)",
                            op->new_id, other->uuid_str, other->hw_name, op->ctl->c.uuid_str, op->ctl->c.id);
                return;
        }
        op->written = malloc(op->blob_len[w]);
        if (!op->written) {
                op_fail(op, -ENOMEM);
                return;
        }
        memcpy(op->written, op->blob[w], op->blob_len[w]);
        op->phase = 1;
        /* the reply may come from the CAN id asked for (only an APPCONF
         * has one: write_blob() expects it there) */
        r = write_blob(op, op->ctl, w, op->blob[w], op->blob_len[w], set_write_done);
        if (r < 0)
                op_fail(op, r);
}

/* After the read back: every parameter given must read as written. */
static void set_confirm(Op *op) {
        unsigned w = (unsigned) op->which;
        const ConfigLayout *l = config_layout_of_blob(op->which, op->written, op->blob_len[w]);
        const char *name;
        json_t *v, *result;

        json_object_foreach(op->params, name, v) {
                const ConfigParam *p = config_layout_param(l, name);
                ConfigValue want, got;

                if (!p || config_param_get(p, op->written, op->blob_len[w], &want) < 0 ||
                    config_param_get(p, op->blob[w], op->blob_len[w], &got) < 0 || !config_values_equal(p, &want, p, &got)) {
                        byname_fail(op, -EPROTO, "controller %s (id %u) reports another %s than was written",
                                    op->ctl->c.uuid_str, op->ctl->c.id, name);
                        return;
                }
        }
        log_ctl_notice(&op->ctl->c, "%s set by name (%zu parameter%s)", config_which_to_string(op->which),
                       json_object_size(op->params), json_object_size(op->params) == 1 ? "" : "s");
        result = config_json_render(op->which, op->blob[w], op->blob_len[w]);
        if (!result) {
                op_fail(op, -ENOMEM);
                return;
        }
        byname_done(op, 0, NULL, result);
        json_decref(result);
}

static void config_finish(Op *op) {
        unsigned w = (unsigned) op->which;
        _cleanup_free_ char *message = NULL;
        json_t *result = NULL;
        int r = 0;

        switch (op->kind) {
        case OP_GET_CONFIG:
                result = config_json_render(op->which, op->blob[w], op->blob_len[w]);
                break;
        case OP_BACKUP_FILE:
                result = config_json_backup(op->ctl->c.uuid_str, op->ctl->c.fw_version, op->blob[0], op->blob_len[0],
                                            op->blob[1], op->blob_len[1]);
                break;
        case OP_DIFF_CONFIG:
                r = config_json_diff(op->which, op->blob[w], op->blob_len[w], op->blob[2 + w], op->blob_len[2 + w],
                                     &result, &message);
                if (r < 0) {
                        byname_done(op, r, message, NULL);
                        return;
                }
                break;
        case OP_SET_CONFIG:
                if (op->phase == 0)
                        set_apply(op);
                else
                        set_confirm(op);
                return;
        default:
                return;
        }
        if (!result) {
                op_fail(op, -ENOMEM);
                return;
        }
        byname_done(op, 0, NULL, result);
        json_decref(result);
}

static int config_start(Daemon *d, Controller *c, Controller *other, OpKind kind, ConfigWhich which,
                        OpConfigFn done, void *userdata, Op **ret) {
        Op *op;
        int r;

        if (which < 0 || which >= _CONFIG_WHICH_MAX)
                return -EINVAL;
        r = other ? op_new_pair(d, c, other, kind, (OpDone) { .config = done }, userdata, &op)
                  : op_new(d, c, kind, (OpDone) { .config = done }, userdata, /* online= */ true, &op);
        if (r < 0)
                return r;
        op->which = which;
        op->step = kind == OP_BACKUP_FILE ? 0 : (unsigned) which;
        if (ret)
                *ret = op;
        else
                read_next_blob(op);
        return 0;
}

/**
 * op_get_config() - read one configuration and decode it by name
 * @d: the daemon
 * @c: an exported controller
 * @which: CONFIG_MCCONF or CONFIG_APPCONF
 * @done: completion with {signature, layout, params, raw}
 * @userdata: for @done
 *
 * Returns: 0 (started), -EINVAL, -ENODEV, -EHOSTDOWN.
 */
int op_get_config(Daemon *d, Controller *c, ConfigWhich which, OpConfigFn done, void *userdata) {
        return config_start(d, c, NULL, OP_GET_CONFIG, which, done, userdata, NULL);
}

/**
 * op_backup_config_file() - read both configurations as a backup file
 * @d: the daemon
 * @c: an exported controller
 * @done: completion with {"format": 1, uuid, firmware_version, mcconf, appconf}
 * @userdata: for @done
 *
 * Returns: 0 (started), -ENODEV, -EHOSTDOWN.
 */
int op_backup_config_file(Daemon *d, Controller *c, OpConfigFn done, void *userdata) {
        return config_start(d, c, NULL, OP_BACKUP_FILE, CONFIG_MCCONF, done, userdata, NULL);
}

/**
 * op_set_config() - change parameters of one configuration by name
 * @d: the daemon
 * @c: an exported controller
 * @which: CONFIG_MCCONF or CONFIG_APPCONF
 * @params: {name: value} (referenced)
 * @done: completion with the configuration read back, or the refusal
 * @userdata: for @done
 *
 * Reads the configuration, applies @params (all or nothing, range-checked
 * against the layout table), writes it, reads it back and checks that every
 * parameter given reads as written.
 *
 * Returns: 0 (started), -EINVAL, -ENODEV, -EHOSTDOWN.
 */
int op_set_config(Daemon *d, Controller *c, ConfigWhich which, json_t *params, OpConfigFn done, void *userdata) {
        Op *op;
        int r;

        if (!json_is_object(params) || json_object_size(params) == 0)
                return -EINVAL;
        r = config_start(d, c, NULL, OP_SET_CONFIG, which, done, userdata, &op);
        if (r < 0)
                return r;
        op->params = json_incref(params);
        read_next_blob(op);
        return 0;
}

/**
 * op_diff_config() - compare one configuration of two controllers by name
 * @d: the daemon
 * @a: an exported controller
 * @b: another
 * @which: CONFIG_MCCONF or CONFIG_APPCONF
 * @done: completion with config_json_diff()'s object
 * @userdata: for @done
 *
 * Returns: 0 (started), -EINVAL, -ENODEV, -EHOSTDOWN.
 */
int op_diff_config(Daemon *d, Controller *a, Controller *b, ConfigWhich which, OpConfigFn done, void *userdata) {
        return config_start(d, a, b, OP_DIFF_CONFIG, which, done, userdata, NULL);
}
