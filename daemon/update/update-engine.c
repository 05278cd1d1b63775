/* The firmware update engine (see update-engine.h and docs/firmware-update.md).
 *
 * Each controller ("side") has its own phase; the job couples the sides at
 * three barriers: the erase (all sides erase together once every side is
 * backed up and has its bootloader), the commit (JUMP only when every side
 * not yet committed is staged and will accept its stream), and the end.
 * A side that fails before the commit takes every other un-committed side
 * down with it, so a pair is never left mismatched by vescd.  After the
 * commit each side is confirmed on its own, found by UUID; one that came
 * back on its old build is committed again (a lost JUMP), and a side
 * still wrong after that is re-staged once.
 *
 * side_enter() is the only place that changes a side's phase; it logs
 * "old → new", drops the request in flight and its timer, marks the job
 * for persisting and starts the new phase.  job_pump() then moves whatever
 * can move without an event (barriers, queued configuration requests). */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "crc.h"
#include "update/update-progress.h"
#include "update/update-transfer.h"
#include "update/update-engine.h"
#include "update/update-migrate.h"
#include "core/string-table.h"
#include "fwimage.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"
#include "wire.h"

/* Progress weights (units are bytes on the bus; fixed steps get byte
 * equivalents roughly proportional to the time they take). */
#define W_CHECK     2048u
#define W_BACKUP    1024u   /* per configuration blob */
#define W_BL_ERASE  16384u
#define W_ERASE     32768u
#define W_REBOOT    65536u
#define W_RESTORE   4096u

typedef struct FwSide {
        unsigned index;
        char uuid[2 * VESC_UUID_LEN + 1];
        FwIdentity id;              /* as last seen; the CAN id may change */
        FwIdentity before;          /* when the job first saw it */
        const FwImage *img;
        uint16_t stream_crc;        /* identifies the image in snapshots */
        FwSidePlan plan;
        FwPhase phase;

        /* checking */
        bool seen;
        bool have_tel;
        FwTelemetry tel;
        uint64_t tel_at, still_since;

        /* the one request in flight (replies carry no request id) */
        bool busy;
        uint8_t req[512];
        size_t req_len;
        int expect_cmd;
        bool req_long;
        uint64_t req_timeout;       /* nominal (before the time scale) */
        uint64_t req_sent_at, req_first_at, cur_timeout;  /* cur_timeout: scaled, of the last send */
        UpdateRtt conf_rtt;         /* configuration requests' round trip */
        unsigned req_max, attempts;
        uint32_t expect_offset;     /* WRITE_NEW_APP_DATA echo */
        int alt_can_id;             /* -1, or the id SET_APPCONF moves it to */

        bool timer_armed;
        uint64_t timer_at;
        uint64_t deadline;          /* rebooting */
        uint64_t poll_fast_at;      /* rebooting: from then on identify every FW_REBOOT_POLL_FAST_USEC */
        unsigned step;              /* backing-up, restoring */
        bool waiting;               /* done with its part, waiting at a barrier */

        /* the transfer (bootloader or upload stream) */
        UpdateTransfer xfer;
        UpdateRtt write_rtt;
        size_t erased_end;

        uint8_t *mcconf, *appconf;  /* backups: serialized config with signature */
        size_t mcconf_len, appconf_len;
        FwMigration migration[2];   /* restoring across layouts: [CONFIG_MCCONF], [CONFIG_APPCONF] */
        bool migrating_app;         /* the GET_APPCONF of restoring is for a migration */

        /* history, for the report and resume */
        bool bootloader_started, bootloader_done, app_erased;
        unsigned commits, restages;
        FwError error;
        char text[FW_TEXT_MAX];
        char redo[FW_TEXT_MAX];
        bool can_id_not_restored;
} FwSide;

struct FwUpdateJob {
        FwJobState state;
        bool started;
        size_t n;
        FwSide sides[FW_SIDES_MAX];

        FwGateConfig gates;
        bool override_gates, skip_can_id_restore, skip_config_migration;
        uint8_t foreign_ids[32];    /* bit per CAN id another device uses */
        char busy_reason[128], inhibit_reason[128];
        double scale;

        bool job_timer_armed;
        uint64_t job_timer_at, check_deadline;
        int long_owner;             /* side holding the bus-wide long-reply slot, -1 */
        unsigned conf_sends, conf_timeouts;  /* configuration exchanges, for the loss estimate */

        FwProgress progress;
        FwProgressInfo reported;
        bool reported_valid;
        unsigned resumes;
        FwError error;
        char text[2 * FW_TEXT_MAX];

        /* only during fw_update_handle() */
        FwActions *out;
        uint64_t now;
        bool dirty, oom;
};

static const char *const fw_phase_table[_FW_PHASE_MAX] = {
        [FW_PHASE_CHECKING] = "checking",
        [FW_PHASE_BACKING_UP] = "backing-up",
        [FW_PHASE_BOOTLOADER] = "bootloader",
        [FW_PHASE_ERASING] = "erasing",
        [FW_PHASE_WRITING] = "writing",
        [FW_PHASE_STAGED] = "staged",
        [FW_PHASE_COMMITTING] = "committing",
        [FW_PHASE_REBOOTING] = "rebooting",
        [FW_PHASE_CONFIRMING] = "confirming",
        [FW_PHASE_RESTORING] = "restoring",
        [FW_PHASE_DONE] = "done",
        [FW_PHASE_FAILED] = "failed",
        [FW_PHASE_CANCELLED] = "cancelled",
};

static const char *const fw_job_state_table[_FW_JOB_STATE_MAX] = {
        [FW_JOB_RUNNING] = "running",
        [FW_JOB_DONE] = "done",
        [FW_JOB_FAILED] = "failed",
        [FW_JOB_CANCELLED] = "cancelled",
};

/* fw_phase_to_string(): the phase name shared by both adapters ("checking"
 * … "cancelled"), NULL out of range; fw_phase_from_string(): the phase, or
 * _FW_PHASE_INVALID (also for NULL). */
DEFINE_STRING_TABLE_LOOKUP(fw_phase, FwPhase, fw_phase_table, _FW_PHASE_MAX)

/* fw_job_state_to_string(): "running", "done", "failed", "cancelled", NULL
 * out of range; fw_job_state_from_string(): the state, or
 * _FW_JOB_STATE_INVALID (also for NULL). */
DEFINE_STRING_TABLE_LOOKUP(fw_job_state, FwJobState, fw_job_state_table, _FW_JOB_STATE_MAX)

static bool phase_terminal(FwPhase p) {
        return p >= FW_PHASE_DONE;
}

static bool phase_precommit(FwPhase p) {
        return p >= FW_PHASE_CHECKING && p <= FW_PHASE_STAGED;
}

static bool phase_in_flight(FwPhase p) {
        return p >= FW_PHASE_COMMITTING && p <= FW_PHASE_CONFIRMING;
}

/* ------------------------------------------------------------ actions */

/**
 * fw_actions_clear() - drop the actions, keep the array for reuse
 * @a: the list
 */
void fw_actions_clear(FwActions *a) {
        a->n = 0;
}

/**
 * fw_actions_done() - free the list
 * @a: the list (its struct itself is the caller's)
 */
void fw_actions_done(FwActions *a) {
        fw_actions_clear(a);
        free(a->v);
        *a = (FwActions) {};
}

static FwAction *push(FwUpdateJob *job, FwActionType type, int side) {
        FwActions *a = job->out;

        if (a->n == a->allocated) {
                size_t m = MAX(a->allocated * 2, (size_t) 16);
                FwAction *v = reallocarray(a->v, m, sizeof *v);
                if (!v) {
                        job->oom = true;
                        return NULL;
                }
                a->v = v;
                a->allocated = m;
        }
        FwAction *x = &a->v[a->n++];
        *x = (FwAction) {
                .type = type,
                .side = side,
                .expect_cmd = -1,
                .level = LOG_INFO,
        };
        return x;
}

static void vlog_side(FwUpdateJob *job, const FwSide *s, int level, const char *fmt, va_list ap) {
        FwAction *a = push(job, FW_ACTION_LOG, s ? (int) s->index : -1);
        int n = 0;

        if (!a)
                return;
        a->level = level;
        if (s)
                n = snprintf(a->text, sizeof a->text, "controller %s (id %u): ", s->uuid, s->id.can_id);
        (void) vsnprintf(a->text + n, sizeof a->text - (size_t) n, fmt, ap);
}

static void log_side(FwUpdateJob *job, const FwSide *s, int level, const char *fmt, ...) _printf_(4, 5);
static void log_side(FwUpdateJob *job, const FwSide *s, int level, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vlog_side(job, s, level, fmt, ap);
        va_end(ap);
}

static uint64_t side_wait_usec(const FwUpdateJob *job, const FwSide *s);
static uint64_t side_erase_usec(const FwUpdateJob *job, const FwSide *s, bool bootloader);
static uint64_t side_transfer_usec(const FwUpdateJob *job, const FwSide *s, bool bootloader);

static uint64_t scaled(const FwUpdateJob *job, uint64_t usec) {
        return (uint64_t) ((double) usec * job->scale);
}

static void side_arm_at(FwUpdateJob *job, FwSide *s, uint64_t at) {
        FwAction *a = push(job, FW_ACTION_ARM_TIMER, (int) s->index);

        s->timer_armed = true;
        s->timer_at = at;
        if (a) {
                a->timer = FW_TIMER_SIDE(s->index);
                a->at_usec = at;
        }
}

static void side_disarm(FwUpdateJob *job, FwSide *s) {
        FwAction *a;

        if (!s->timer_armed)
                return;
        s->timer_armed = false;
        a = push(job, FW_ACTION_CANCEL_TIMER, (int) s->index);
        if (a)
                a->timer = FW_TIMER_SIDE(s->index);
}

static void job_arm(FwUpdateJob *job, uint64_t at) {
        FwAction *a = push(job, FW_ACTION_ARM_TIMER, -1);

        job->job_timer_armed = true;
        job->job_timer_at = at;
        if (a) {
                a->timer = FW_TIMER_JOB;
                a->at_usec = at;
        }
}

static void job_disarm(FwUpdateJob *job) {
        FwAction *a;

        if (!job->job_timer_armed)
                return;
        job->job_timer_armed = false;
        a = push(job, FW_ACTION_CANCEL_TIMER, -1);
        if (a)
                a->timer = FW_TIMER_JOB;
}

static void identify(FwUpdateJob *job, const FwSide *s, uint8_t can_id_hint) {
        FwAction *a = push(job, FW_ACTION_IDENTIFY, (int) s->index);

        if (a) {
                a->can_id = can_id_hint;
                memcpy(a->uuid, s->id.uuid, VESC_UUID_LEN);
        }
}

static void request_telemetry(FwUpdateJob *job, const FwSide *s) {
        FwAction *a = push(job, FW_ACTION_REQUEST_TELEMETRY, (int) s->index);

        if (a)
                a->can_id = s->id.can_id;
}

/* ------------------------------------------------------------- requests */

static void side_release(FwUpdateJob *job, FwSide *s) {
        s->busy = false;
        if (job->long_owner == (int) s->index)
                job->long_owner = -1;
        side_disarm(job, s);
}

static bool long_slot_free(const FwUpdateJob *job, const FwSide *s) {
        return job->long_owner < 0 || job->long_owner == (int) s->index;
}

/* (Re)transmit the stored request. */
static bool is_conf_cmd(int cmd) {
        return cmd == COMM_GET_MCCONF || cmd == COMM_GET_APPCONF || cmd == COMM_SET_MCCONF || cmd == COMM_SET_APPCONF;
}

static uint64_t write_timeout(const FwUpdateJob *job, const FwSide *s);

/* SET_MCCONF and SET_APPCONF: the firmware stores the configuration and
 * pauses about 200 ms before it acks (spec §13.1).  That pause is not bus
 * round trip: it is added to the timeout of a SET (else every SET timed out
 * and was written twice) and taken out of its round-trip sample. */
static uint64_t conf_pause(const FwUpdateJob *job, int cmd) {
        return cmd == COMM_SET_MCCONF || cmd == COMM_SET_APPCONF ? scaled(job, FW_CONF_SET_PAUSE_USEC) : 0;
}

/* The timeout of the request about to be (re)sent (s->attempts counts this
 * send).  Configuration requests: the measured round trip (srtt + 4 ×
 * rttvar, at least FW_CONF_RTO_FLOOR_USEC), doubled per attempt, at most
 * FW_CONF_TIMEOUT_USEC; a SET's pause (conf_pause()) on top.  Writes: update_transfer_timeout() (write_timeout()).
 * Everything else (erases, whose duration is the flash's): the fixed one. */
static uint64_t request_timeout(const FwUpdateJob *job, const FwSide *s) {
        if (s->expect_cmd == COMM_WRITE_NEW_APP_DATA)
                return write_timeout(job, s);
        if (is_conf_cmd(s->expect_cmd)) {
                uint64_t ceiling = scaled(job, FW_CONF_TIMEOUT_USEC);
                uint64_t rto = update_rtt_timeout(&s->conf_rtt, scaled(job, FW_CONF_RTO_FLOOR_USEC), ceiling);
                for (unsigned i = 1; i < s->attempts && rto < ceiling; i++)
                        rto *= 2;
                return MIN(rto, ceiling) + conf_pause(job, s->expect_cmd);
        }
        return scaled(job, s->req_timeout);
}

static void side_transmit(FwUpdateJob *job, FwSide *s) {
        FwAction *a = push(job, FW_ACTION_SEND, (int) s->index);

        s->attempts++;
        s->req_sent_at = job->now;
        if (s->attempts == 1)
                s->req_first_at = job->now;
        if (is_conf_cmd(s->expect_cmd))
                job->conf_sends++;
        s->cur_timeout = request_timeout(job, s);
        if (a) {
                a->can_id = s->id.can_id;
                a->mode = s->expect_cmd < 0 ? FW_SEND_MODE_NOREPLY : FW_SEND_MODE_REPLY;
                a->expect_cmd = s->expect_cmd;
                a->long_reply = s->req_long;
                a->alt_can_id = s->expect_cmd == COMM_SET_APPCONF ? s->alt_can_id : -1;
                a->timeout_usec = (uint64_t) ((double) s->cur_timeout / job->scale);
                a->len = s->req_len;
                memcpy(a->data, s->req, s->req_len);
        }
        if (s->expect_cmd < 0)
                return;
        s->busy = true;
        if (s->req_long)
                job->long_owner = (int) s->index;
        side_arm_at(job, s, job->now + s->cur_timeout);
}

static void side_fail(FwUpdateJob *job, FwSide *s, FwError e, const char *fmt, ...) _printf_(4, 5);

/* Attempts for a configuration request: enough that, at the loss rate
 * measured on this job's configuration exchanges (Laplace estimate, so
 * 1/2 before any), all of them failing is below 1e-6; at least
 * FW_CONF_ATTEMPTS, at most FW_CONF_ATTEMPTS_MAX.  (A long reply is ~75
 * frames: at 1 % frame loss each way about half of them fail.) */
static unsigned conf_attempts(const FwUpdateJob *job) {
        double loss = ((double) job->conf_timeouts + 1.0) / ((double) job->conf_sends + 2.0);
        double n = ceil(log(1e-6) / log(loss));

        return (unsigned) CLAMP(n, (double) FW_CONF_ATTEMPTS, (double) FW_CONF_ATTEMPTS_MAX);
}

/* Store a freshly encoded request and send it.  len < 0 is an encoder bug. */
static void side_request(FwUpdateJob *job, FwSide *s, ssize_t len, int expect_cmd, bool long_reply,
                         uint64_t timeout, unsigned max_attempts) {
        if (len <= 0 || (size_t) len > sizeof s->req) {
                side_fail(job, s, FW_ERROR_INTERNAL, "could not encode request for command %d (%zd)", expect_cmd, len);
                return;
        }
        s->req_len = (size_t) len;
        s->expect_cmd = expect_cmd;
        s->req_long = long_reply;
        s->req_timeout = timeout;
        s->req_max = is_conf_cmd(expect_cmd) ? conf_attempts(job) : max_attempts;
        s->attempts = 0;
        side_transmit(job, s);
}

static const char *cmd_name(int cmd) {
        switch (cmd) {
        case COMM_ERASE_NEW_APP: return "ERASE_NEW_APP";
        case COMM_WRITE_NEW_APP_DATA: return "WRITE_NEW_APP_DATA";
        case COMM_ERASE_BOOTLOADER: return "ERASE_BOOTLOADER";
        case COMM_GET_MCCONF: return "GET_MCCONF";
        case COMM_GET_APPCONF: return "GET_APPCONF";
        case COMM_SET_MCCONF: return "SET_MCCONF";
        case COMM_SET_APPCONF: return "SET_APPCONF";
        default: return "request";
        }
}

/* -------------------------------------------------------------- phases */

static void side_enter(FwUpdateJob *job, FwSide *s, FwPhase p);

static void describe_id(const FwIdentity *id, char out[static 96]) {
        fw_version_describe(id->major, id->minor, id->test_build, id->fw_name, out);
}

static void describe_img(const FwImage *img, char out[static 96]) {
        fw_version_describe(img->major, img->minor, img->test_build, img->fw_name, out);
}

static void side_stop(FwUpdateJob *job, FwSide *s, FwPhase p, FwError e, const char *fmt, va_list ap) {
        if (phase_terminal(s->phase))
                return;
        s->error = e;
        (void) vsnprintf(s->text, sizeof s->text, fmt, ap);
        if (job->error == FW_ERROR_NONE && e != FW_ERROR_NOT_COMMITTED) {
                job->error = e;
                (void) snprintf(job->text, sizeof job->text, "controller %s: %s", s->uuid, s->text);
        }
        side_enter(job, s, p);
}

static void side_stop_f(FwUpdateJob *job, FwSide *s, FwPhase p, FwError e, const char *fmt, ...) _printf_(5, 6);
static void side_stop_f(FwUpdateJob *job, FwSide *s, FwPhase p, FwError e, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        side_stop(job, s, p, e, fmt, ap);
        va_end(ap);
}

/* A failing side that has not been committed takes every other side that
 * has not been committed with it: nobody JUMPs alone. */
static void side_fail(FwUpdateJob *job, FwSide *s, FwError e, const char *fmt, ...) {
        bool pre = phase_precommit(s->phase);
        va_list ap;

        if (phase_terminal(s->phase))
                return;
        log_side(job, s, LOG_ERR, "failed (%s)", fw_error_to_string(e));
        va_start(ap, fmt);
        side_stop(job, s, FW_PHASE_FAILED, e, fmt, ap);
        va_end(ap);
        if (!pre)
                return;
        for (size_t i = 0; i < job->n; i++) {
                FwSide *o = &job->sides[i];
                char cur[96];

                if (o == s || !phase_precommit(o->phase))
                        continue;
                describe_id(&o->before, cur);
                side_stop_f(job, o, FW_PHASE_FAILED, FW_ERROR_NOT_COMMITTED,
                            "not committed because controller %s failed; still runs %s", s->uuid, cur);
        }
}

static void transfer_start(FwSide *s, const uint8_t *data, size_t len, uint32_t base) {
        /* The bootloader is never skipped: it is intact only if all of it was written. */
        update_transfer_start(&s->xfer, data, len, base, base == 0, s->erased_end);
}

/* How long to wait for a write's ack.
 *
 * 5.00+ echo the offset in the ack, so a late ack of an earlier send can
 * never be taken for another chunk: the timeout follows the measured
 * round trip of unambiguous acks (srtt + 4 × rttvar), floored by the
 * chunk's flash programming time plus a margin, doubled per timeout of
 * the same chunk, at most FW_WRITE_TIMEOUT_USEC.
 *
 * Before 5.00 the ack is [3][ok] with no offset.  A resend after a short
 * timeout would leave two acks for the same chunk on their way; the second
 * would then be taken for the next chunk, whose bytes might never have
 * arrived, and the image would be staged with a hole that only the
 * bootloader's CRC check notices.  So there the wait stays the safe
 * FW_WRITE_TIMEOUT_USEC, long after any ack of a send could still come. */
static uint64_t write_timeout(const FwUpdateJob *job, const FwSide *s) {
        uint64_t ceiling = scaled(job, FW_WRITE_TIMEOUT_USEC);
        uint64_t floor = scaled(job, FW_WRITE_RTO_MARGIN_USEC + s->xfer.inflight_len * FW_PROGRAM_USEC_PER_BYTE);

        if (s->id.major < 5)
                return ceiling;
        return update_transfer_timeout(&s->xfer, &s->write_rtt, MIN(floor, ceiling), ceiling);
}

/* Attempts for one chunk: enough that, at the loss rate measured on this
 * side's writes (timeouts per send, Laplace estimate), all of them failing
 * is below 1e-6; at least FW_WRITE_ATTEMPTS, at most FW_WRITE_ATTEMPTS_MAX.
 * (At 5 % frame loss about 4 in 10 sends of a 96-byte chunk are lost.  With
 * a fixed 6, the 18 s below came after about 11 losses in a row with the
 * backed-off timeouts: one chunk in ~40 000, one pair job in about seven.) */
static unsigned write_attempts(const FwSide *s) {
        double loss = ((double) s->xfer.timeouts + 1.0) / ((double) s->xfer.sends + 2.0);
        double n = ceil(log(1e-6) / log(loss));

        return (unsigned) CLAMP(n, (double) FW_WRITE_ATTEMPTS, (double) FW_WRITE_ATTEMPTS_MAX);
}

/* A chunk is given up after write_attempts() attempts once as much time
 * as FW_WRITE_ATTEMPTS full timeouts went by (a dead controller fails about
 * as soon as before: its sends time out at the backed-off ceiling), and
 * after FW_WRITE_ATTEMPTS_MAX in any case. */
static bool write_give_up(const FwUpdateJob *job, const FwSide *s) {
        if (s->xfer.attempts >= FW_WRITE_ATTEMPTS_MAX)
                return true;
        return s->xfer.attempts >= write_attempts(s) &&
               job->now - s->xfer.first_sent_at >= scaled(job, FW_WRITE_ATTEMPTS * FW_WRITE_TIMEOUT_USEC);
}

/* Send the chunk at the transfer's position (skipping erased 0xFF chunks
 * of the upload stream), or finish the transfer. */
static void transfer_send(FwUpdateJob *job, FwSide *s) {
        bool app = s->xfer.base == 0;
        size_t skipped = 0;

        if (!update_transfer_next(&s->xfer, &skipped)) {
                fw_progress_advance(&job->progress, skipped, skipped, job->now);
                side_release(job, s);
                if (app)
                        side_enter(job, s, FW_PHASE_STAGED);
                else {
                        s->bootloader_done = true;
                        s->waiting = true;
                        job->dirty = true;
                        log_side(job, s, LOG_INFO, "bootloader written (%zu bytes)", s->xfer.len);
                }
                return;
        }
        fw_progress_advance(&job->progress, skipped, skipped, job->now);
        s->expect_offset = update_transfer_offset(&s->xfer);
        side_request(job, s,
                     vesc_write_new_app_encode(s->expect_offset, update_transfer_chunk(&s->xfer), s->xfer.inflight_len,
                                               s->req, sizeof s->req),
                     COMM_WRITE_NEW_APP_DATA, false, FW_WRITE_TIMEOUT_USEC, FW_WRITE_ATTEMPTS);
        update_transfer_sent(&s->xfer, job->now);
}

/* A write timed out or was acknowledged with the wrong offset: resend the
 * chunk, smaller after a timeout, unless the attempts are used up. */
static void transfer_retry(FwUpdateJob *job, FwSide *s, bool timeout) {
        side_release(job, s);
        if (write_give_up(job, s)) {
                side_fail(job, s, FW_ERROR_TIMEOUT, "no %sacknowledgement for the write at offset %u after %u attempts",
                          timeout ? "" : "correct ", s->expect_offset, s->xfer.attempts);
                return;
        }
        if (timeout) {
                update_transfer_timed_out(&s->xfer);
                log_side(job, s, LOG_DEBUG, "write at offset %u timed out, chunk size now %zu", s->expect_offset,
                         s->xfer.chunk);
        } else
                update_transfer_rejected(&s->xfer);
        transfer_send(job, s);
}

static void write_reply(FwUpdateJob *job, FwSide *s, const uint8_t *p, size_t n) {
        VescFlashReply r;

        if (vesc_flash_reply_decode(p, n, &r) < 0)
                return;
        if (!r.ok) {
                side_fail(job, s, FW_ERROR_REFUSED, "controller refused the write at offset %u (ok = 0)", s->expect_offset);
                return;
        }
        /* 5.00+ echo the offset.  An ack of an offset already acknowledged
         * is the late ack of an earlier send of that chunk (its resend was
         * acknowledged first): dropped, the chunk in flight keeps its timer. */
        if (s->id.major >= 5 && r.has_offset && r.offset < s->expect_offset &&
            r.offset >= s->xfer.base && r.offset - s->xfer.base < s->xfer.pos + s->xfer.inflight_len) {
                log_side(job, s, LOG_DEBUG, "late ack for offset %u while %u is in flight, ignored", r.offset,
                         s->expect_offset);
                return;
        }
        /* Any other wrong echo is a misrouted or corrupted ack: resend. */
        if (s->id.major >= 5 && (!r.has_offset || r.offset != s->expect_offset)) {
                log_side(job, s, LOG_WARNING, "write at offset %u acknowledged with offset %d, resending", s->expect_offset,
                         r.has_offset ? (int) r.offset : -1);
                transfer_retry(job, s, false);
                return;
        }
        side_release(job, s);
        size_t acked = update_transfer_acked(&s->xfer, job->now, &s->write_rtt);
        fw_progress_advance(&job->progress, acked, acked, job->now);
        transfer_send(job, s);
}

static void erase_reply(FwUpdateJob *job, FwSide *s, const uint8_t *p, size_t n) {
        VescFlashReply r;

        if (vesc_flash_reply_decode(p, n, &r) < 0)
                return;
        side_release(job, s);
        if (!r.ok) {
                side_fail(job, s, FW_ERROR_REFUSED, "controller refused %s (ok = 0; motor still turning?)",
                          cmd_name(p[0]));
                return;
        }
        if (p[0] == COMM_ERASE_BOOTLOADER) {
                fw_progress_advance(&job->progress, W_BL_ERASE, 0, job->now);
                fw_progress_wait_done(&job->progress, side_erase_usec(job, s, true), job->now);
                transfer_start(s, s->img->bootloader, s->img->bootloader_len, VESC_BOOTLOADER_OFFSET);
                transfer_send(job, s);
        } else {
                fw_progress_advance(&job->progress, W_ERASE, 0, job->now);
                fw_progress_wait_done(&job->progress, side_erase_usec(job, s, false), job->now);
                side_enter(job, s, FW_PHASE_WRITING);
        }
}

static bool store_blob(const uint8_t *p, size_t n, uint8_t **ret, size_t *ret_len) {
        VescConfBlob b;
        uint8_t *copy;

        if (vesc_conf_blob_decode(p, n, &b) < 0 || b.len < 4)
                return false;
        copy = malloc(b.len);
        if (!copy)
                return false;
        memcpy(copy, b.data, b.len);
        free(*ret);
        *ret = copy;
        *ret_len = b.len;
        return true;
}

static void backup_reply(FwUpdateJob *job, FwSide *s, const uint8_t *p, size_t n) {
        bool mc = p[0] == COMM_GET_MCCONF;

        if (!store_blob(p, n, mc ? &s->mcconf : &s->appconf, mc ? &s->mcconf_len : &s->appconf_len)) {
                side_fail(job, s, FW_ERROR_INTERNAL, "could not keep the %s configuration backup", mc ? "motor" : "app");
                return;
        }
        side_release(job, s);
        fw_progress_advance(&job->progress, W_BACKUP, 0, job->now);
        s->step++;
        job->dirty = true;
}

/* Backing-up: GET_MCCONF, GET_APPCONF (long replies, one on the bus at a
 * time), then the bootloader or the erase barrier.  Returns true if it
 * changed the phase. */
static bool backup_step(FwUpdateJob *job, FwSide *s) {
        if (s->busy || s->waiting)
                return false;
        if (s->step == 0 && s->mcconf)
                s->step = 1;
        if (s->step == 1 && s->appconf)
                s->step = 2;
        if (s->step < 2) {
                int cmd = s->step == 0 ? COMM_GET_MCCONF : COMM_GET_APPCONF;
                if (long_slot_free(job, s))
                        side_request(job, s, vesc_simple_encode(cmd, s->req, sizeof s->req), cmd, true,
                                     FW_CONF_TIMEOUT_USEC, FW_CONF_ATTEMPTS);
                return false;
        }
        if (s->plan.bootloader && !s->bootloader_done) {
                side_enter(job, s, FW_PHASE_BOOTLOADER);
                return true;
        }
        s->waiting = true;
        return true;
}

static bool can_id_taken(const FwUpdateJob *job, const FwSide *s, uint8_t id) {
        if (job->foreign_ids[id / 8] & (1u << (id % 8)))
                return true;
        for (size_t i = 0; i < job->n; i++)
                if (&job->sides[i] != s && job->sides[i].id.can_id == id)
                        return true;
        return false;
}

static void redo_add(FwSide *s, const char *what) {
        size_t l = strlen(s->redo);

        (void) snprintf(s->redo + l, sizeof s->redo - l, "%s%s", l ? "; " : "", what);
}

/* What must be read first (the report's redo is bounded). */
static void redo_first(FwSide *s, const char *what) {
        char buf[2 * sizeof s->redo + 8];
        size_t n;

        (void) snprintf(buf, sizeof buf, "%s%s%s", what, s->redo[0] ? "; " : "", s->redo);
        n = MIN(strlen(buf), sizeof s->redo - 1);
        memcpy(s->redo, buf, n);
        s->redo[n] = 0;
}

/* The old id stays unused: the job still ends done, the report says why. */
static void can_id_not_restored(FwSide *s, uint8_t id) {
        char what[96];

        (void) snprintf(what, sizeof what, "old CAN id %u not restored: another device uses it now (it stays at %u)",
                        id, s->id.can_id);
        s->can_id_not_restored = true;
        redo_add(s, what);
}

/* The migration of one part (update-migrate.h) wanted for side s: the
 * backup's layout differs from the running firmware's and both are known. */
static bool migration_wanted(const FwUpdateJob *job, const FwSide *s, ConfigWhich which, uint32_t sig) {
        if (job->skip_config_migration || sig == 0)
                return false;
        return which == CONFIG_MCCONF ? fw_migration_possible(which, s->mcconf, s->mcconf_len, sig)
                                      : fw_migration_possible(which, s->appconf, s->appconf_len, sig);
}

/* Carries the backup of one part into blob (the controller's configuration
 * after the update); false (and a redo line) if it could not. */
static bool migrate_part(FwUpdateJob *job, FwSide *s, ConfigWhich which, uint8_t *blob, size_t len) {
        FwMigration *m = &s->migration[which];
        int r;

        r = which == CONFIG_MCCONF ? fw_migrate(which, s->mcconf, s->mcconf_len, blob, len, m)
                                   : fw_migrate(which, s->appconf, s->appconf_len, blob, len, m);
        if (r < 0) {
                log_side(job, s, LOG_WARNING, "%s configuration could not be carried to the new layout: %s",
                         which == CONFIG_MCCONF ? "motor" : "app", strerror(-r));
                return false;
        }
        log_side(job, s, LOG_INFO, "%s configuration carried from layout %s to %s: %zu carried, %zu dropped, %zu defaulted",
                 which == CONFIG_MCCONF ? "motor" : "app", m->from, m->to, m->names.n_carried, m->names.n_dropped,
                 m->names.n_defaulted);
        /* what the user must set again: values in both layouts the new one
         * cannot hold (new parameters simply take their defaults) */
        const ConfigLayout *from = config_layout_by_version(which, m->from);
        char names[FW_TEXT_MAX / 2] = "";
        size_t k = 0, l = 0;
        for (size_t i = 0; from && i < m->names.n_defaulted; i++)
                if (config_layout_param(from, m->names.defaulted[i])) {
                        if (l < sizeof names)
                                l += (size_t) snprintf(names + l, sizeof names - l, "%s%s", k ? ", " : "",
                                                       m->names.defaulted[i]);
                        k++;
                }
        if (k) {
                char what[FW_TEXT_MAX];
                (void) snprintf(what, sizeof what, "%s parameters not carried to layout %s (outside its range): %s",
                                which == CONFIG_MCCONF ? "motor" : "app", m->to, names);
                redo_add(s, what);
        }
        return true;
}

static void redo_defaults(FwSide *s, ConfigWhich which) {
        if (which == CONFIG_MCCONF)
                redo_add(s, "motor configuration is at defaults (its layout changed): run motor detection");
        else
                redo_add(s, "app configuration is at defaults (its layout changed): set up the app input and CAN "
                            "status broadcasts again");
}

/* Restoring, per step: 0 MCCONF (the backup, or GET_MCCONF and the backup
 * migrated into it), 1 APPCONF (the backup; or GET_APPCONF, the backup
 * migrated into it and/or the old CAN id patched in), 2 SET_APPCONF of that
 * blob, 3 done.  What could not be written back is listed for the user to
 * redo. */
static bool restore_step(FwUpdateJob *job, FwSide *s) {
        uint32_t sig;
        uint8_t id;

        if (s->busy)
                return false;
        switch (s->step) {
        case 0:
                sig = vesc_conf_signature(VESC_CONF_MC, s->id.major, s->id.minor);
                if (s->mcconf && sig != 0 && sig == vesc_conf_blob_signature(s->mcconf, s->mcconf_len)) {
                        side_request(job, s,
                                     vesc_conf_blob_encode(COMM_SET_MCCONF, s->mcconf, s->mcconf_len, s->req, sizeof s->req),
                                     COMM_SET_MCCONF, false, FW_CONF_TIMEOUT_USEC, FW_CONF_ATTEMPTS);
                        return false;
                }
                if (s->mcconf && migration_wanted(job, s, CONFIG_MCCONF, sig)) {
                        if (long_slot_free(job, s))
                                side_request(job, s, vesc_simple_encode(COMM_GET_MCCONF, s->req, sizeof s->req),
                                             COMM_GET_MCCONF, true, FW_CONF_TIMEOUT_USEC, FW_CONF_ATTEMPTS);
                        return false;
                }
                redo_defaults(s, CONFIG_MCCONF);
                s->step = 1;
                return restore_step(job, s);
        case 1:
                sig = vesc_conf_signature(VESC_CONF_APP, s->id.major, s->id.minor);
                if (s->appconf && sig != 0 && sig == vesc_conf_blob_signature(s->appconf, s->appconf_len)) {
                        ssize_t len = vesc_conf_blob_encode(COMM_SET_APPCONF, s->appconf, s->appconf_len, s->req,
                                                            sizeof s->req);
                        if (len > 1 && vesc_appconf_get_controller_id(s->appconf, s->appconf_len, &id) >= 0 &&
                            id != s->id.can_id) {
                                if (job->skip_can_id_restore || can_id_taken(job, s, id)) {
                                        /* Keep the id it has now (the request is patched, not the backup). */
                                        (void) vesc_appconf_set_controller_id(s->req + 1, (size_t) len - 1, s->id.can_id);
                                        if (!job->skip_can_id_restore)
                                                can_id_not_restored(s, id);
                                } else
                                        s->alt_can_id = id;
                        }
                        side_request(job, s, len, COMM_SET_APPCONF, false, FW_CONF_TIMEOUT_USEC, FW_CONF_ATTEMPTS);
                        return false;
                }
                s->migrating_app = s->appconf && migration_wanted(job, s, CONFIG_APPCONF, sig);
                if (!s->migrating_app)
                        redo_defaults(s, CONFIG_APPCONF);
                bool want_id = !job->skip_can_id_restore && s->appconf &&
                               vesc_appconf_get_controller_id(s->appconf, s->appconf_len, &id) >= 0 && id != s->id.can_id;
                if (want_id && can_id_taken(job, s, id)) {
                        can_id_not_restored(s, id);
                        want_id = false;
                }
                if (want_id || s->migrating_app) {
                        if (long_slot_free(job, s))
                                side_request(job, s, vesc_simple_encode(COMM_GET_APPCONF, s->req, sizeof s->req),
                                             COMM_GET_APPCONF, true, FW_CONF_TIMEOUT_USEC, FW_CONF_ATTEMPTS);
                        return false;
                }
                s->step = 3;
                return restore_step(job, s);
        case 2:
                return false; /* SET_APPCONF of the patched blob is sent from the GET_APPCONF reply */
        default:
                fw_progress_advance(&job->progress, W_RESTORE, 0, job->now);
                side_enter(job, s, FW_PHASE_DONE);
                return true;
        }
}

static void restore_reply(FwUpdateJob *job, FwSide *s, const uint8_t *p, size_t n) {
        uint8_t id;

        side_release(job, s);
        switch (p[0]) {
        case COMM_SET_MCCONF:
                log_side(job, s, LOG_INFO, "motor configuration %s", s->migration[CONFIG_MCCONF].done ? "migrated" : "restored");
                s->step = 1;
                break;
        case COMM_SET_APPCONF:
                if (s->alt_can_id >= 0) {
                        s->id.can_id = (uint8_t) s->alt_can_id;
                        s->alt_can_id = -1;
                }
                log_side(job, s, LOG_INFO, "%s",
                         s->step != 2                        ? "app configuration restored"
                         : s->migration[CONFIG_APPCONF].done ? "app configuration migrated"
                                                             : "CAN id restored");
                s->step = 3;
                break;
        case COMM_GET_MCCONF: {
                _cleanup_free_ uint8_t *blob = NULL;
                size_t len = 0;

                /* the new firmware's configuration: carry the backup into it */
                if (!store_blob(p, n, &blob, &len) || !migrate_part(job, s, CONFIG_MCCONF, blob, len)) {
                        redo_defaults(s, CONFIG_MCCONF);
                        s->step = 1;
                        break;
                }
                side_request(job, s, vesc_conf_blob_encode(COMM_SET_MCCONF, blob, len, s->req, sizeof s->req),
                             COMM_SET_MCCONF, false, FW_CONF_TIMEOUT_USEC, FW_CONF_ATTEMPTS);
                break;
        }
        case COMM_GET_APPCONF: {
                _cleanup_free_ uint8_t *blob = NULL;
                size_t len = 0;
                bool changed = false;

                if (!store_blob(p, n, &blob, &len)) {
                        redo_add(s, "CAN id could not be restored");
                        s->step = 3;
                        break;
                }
                if (s->migrating_app) {
                        if (migrate_part(job, s, CONFIG_APPCONF, blob, len))
                                changed = true;
                        else
                                redo_defaults(s, CONFIG_APPCONF);
                }
                /* the old CAN id, if wanted and free (restore_step checked) */
                if (!job->skip_can_id_restore && vesc_appconf_get_controller_id(s->appconf, s->appconf_len, &id) >= 0 &&
                    id != s->id.can_id && !can_id_taken(job, s, id)) {
                        if (vesc_appconf_set_controller_id(blob, len, id) < 0)
                                redo_add(s, "CAN id could not be restored");
                        else {
                                s->alt_can_id = id;
                                changed = true;
                        }
                }
                if (!changed) {
                        s->step = 3;
                        break;
                }
                s->step = 2;
                side_request(job, s, vesc_conf_blob_encode(COMM_SET_APPCONF, blob, len, s->req, sizeof s->req),
                             COMM_SET_APPCONF, false, FW_CONF_TIMEOUT_USEC, FW_CONF_ATTEMPTS);
                break;
        }
        default:
                break;
        }
        job->dirty = true;
}

/* A configuration request got no reply after every attempt.  What the user
 * must redo depends on what was lost: a backup in the running firmware's
 * layout can be restored again; otherwise that part stays at the new
 * firmware's defaults.  When the old CAN id was to be put back with it,
 * the controller keeps the id it came back at: can_id_not_restored. */
static void restore_timeout(FwUpdateJob *job, FwSide *s) {
        bool mc = s->expect_cmd == COMM_SET_MCCONF || s->expect_cmd == COMM_GET_MCCONF;
        const uint8_t *backup = mc ? s->mcconf : s->appconf;
        size_t backup_len = mc ? s->mcconf_len : s->appconf_len;
        uint32_t sig = vesc_conf_signature(mc ? VESC_CONF_MC : VESC_CONF_APP, s->id.major, s->id.minor);
        const char *cmd = cmd_name(s->expect_cmd);
        char what[FW_TEXT_MAX] = "";
        uint8_t id;

        if (backup && sig != 0 && sig == vesc_conf_blob_signature(backup, backup_len))
                (void) snprintf(what, sizeof what, "%s got no reply: restore it from the backup", cmd);
        else if (mc || s->migrating_app)
                (void) snprintf(what, sizeof what,
                                "%s got no reply: the %s configuration stays at the new firmware's defaults (the "
                                "backup is in another layout): %s", cmd, mc ? "motor" : "app",
                                mc ? "run motor detection" : "set up the app input and CAN status broadcasts again");
        if (what[0]) {
                redo_first(s, what);
                log_side(job, s, LOG_WARNING, "%s", what);
        }
        if (!mc && !job->skip_can_id_restore && !s->can_id_not_restored && s->appconf &&
            vesc_appconf_get_controller_id(s->appconf, s->appconf_len, &id) >= 0 && id != s->id.can_id) {
                (void) snprintf(what, sizeof what, "old CAN id %u not restored: %s got no reply (last seen at %u)", id,
                                cmd, s->id.can_id);
                s->can_id_not_restored = true;
                redo_first(s, what);
                log_side(job, s, LOG_WARNING, "%s", what);
        }
        s->alt_can_id = -1;
        s->step = mc ? 1 : 3;
        job->dirty = true;
}

/* The controller came back after a JUMP: exact build, hw name, UUID. */
static void confirm(FwUpdateJob *job, FwSide *s) {
        char got[96], want[96];

        describe_id(&s->id, got);
        describe_img(s->img, want);
        if (fw_identity_matches_image(&s->id, s->img)) {
                log_side(job, s, LOG_INFO, "confirmed: runs %s", got);
                fw_progress_advance(&job->progress, W_REBOOT, 0, job->now);
                fw_progress_wait_done(&job->progress, side_wait_usec(job, s), job->now);
                side_enter(job, s, FW_PHASE_RESTORING);
                return;
        }

        bool old = s->id.major == s->before.major && s->id.minor == s->before.minor &&
                   s->id.test_build == s->before.test_build && strcmp(s->id.fw_name, s->before.fw_name) == 0;
        /* Still the old build: the single-frame JUMP may have been lost (spec
         * §14.10 item 4); the staged image stays in flash and a second JUMP
         * installs it (§14.9).  Each staged image is committed at most
         * FW_COMMITS_PER_STAGING times before it is staged again. */
        if (old && s->commits < FW_COMMITS_PER_STAGING * (s->restages + 1)) {
                log_side(job, s, LOG_WARNING,
                         "came back on %s instead of %s (JUMP lost, or the bootloader refused the image): "
                         "committing the staged image again", got, want);
                fw_progress_add(&job->progress, W_REBOOT, 0);
                /* its wait is still counted: the first one never ended */
                side_enter(job, s, FW_PHASE_STAGED);
                return;
        }
        if (s->restages < FW_RESTAGE_MAX) {
                s->restages++;
                log_side(job, s, LOG_WARNING, "came back on %s instead of %s: staging it again", got, want);
                fw_progress_add(&job->progress, W_ERASE + s->img->stream_len + W_REBOOT, s->img->stream_len);
                fw_progress_plan_transfer(&job->progress, s->img->stream_len, side_transfer_usec(job, s, false));
                fw_progress_add_wait(&job->progress, side_erase_usec(job, s, false));
                /* its wait is still counted: the first one never ended */
                side_enter(job, s, FW_PHASE_ERASING);
                return;
        }
        if (old)
                side_fail(job, s, FW_ERROR_BOOTLOADER_REFUSED,
                          "bootloader refused the image: controller still runs %s after %u commits", got, s->commits);
        else
                side_fail(job, s, FW_ERROR_WRONG_VERSION_AFTER_UPDATE, "controller runs %s, expected %s", got, want);
}

static void side_enter(FwUpdateJob *job, FwSide *s, FwPhase p) {
        const char *old = fw_phase_to_string(s->phase);

        side_release(job, s);
        s->waiting = false;
        s->step = 0;
        s->phase = p;
        job->dirty = true;
        log_side(job, s, LOG_INFO, "%s → %s", old ?: "new", fw_phase_to_string(p));

        switch (p) {
        case FW_PHASE_CHECKING:
                s->seen = false;
                s->have_tel = false;
                s->still_since = 0;
                identify(job, s, s->id.can_id);
                if (!job->override_gates)
                        request_telemetry(job, s);
                if (!job->job_timer_armed) {
                        job->check_deadline =
                                job->now + MAX(scaled(job, FW_CHECK_TIMEOUT_USEC), FW_CHECK_TIMEOUT_MIN_USEC);
                        job_arm(job, job->now + scaled(job, FW_GATE_TICK_USEC));
                }
                break;
        case FW_PHASE_BOOTLOADER:
                s->bootloader_started = true;
                s->bootloader_done = false;
                side_request(job, s, vesc_erase_bootloader_encode(s->req, sizeof s->req), COMM_ERASE_BOOTLOADER, false,
                             FW_ERASE_TIMEOUT_USEC, FW_ERASE_ATTEMPTS);
                break;
        case FW_PHASE_ERASING:
                /* Header + stream bytes: what will be written (spec §14.11 step 4). */
                s->app_erased = true;
                s->erased_end = fw_erase_covered((uint32_t) s->img->stream_len);
                side_request(job, s, vesc_erase_new_app_encode((uint32_t) s->img->stream_len, s->req, sizeof s->req),
                             COMM_ERASE_NEW_APP, false, FW_ERASE_TIMEOUT_USEC, FW_ERASE_ATTEMPTS);
                break;
        case FW_PHASE_WRITING:
                transfer_start(s, s->img->stream, s->img->stream_len, 0);
                transfer_send(job, s);
                break;
        case FW_PHASE_STAGED:
                s->waiting = true;
                break;
        case FW_PHASE_COMMITTING:
                s->commits++;
                side_request(job, s, vesc_simple_encode(COMM_JUMP_TO_BOOTLOADER, s->req, sizeof s->req), -1, false, 0, 1);
                side_enter(job, s, FW_PHASE_REBOOTING);
                break;
        case FW_PHASE_REBOOTING: {
                FwEstimate e;

                s->deadline = job->now + scaled(job, FW_REBOOT_TIMEOUT_USEC);
                /* the bootloader's erase and copy (the estimate's faster
                 * programming rate, so a quick MCU is not waited for) */
                fw_estimate_side(s->img->stream_len, s->img->raw_size, 0, false, 0, &e);
                s->poll_fast_at = job->now + scaled(job, e.copy_usec);
                side_arm_at(job, s, job->now + scaled(job, FW_REBOOT_SETTLE_USEC));
                break;
        }
        case FW_PHASE_RESTORING:
                s->alt_can_id = -1;
                break;
        default:
                break;
        }
}

/* ------------------------------------------------------------- checking */

static void gate_defaults(FwGateConfig *g) {
        if (g->erpm_max <= 0)
                g->erpm_max = 50;
        if (g->current_max <= 0)
                g->current_max = 1.0;
        if (g->v_in_min <= 0)
                g->v_in_min = 10.0;
        if (g->v_in_max <= 0)
                g->v_in_max = 60.0;
        if (g->still_usec == 0)
                g->still_usec = FW_GATE_STILL_USEC;
}

static bool tel_still(const FwUpdateJob *job, const FwTelemetry *t) {
        return fabs(t->erpm) <= job->gates.erpm_max && fabs(t->current_motor) <= job->gates.current_max &&
               fabs(t->current_in) <= job->gates.current_max;
}

static bool gate_motor_ok(const FwUpdateJob *job, const FwSide *s) {
        return s->have_tel && s->still_since > 0 && job->now - s->still_since >= scaled(job, job->gates.still_usec) &&
               job->now - s->tel_at <= MAX(scaled(job, FW_GATE_FRESH_USEC), FW_GATE_FRESH_MIN_USEC);
}

static bool gate_voltage_ok(const FwUpdateJob *job, const FwSide *s) {
        return s->have_tel && s->tel.v_in >= job->gates.v_in_min && s->tel.v_in <= job->gates.v_in_max;
}

/* A controller with an active fault (over-temperature, under-voltage, DRV…)
 * is not updated: the fault stops the motor and may come back at any time,
 * and flashing does not cure its cause. */
static bool gate_fault_ok(const FwSide *s) {
        return s->have_tel && s->tel.fault == 0;
}

static void gates_describe(const FwUpdateJob *job, const FwSide *s, char *out, size_t n) {
        if (!s->have_tel) {
                (void) snprintf(out, n, "no telemetry");
                return;
        }
        (void) snprintf(out, n, "motor %s (ERPM %.0f, motor %.1f A, input %.1f A, limit %.0f ERPM/%.1f A for %.1f s), "
                        "input voltage %s (%.1f V, allowed %.1f-%.1f V), fault %s",
                        gate_motor_ok(job, s) ? "stopped" : "NOT stopped", s->tel.erpm, s->tel.current_motor,
                        s->tel.current_in, job->gates.erpm_max, job->gates.current_max,
                        (double) job->gates.still_usec / USEC_PER_SEC, gate_voltage_ok(job, s) ? "ok" : "OUT OF RANGE",
                        s->tel.v_in, job->gates.v_in_min, job->gates.v_in_max,
                        gate_fault_ok(s) ? "none" : vesc_fault_to_string(s->tel.fault));
}

static void job_fail_all(FwUpdateJob *job, FwError e, const char *text) {
        for (size_t i = 0; i < job->n; i++)
                side_stop_f(job, &job->sides[i], FW_PHASE_FAILED, e, "%s", text);
}

/* All sides in checking have been seen and pass the gates: go on. */
static bool checking_step(FwUpdateJob *job) {
        size_t c = 0;

        for (size_t i = 0; i < job->n; i++) {
                const FwSide *s = &job->sides[i];
                if (s->phase != FW_PHASE_CHECKING)
                        continue;
                c++;
                if (!s->seen ||
                    (!job->override_gates && (!gate_motor_ok(job, s) || !gate_voltage_ok(job, s) || !gate_fault_ok(s))))
                        return false;
        }
        if (c == 0)
                return false;
        job_disarm(job);
        for (size_t i = 0; i < job->n; i++) {
                FwSide *s = &job->sides[i];
                if (s->phase != FW_PHASE_CHECKING)
                        continue;
                if (job->override_gates)
                        log_side(job, s, LOG_WARNING, "gates overridden");
                fw_progress_advance(&job->progress, W_CHECK, 0, job->now);
                side_enter(job, s, FW_PHASE_BACKING_UP);
        }
        return true;
}

static void checking_tick(FwUpdateJob *job) {
        if (job->now >= job->check_deadline) {
                for (size_t i = 0; i < job->n; i++) {
                        FwSide *s = &job->sides[i];
                        char why[FW_TEXT_MAX];

                        if (s->phase != FW_PHASE_CHECKING)
                                continue;
                        /* Every side in checking fails with its own reason; nothing was
                         * sent to any of them yet. */
                        if (!s->seen) {
                                side_stop_f(job, s, FW_PHASE_FAILED, FW_ERROR_CONTROLLER_LOST,
                                            "controller did not answer (last seen on id %u)", s->id.can_id);
                                continue;
                        }
                        gates_describe(job, s, why, sizeof why);
                        side_stop_f(job, s, FW_PHASE_FAILED, FW_ERROR_GATE_FAILED, "gates not met: %s", why);
                }
                return;
        }
        for (size_t i = 0; i < job->n; i++) {
                const FwSide *s = &job->sides[i];
                if (s->phase != FW_PHASE_CHECKING)
                        continue;
                if (!s->seen)
                        identify(job, s, s->id.can_id);
                if (!job->override_gates)
                        request_telemetry(job, s);
        }
        job_arm(job, job->now + scaled(job, FW_GATE_TICK_USEC));
}

/* ---------------------------------------------------------- job control */

/* The bootloader's copy, the reboot and the confirmation of side s, as the
 * firmware's known timings give them (time-scaled). */
static uint64_t side_wait_usec(const FwUpdateJob *job, const FwSide *s) {
        FwEstimate e;

        fw_estimate_side(s->img->stream_len, s->img->raw_size, s->img->bootloader_len, false, 0, &e);
        return scaled(job, e.copy_usec + e.reboot_usec + e.confirm_usec);
}

/* The planned erase of side s's staging buffer (or of its bootloader), time-scaled. */
static uint64_t side_erase_usec(const FwUpdateJob *job, const FwSide *s, bool bootloader) {
        FwEstimate e;

        fw_estimate_side(s->img->stream_len, s->img->raw_size, s->img->bootloader_len, bootloader, 0, &e);
        return scaled(job, bootloader ? e.bootloader_erase_usec : e.erase_usec);
}

/* The planned transfer of side s's upload stream (the chunks that are not
 * skipped) or of its bootloader, time-scaled. */
static uint64_t side_transfer_usec(const FwUpdateJob *job, const FwSide *s, bool bootloader) {
        FwEstimate e;

        fw_estimate_side(fw_stream_written(s->img->stream, s->img->stream_len, UPDATE_CHUNK_MAX), s->img->raw_size,
                         s->img->bootloader_len, bootloader, 0, &e);
        return scaled(job, bootloader ? e.bootloader_usec - e.bootloader_erase_usec : e.transfer_usec);
}

static void job_add_staging_work(FwUpdateJob *job, const FwSide *s, bool with_backup) {
        uint64_t bytes = s->img->stream_len, units = W_CHECK + W_ERASE + W_REBOOT + W_RESTORE;

        if (with_backup)
                units += 2 * W_BACKUP;
        fw_progress_plan_transfer(&job->progress, s->img->stream_len, side_transfer_usec(job, s, false));
        fw_progress_add_wait(&job->progress, side_erase_usec(job, s, false));
        if (s->plan.bootloader && !s->bootloader_done) {
                units += W_BL_ERASE;
                bytes += s->img->bootloader_len;
                fw_progress_plan_transfer(&job->progress, s->img->bootloader_len, side_transfer_usec(job, s, true));
                fw_progress_add_wait(&job->progress, side_erase_usec(job, s, true));
        }
        fw_progress_add(&job->progress, units + bytes, bytes);
        fw_progress_add_wait(&job->progress, side_wait_usec(job, s));
}

/* What the side runs now, as far as we know. */
static void side_runs(const FwSide *s, char out[static 96]) {
        if (s->commits == 0)
                describe_id(&s->before, out);
        else if (s->phase == FW_PHASE_DONE || s->phase == FW_PHASE_RESTORING || phase_precommit(s->phase) ||
                 s->error == FW_ERROR_BOOTLOADER_REFUSED || s->error == FW_ERROR_WRONG_VERSION_AFTER_UPDATE)
                describe_id(&s->id, out);
        else
                (void) snprintf(out, 96, "unknown (did not come back)");
}

static void job_finish(FwUpdateJob *job) {
        size_t done = 0, cancelled = 0;
        FwAction *a;

        for (size_t i = 0; i < job->n; i++) {
                done += job->sides[i].phase == FW_PHASE_DONE;
                cancelled += job->sides[i].phase == FW_PHASE_CANCELLED;
        }
        job_disarm(job);
        if (done == job->n) {
                job->state = FW_JOB_DONE;
                fw_progress_finish(&job->progress);
        } else if (cancelled > 0 && job->error == FW_ERROR_CANCELLED)
                job->state = FW_JOB_CANCELLED;
        else {
                job->state = FW_JOB_FAILED;
                if (job->error == FW_ERROR_NONE) {
                        job->error = FW_ERROR_INTERNAL;
                        (void) snprintf(job->text, sizeof job->text, "job ended without a reason");
                }
        }
        job->dirty = true;

        a = push(job, job->state == FW_JOB_DONE ? FW_ACTION_DONE : FW_ACTION_FAILED, -1);
        if (!a)
                return;
        a->error = job->error;
        a->level = job->state == FW_JOB_DONE ? LOG_INFO : LOG_ERR;
        size_t l = (size_t) snprintf(a->text, sizeof a->text, "%s", job->state == FW_JOB_DONE ? "update done" : job->text);
        for (size_t i = 0; i < job->n && l < sizeof a->text; i++) {
                char v[96];
                side_runs(&job->sides[i], v);
                l += (size_t) snprintf(a->text + l, sizeof a->text - l, "; %s (id %u) runs %s", job->sides[i].uuid,
                                       job->sides[i].id.can_id, v);
        }
}

/* ------------------------------------------------------------------ waves
 *
 * After the commit a controller comes back with its configuration reset:
 * at the default CAN id of its UUID (spec §8.4) until restoring puts its
 * old id back.  Sides whose default ids would collide with each other, or
 * with an id another side of the job sits at, are committed in separate
 * waves: a wave is committed, rebooted, confirmed and given its id back
 * (every side of it ended) before the next one commits. */

/* The CAN id a side comes back at after its commit. */
static uint8_t side_default_id(const FwSide *s) {
        return vesc_default_id_from_uuid(s->before.uuid, s->img->major, s->img->minor);
}

/* A side of an earlier wave (or a re-staged side) is still committing,
 * rebooting, confirming or restoring. */
static bool wave_running(const FwUpdateJob *job) {
        for (size_t i = 0; i < job->n; i++) {
                FwPhase p = job->sides[i].phase;
                if (p >= FW_PHASE_COMMITTING && p <= FW_PHASE_RESTORING)
                        return true;
        }
        return false;
}

/* A committed side of an earlier wave failed: the staged sides are not
 * committed (they keep their old firmware; the report says why).
 * Returns true when it stopped them. */
static bool wave_stop_after_failure(FwUpdateJob *job) {
        const FwSide *failed = NULL;

        for (size_t i = 0; i < job->n && !failed; i++)
                if (job->sides[i].phase == FW_PHASE_FAILED && job->sides[i].commits > 0)
                        failed = &job->sides[i];
        if (!failed)
                return false;
        for (size_t i = 0; i < job->n; i++) {
                FwSide *o = &job->sides[i];
                char cur[96];

                if (o->phase != FW_PHASE_STAGED)
                        continue;
                describe_id(&o->before, cur);
                side_stop_f(job, o, FW_PHASE_FAILED, FW_ERROR_NOT_COMMITTED,
                            "not committed because controller %s failed in an earlier wave; still runs %s",
                            failed->uuid, cur);
        }
        return true;
}

/* The next wave among the staged sides: in side order, a side joins unless
 * its default id equals the default id of a side already in the wave or
 * the id any other side of the job is at now.  The first staged side joins
 * in any case (a collision nobody can avoid must not stall the job). */
static void wave_select(FwUpdateJob *job, bool wave[static FW_SIDES_MAX]) {
        size_t n_in = 0;

        for (size_t i = 0; i < job->n; i++) {
                const FwSide *s = &job->sides[i];
                uint8_t d;
                bool clash = false;

                if (s->phase != FW_PHASE_STAGED)
                        continue;
                d = side_default_id(s);
                for (size_t k = 0; k < job->n && !clash; k++) {
                        const FwSide *o = &job->sides[k];
                        if (k == i)
                                continue;
                        clash = o->id.can_id == d || (wave[k] && side_default_id(o) == d);
                }
                if (clash && n_in > 0) {
                        log_side(job, s, LOG_INFO, "committed in a later wave: its default id %u would collide", d);
                        continue;
                }
                wave[i] = true;
                n_in++;
        }
}

/* Move everything that can move without a new event. */
static void job_pump(FwUpdateJob *job) {
        bool again = true;

        while (again && job->state == FW_JOB_RUNNING && !job->oom) {
                size_t pre_erase = 0, ready = 0, pre_commit = 0, staged = 0, terminal = 0;

                again = checking_step(job);
                for (size_t i = 0; i < job->n; i++) {
                        FwSide *s = &job->sides[i];
                        if (s->phase == FW_PHASE_BACKING_UP)
                                again |= backup_step(job, s);
                        else if (s->phase == FW_PHASE_RESTORING)
                                again |= restore_step(job, s);
                }

                for (size_t i = 0; i < job->n; i++) {
                        const FwSide *s = &job->sides[i];
                        if (s->phase >= 0 && s->phase <= FW_PHASE_BOOTLOADER) {
                                pre_erase++;
                                ready += s->waiting;
                        }
                        if (phase_precommit(s->phase)) {
                                pre_commit++;
                                staged += s->phase == FW_PHASE_STAGED;
                        }
                        terminal += phase_terminal(s->phase);
                }

                if (pre_erase > 0 && ready == pre_erase) {
                        /* Erase barrier: both erase requests outstanding at once. */
                        for (size_t i = 0; i < job->n; i++)
                                if (job->sides[i].phase >= 0 && job->sides[i].phase <= FW_PHASE_BOOTLOADER)
                                        side_enter(job, &job->sides[i], FW_PHASE_ERASING);
                        again = true;
                } else if (pre_commit > 0 && staged == pre_commit && !wave_running(job)) {
                        /* Commit barrier: every un-committed side is staged and its
                         * bootloader takes the stream (plain, or installed by us),
                         * and no earlier wave is still on its way back. */
                        bool wave[FW_SIDES_MAX] = {};
                        for (size_t i = 0; i < job->n; i++) {
                                FwSide *s = &job->sides[i];
                                if (s->phase == FW_PHASE_STAGED && s->plan.bootloader && !s->bootloader_done) {
                                        side_fail(job, s, FW_ERROR_INTERNAL, "staged without the bootloader this job must install");
                                        break;
                                }
                        }
                        if (!wave_stop_after_failure(job)) {
                                wave_select(job, wave);
                                for (size_t i = 0; i < job->n; i++)
                                        if (wave[i] && job->sides[i].phase == FW_PHASE_STAGED)
                                                side_enter(job, &job->sides[i], FW_PHASE_COMMITTING);
                        }
                        again = true;
                } else if (terminal == job->n) {
                        job_finish(job);
                        again = false;
                }
        }
}

/* ---------------------------------------------------------------- events */

static FwSide *side_by_can_id(FwUpdateJob *job, uint8_t id) {
        for (size_t i = 0; i < job->n; i++)
                if (job->sides[i].id.can_id == id || job->sides[i].alt_can_id == (int) id)
                        return &job->sides[i];
        return NULL;
}

static FwSide *side_by_uuid(FwUpdateJob *job, const uint8_t *uuid) {
        for (size_t i = 0; i < job->n; i++)
                if (memcmp(job->sides[i].id.uuid, uuid, VESC_UUID_LEN) == 0)
                        return &job->sides[i];
        return NULL;
}

static void on_reply(FwUpdateJob *job, const FwEvent *ev) {
        FwSide *s;

        if (!ev->data || ev->len == 0)
                return;
        s = side_by_can_id(job, ev->can_id);
        /* A reply nobody waits for (late, duplicate, someone else's) is dropped. */
        if (!s || !s->busy || ev->data[0] != s->expect_cmd)
                return;
        /* Karn: only a request sent once gives an unambiguous round trip. */
        if (is_conf_cmd(s->expect_cmd) && s->attempts == 1 && job->now >= s->req_sent_at) {
                uint64_t rtt = job->now - s->req_sent_at, pause = conf_pause(job, s->expect_cmd);

                update_rtt_sample(&s->conf_rtt, rtt > pause ? rtt - pause : 0);
        }
        switch (s->phase) {
        case FW_PHASE_BACKING_UP:
                backup_reply(job, s, ev->data, ev->len);
                break;
        case FW_PHASE_BOOTLOADER:
                if (ev->data[0] == COMM_ERASE_BOOTLOADER)
                        erase_reply(job, s, ev->data, ev->len);
                else
                        write_reply(job, s, ev->data, ev->len);
                break;
        case FW_PHASE_ERASING:
                erase_reply(job, s, ev->data, ev->len);
                break;
        case FW_PHASE_WRITING:
                write_reply(job, s, ev->data, ev->len);
                break;
        case FW_PHASE_RESTORING:
                restore_reply(job, s, ev->data, ev->len);
                break;
        default:
                break;
        }
}

static void on_side_timer(FwUpdateJob *job, FwSide *s) {
        if (s->phase == FW_PHASE_REBOOTING) {
                if (job->now >= s->deadline) {
                        side_fail(job, s, FW_ERROR_BRICKED,
                                  "no answer for %.0f s after JUMP_TO_BOOTLOADER: the bootloader may have failed while "
                                  "copying the image (then only an SWD programmer can recover it) or the controller "
                                  "lost power", (double) scaled(job, FW_REBOOT_TIMEOUT_USEC) / USEC_PER_SEC);
                        return;
                }
                identify(job, s, s->id.can_id);
                /* While the bootloader erases and copies, nothing can answer:
                 * ask every FW_REBOOT_POLL_USEC.  Once the copy may be over,
                 * ask often, so that the controller is confirmed as soon as it
                 * runs instead of up to a whole poll period later.  Asking
                 * cannot disturb the install: the bootloader never reads CAN,
                 * and the first (CRC-stamping) start resets before CAN is up;
                 * the answer is a plain FW_VERSION of the new application.
                 * The wait itself (FW_REBOOT_TIMEOUT_USEC) is not shortened. */
                uint64_t next = job->now + scaled(job, job->now >= s->poll_fast_at ? FW_REBOOT_POLL_FAST_USEC
                                                                                 : FW_REBOOT_POLL_USEC);
                if (job->now < s->poll_fast_at)
                        next = MIN(next, MAX(s->poll_fast_at, job->now + scaled(job, FW_REBOOT_POLL_FAST_USEC)));
                side_arm_at(job, s, MIN(next, s->deadline));
                return;
        }
        if (!s->busy)
                return;
        if (s->expect_cmd == COMM_WRITE_NEW_APP_DATA) {
                transfer_retry(job, s, true);
                return;
        }
        side_release(job, s);
        if (is_conf_cmd(s->expect_cmd))
                job->conf_timeouts++;
        /* configuration requests: the attempts for the loss rate, within a
         * time budget so that a controller that is gone fails in bounded time */
        bool budget_left = !is_conf_cmd(s->expect_cmd) || s->attempts < FW_CONF_ATTEMPTS ||
                           job->now - s->req_first_at < scaled(job, FW_CONF_BUDGET_USEC);
        if (s->attempts < s->req_max && budget_left) {
                log_side(job, s, LOG_WARNING, "no reply to %s, resending", cmd_name(s->expect_cmd));
                side_transmit(job, s);
                return;
        }
        if (s->phase == FW_PHASE_RESTORING)
                restore_timeout(job, s);
        else
                side_fail(job, s, FW_ERROR_TIMEOUT, "no reply to %s after %u attempts", cmd_name(s->expect_cmd), s->attempts);
}

static void on_timeout(FwUpdateJob *job, unsigned timer) {
        if (timer == FW_TIMER_JOB) {
                if (!job->job_timer_armed || job->now < job->job_timer_at)
                        return;
                job->job_timer_armed = false;
                checking_tick(job);
                return;
        }
        if (timer < FW_TIMER_SIDE(0) || timer >= FW_TIMER_SIDE(job->n))
                return;
        FwSide *s = &job->sides[timer - FW_TIMER_SIDE(0)];
        /* A stale timer (re-armed or cancelled since) is ignored. */
        if (!s->timer_armed || job->now < s->timer_at)
                return;
        s->timer_armed = false;
        on_side_timer(job, s);
}

static void on_seen(FwUpdateJob *job, const FwIdentity *id) {
        FwSide *s;

        if (!id)
                return;
        s = side_by_uuid(job, id->uuid);
        if (!s)
                return;
        switch (s->phase) {
        case FW_PHASE_CHECKING:
                s->id = *id;
                if (s->commits == 0 && s->restages == 0 && !s->app_erased && !s->bootloader_started)
                        s->before = *id;
                (void) fw_plan_side(&s->id, s->img, &s->plan);
                if (s->plan.error != FW_ERROR_NONE) {
                        side_fail(job, s, s->plan.error, "%s", s->plan.text);
                        return;
                }
                if (!s->seen)
                        log_side(job, s, LOG_INFO, "plan: %s", s->plan.text);
                s->seen = true;
                job->dirty = true;
                break;
        case FW_PHASE_REBOOTING:
                s->id = *id;
                side_enter(job, s, FW_PHASE_CONFIRMING);
                confirm(job, s);
                break;
        default:
                /* Busy sides keep the id they talk to; an idle one may follow a move. */
                if (!s->busy)
                        s->id.can_id = id->can_id;
                break;
        }
}

static void on_boot(FwUpdateJob *job, const FwEvent *ev) {
        for (size_t i = 0; i < job->n; i++) {
                FwSide *s = &job->sides[i];
                /* NOTIFY_BOOT carries the hw name truncated to 8 bytes, no UUID. */
                if (s->phase == FW_PHASE_REBOOTING &&
                    (!ev->hw_name || strncmp(ev->hw_name, s->img->hw_name, 8) == 0))
                        identify(job, s, ev->can_id);
        }
}

static void on_telemetry(FwUpdateJob *job, const FwEvent *ev) {
        FwSide *s = side_by_can_id(job, ev->can_id);

        if (!s || s->phase != FW_PHASE_CHECKING)
                return;
        s->tel = ev->telemetry;
        s->have_tel = true;
        s->tel_at = job->now;
        if (!tel_still(job, &s->tel))
                s->still_since = 0;
        else if (s->still_since == 0)
                s->still_since = job->now;
}

/**
 * fw_update_job_can_cancel() - may the job be cancelled now?
 * @job: the job
 *
 * Return: false while running with a side in committing, rebooting or
 * confirming (the "do not power off" window), or when the job has ended.
 */
bool fw_update_job_can_cancel(const FwUpdateJob *job) {
        if (job->state != FW_JOB_RUNNING)
                return false;
        for (size_t i = 0; i < job->n; i++)
                if (phase_in_flight(job->sides[i].phase))
                        return false;
        return true;
}

static int on_cancel(FwUpdateJob *job) {
        if (!fw_update_job_can_cancel(job)) {
                log_side(job, NULL, LOG_WARNING, "cancel refused: %s", job->state == FW_JOB_RUNNING ?
                         "a controller is installing its new firmware, do not power off" : "the job has ended");
                return -EBUSY;
        }
        for (size_t i = 0; i < job->n; i++) {
                FwSide *s = &job->sides[i];
                char cur[96];

                describe_id(s->commits > 0 ? &s->id : &s->before, cur);
                side_stop_f(job, s, FW_PHASE_CANCELLED, FW_ERROR_CANCELLED, "cancelled; runs %s", cur);
        }
        job->error = FW_ERROR_CANCELLED;
        (void) snprintf(job->text, sizeof job->text, "cancelled by request");
        return 0;
}

static int on_start(FwUpdateJob *job) {
        if (job->started)
                return -EALREADY;
        job->started = true;
        fw_progress_start(&job->progress, job->now);
        for (size_t i = 0; i < job->n; i++) {
                FwSide *s = &job->sides[i];
                (void) fw_plan_side(&s->id, s->img, &s->plan);
                job_add_staging_work(job, s, true);
        }
        log_side(job, NULL, LOG_INFO, "firmware update of %zu controller%s started", job->n, job->n > 1 ? "s" : "");
        for (size_t i = 0; i < job->n; i++)
                side_enter(job, &job->sides[i], FW_PHASE_CHECKING);
        if (!job->override_gates && (job->busy_reason[0] || job->inhibit_reason[0])) {
                char why[FW_TEXT_MAX];
                (void) snprintf(why, sizeof why, "%s%.100s", job->busy_reason[0] ? "another update or configuration "
                                "write is running: " : "updates are inhibited: ",
                                job->busy_reason[0] ? job->busy_reason : job->inhibit_reason);
                job_fail_all(job, FW_ERROR_GATE_FAILED, why);
        }
        return 0;
}

/* ------------------------------------------------------------ snapshots */

static void side_snapshot(const FwUpdateJob *job, const FwSide *s, FwSideSnapshot *o) {
        *o = (FwSideSnapshot) {
                .phase = s->phase,
                .before = s->before,
                .running = s->id,
                .stream_len = s->img->stream_len,
                .stream_crc = s->stream_crc,
                .bootloader_started = s->bootloader_started,
                .bootloader_done = s->bootloader_done,
                .app_erased = s->app_erased,
                .commits = s->commits,
                .restages = s->restages,
                .mcconf = s->mcconf,
                .mcconf_len = s->mcconf_len,
                .appconf = s->appconf,
                .appconf_len = s->appconf_len,
                .error = s->error,
                .have_telemetry = s->have_tel,
                .motor_stopped = gate_motor_ok(job, s),
                .voltage_ok = gate_voltage_ok(job, s),
                .fault_ok = gate_fault_ok(s),
                .tel = s->tel,
                .v_in_min = job->gates.v_in_min,
                .v_in_max = job->gates.v_in_max,
        };
        memcpy(o->uuid, s->id.uuid, VESC_UUID_LEN);
        describe_img(s->img, o->target);
        (void) snprintf(o->text, sizeof o->text, "%s", s->text);
        (void) snprintf(o->redo, sizeof o->redo, "%s", s->redo);
        o->can_id_not_restored = s->can_id_not_restored;
}

/**
 * fw_update_job_snapshot() - everything needed to report or resume the job
 * @job: the job
 * @ret: filled in; its configuration blobs are borrowed from the job and
 *       valid until the next fw_update_handle()
 *
 * Job state, error, progress counters, and per side its phase, identities
 * (before, running), target, stream length and CRC (to recognise the image
 * set), bootloader/erase/commit history, configuration backups and gate
 * values.  The driver stores it at every PERSIST action (update-store.c).
 */
void fw_update_job_snapshot(const FwUpdateJob *job, FwSnapshot *ret) {
        *ret = (FwSnapshot) {
                .state = job->state,
                .phase = fw_update_job_phase(job),
                .error = job->error,
                .resumes = job->resumes,
                .units_total = job->progress.units_total,
                .units_done = job->progress.units_done,
                .bytes_total = job->progress.bytes_total,
                .bytes_done = job->progress.bytes_done,
                .percent = job->progress.percent,
                .n = job->n,
        };
        (void) snprintf(ret->text, sizeof ret->text, "%s", job->text);
        for (size_t i = 0; i < job->n; i++)
                side_snapshot(job, &job->sides[i], &ret->sides[i]);
}

static void side_report(const FwSide *s, FwSideReport *o) {
        *o = (FwSideReport) {
                .can_id = s->id.can_id,
                .phase = s->phase,
                .updated = s->phase == FW_PHASE_DONE,
                .restages = s->restages,
                .error = s->error,
        };
        memcpy(o->uuid, s->uuid, sizeof o->uuid);
        describe_id(&s->before, o->before);
        side_runs(s, o->runs);
        describe_img(s->img, o->target);
        (void) snprintf(o->text, sizeof o->text, "%s", s->text);
        (void) snprintf(o->redo, sizeof o->redo, "%s", s->redo);
        o->can_id_not_restored = s->can_id_not_restored;
        for (unsigned w = 0; w < 2; w++)
                o->migration[w] = s->migration[w].done ? &s->migration[w] : NULL;
        if (s->app_erased && s->before.major >= 6)
                o->erased[o->n_erased++] = "Lisp scripts, QML UI and package data in flash sectors 8-10";
        if (s->bootloader_started && (s->before.major > 6 || (s->before.major == 6 && s->before.minor >= 6)))
                o->erased[o->n_erased++] = "package NVM in flash sector 11";
        if (s->bootloader_started && !s->bootloader_done)
                o->erased[o->n_erased++] = "the bootloader: its rewrite did not finish, so firmware updates are "
                                           "impossible until vescd writes it again (it does so first, and sends this "
                                           "controller no JUMP until it has)";
}

/**
 * fw_update_job_report() - the precise per-side report
 * @job: the job
 * @ret: filled in
 *
 * Per side: phase, firmware before and now ("unknown" if it did not come
 * back), target, error and text, what staging erased, and what the user
 * must redo after the update.
 */
void fw_update_job_report(const FwUpdateJob *job, FwReport *ret) {
        *ret = (FwReport) { .state = job->state, .error = job->error, .n = job->n };
        (void) snprintf(ret->text, sizeof ret->text, "%s", job->text);
        for (size_t i = 0; i < job->n; i++)
                side_report(&job->sides[i], &ret->sides[i]);
}

static int copy_blob(const uint8_t *p, size_t n, uint8_t **ret, size_t *ret_len) {
        uint8_t *c = NULL;

        if (p) {
                if (n == 0 || n > 512)
                        return -EINVAL;
                c = malloc(n);
                if (!c)
                        return -ENOMEM;
                memcpy(c, p, n);
        }
        free(*ret);
        *ret = c;
        *ret_len = c ? n : 0;
        return 0;
}

static int side_resume(FwSide *s, const FwSideSnapshot *o, FwPhase *ret_phase) {
        int r;

        /* The snapshot must be this job's: same controller, same image. */
        if (o->phase < 0 || o->phase >= _FW_PHASE_MAX || o->error < 0 || o->error >= _FW_ERROR_MAX)
                return -EINVAL;
        if (memcmp(o->uuid, s->id.uuid, VESC_UUID_LEN) != 0 || o->stream_len != s->img->stream_len ||
            o->stream_crc != s->stream_crc)
                return -ESTALE;
        s->before = o->before;
        s->id = o->running;
        memcpy(s->before.uuid, o->uuid, VESC_UUID_LEN);
        memcpy(s->id.uuid, o->uuid, VESC_UUID_LEN);
        r = copy_blob(o->mcconf, o->mcconf_len, &s->mcconf, &s->mcconf_len);
        if (r < 0)
                return r;
        r = copy_blob(o->appconf, o->appconf_len, &s->appconf, &s->appconf_len);
        if (r < 0)
                return r;
        s->bootloader_started = o->bootloader_started;
        s->bootloader_done = o->bootloader_done;
        s->app_erased = o->app_erased;
        s->commits = o->commits;
        s->restages = o->restages;
        s->error = o->error;
        (void) snprintf(s->text, sizeof s->text, "%s", o->text);
        (void) snprintf(s->redo, sizeof s->redo, "%s", o->redo);
        s->can_id_not_restored = o->can_id_not_restored;
        (void) fw_plan_side(&s->before, s->img, &s->plan);
        *ret_phase = o->phase;
        return 0;
}

static int on_resume(FwUpdateJob *job, const FwEvent *ev) {
        const FwSnapshot *snap = ev->snapshot;
        FwPhase saved[FW_SIDES_MAX];
        FwJobState st;
        int r;

        if (job->started)
                return -EALREADY;
        if (!snap || snap->n != job->n || snap->state < 0 || snap->state >= _FW_JOB_STATE_MAX ||
            snap->error < 0 || snap->error >= _FW_ERROR_MAX)
                return -EINVAL;
        st = snap->state;
        for (size_t i = 0; i < job->n; i++) {
                r = side_resume(&job->sides[i], &snap->sides[i], &saved[i]);
                if (r < 0)
                        return r;
        }

        job->started = true;
        job->resumes = snap->resumes + 1;
        job->error = snap->error;
        (void) snprintf(job->text, sizeof job->text, "%s", snap->text);
        job->progress = (FwProgress) { .units_total = snap->units_total, .units_done = snap->units_done,
                                       .bytes_total = snap->bytes_total, .bytes_done = snap->bytes_done,
                                       .percent = MIN(snap->percent, 100u) };
        fw_progress_start(&job->progress, job->now);
        log_side(job, NULL, LOG_INFO, "resuming a %s job after a daemon restart", fw_job_state_to_string(st));

        for (size_t i = 0; i < job->n; i++) {
                FwSide *s = &job->sides[i];
                char cur[96];

                /* Restoring a persisted phase, not a transition: the transitions
                 * below log "persisted phase → new phase". */
                s->phase = saved[i];
                if (phase_terminal(s->phase))
                        continue;
                if (phase_precommit(s->phase)) {
                        /* Nothing committed: the controller still runs its old firmware. */
                        describe_id(&s->before, cur);
                        if (ev->abandon) {
                                side_stop_f(job, s, FW_PHASE_CANCELLED, FW_ERROR_CANCELLED,
                                            "abandoned after a daemon restart before the commit; still runs %s", cur);
                                if (job->error == FW_ERROR_NONE || job->error == FW_ERROR_CANCELLED) {
                                        job->error = FW_ERROR_CANCELLED;
                                        (void) snprintf(job->text, sizeof job->text,
                                                        "abandoned after a daemon restart; nothing was committed");
                                }
                                continue;
                        }
                        job_add_staging_work(job, s, false);
                        side_enter(job, s, FW_PHASE_CHECKING);
                } else if (phase_in_flight(s->phase))
                        side_enter(job, s, FW_PHASE_REBOOTING);
                else
                        side_enter(job, s, FW_PHASE_RESTORING);
        }

        if (st != FW_JOB_RUNNING) {
                size_t terminal = 0;
                for (size_t i = 0; i < job->n; i++)
                        terminal += phase_terminal(job->sides[i].phase);
                if (terminal != job->n)
                        return -EINVAL;
        }
        return 0;
}

/* ------------------------------------------------------------ lifecycle */

/**
 * fw_update_job_new() - create an update job over one or two controllers
 * @params: controllers, their image-set entries (borrowed, must outlive the
 *          job), gates and options; strings are copied
 * @ret: the new job, owned by the caller (fw_update_job_free())
 *
 * Nothing happens until the first event: FW_EVENT_START for a new job, or
 * FW_EVENT_RESUME with a persisted snapshot after a daemon restart.
 *
 * Return: 0, -EINVAL on bad parameters, -ENOMEM.
 */
int fw_update_job_new(const FwUpdateParams *params, FwUpdateJob **ret) {
        FwUpdateJob *job;

        if (!params || !ret || params->n_sides == 0 || params->n_sides > FW_SIDES_MAX)
                return -EINVAL;
        for (size_t i = 0; i < params->n_sides; i++) {
                if (!params->images[i] || !params->images[i]->stream)
                        return -EINVAL;
                for (size_t k = 0; k < i; k++)
                        if (memcmp(params->controllers[i].uuid, params->controllers[k].uuid, VESC_UUID_LEN) == 0)
                                return -EINVAL;
        }

        job = calloc(1, sizeof *job);
        if (!job)
                return -ENOMEM;
        job->n = params->n_sides;
        job->gates = params->gates;
        gate_defaults(&job->gates);
        job->override_gates = params->override_gates;
        job->skip_can_id_restore = params->skip_can_id_restore;
        memcpy(job->foreign_ids, params->foreign_ids, sizeof job->foreign_ids);
        job->skip_config_migration = params->skip_config_migration;
        job->scale = params->time_scale > 0 ? params->time_scale : 1.0;
        job->long_owner = -1;
        (void) snprintf(job->busy_reason, sizeof job->busy_reason, "%s", params->busy_reason ?: "");
        (void) snprintf(job->inhibit_reason, sizeof job->inhibit_reason, "%s", params->inhibit_reason ?: "");
        for (size_t i = 0; i < job->n; i++) {
                FwSide *s = &job->sides[i];
                s->index = (unsigned) i;
                s->id = s->before = params->controllers[i];
                s->img = params->images[i];
                s->phase = _FW_PHASE_INVALID;
                s->alt_can_id = -1;
                s->stream_crc = crc16(s->img->stream, s->img->stream_len);
                fw_uuid_format(s->id.uuid, s->uuid);
        }
        *ret = job;
        return 0;
}

/**
 * fw_update_job_free() - free a job
 * @job: the job, may be NULL
 *
 * Return: NULL.
 */
FwUpdateJob *fw_update_job_free(FwUpdateJob *job) {
        if (!job)
                return NULL;
        for (size_t i = 0; i < job->n; i++) {
                free(job->sides[i].mcconf);
                free(job->sides[i].appconf);
                fw_migration_done(&job->sides[i].migration[CONFIG_MCCONF]);
                fw_migration_done(&job->sides[i].migration[CONFIG_APPCONF]);
        }
        free(job);
        return NULL;
}

static void emit_progress(FwUpdateJob *job) {
        FwProgressInfo p = fw_update_job_progress(job, job->now);
        FwAction *a;

        /* also when the ETA's whole seconds change: it counts down through
         * an erase or a reboot, where the percentage stands still */
        if (job->reported_valid && p.percent == job->reported.percent && p.phase == job->reported.phase &&
            p.do_not_power_off == job->reported.do_not_power_off && p.bytes_total == job->reported.bytes_total &&
            p.eta_usec / USEC_PER_SEC == job->reported.eta_usec / USEC_PER_SEC)
                return;
        a = push(job, FW_ACTION_PROGRESS, -1);
        if (!a)
                return;
        a->progress = p;
        job->progress.percent = p.percent; /* keep it monotonic */
        job->reported = p;
        job->reported_valid = true;
}

/**
 * fw_update_handle() - feed one event to the job
 * @job: the job
 * @event: what happened
 * @now_usec: the current monotonic time (the clock of every ARM_TIMER)
 * @actions: appended to; the caller executes them in order and clears them
 *
 * Ends with a PROGRESS action when the percentage, phase or "do not power
 * off" flag changed, and a PERSIST action (the snapshot) when any side
 * changed phase or the job learnt something that must survive a restart.
 *
 * Return: 0; -EBUSY for a CANCEL refused in the do-not-power-off window;
 * -EALREADY for a second START/RESUME; -EINVAL for a bad event or a
 * snapshot that is not this job's (-ESTALE: other controllers or image);
 * -ENOMEM (actions may be missing; fail the job).
 */
int fw_update_handle(FwUpdateJob *job, const FwEvent *event, uint64_t now_usec, FwActions *actions) {
        int r = 0;

        if (!job || !event || !actions)
                return -EINVAL;
        job->out = actions;
        job->now = now_usec;
        job->dirty = job->oom = false;

        if (!job->started && event->type != FW_EVENT_START && event->type != FW_EVENT_RESUME)
                r = -EINVAL;
        else
                switch (event->type) {
                case FW_EVENT_START:
                        r = on_start(job);
                        break;
                case FW_EVENT_RESUME:
                        r = on_resume(job, event);
                        break;
                case FW_EVENT_REPLY:
                        on_reply(job, event);
                        break;
                case FW_EVENT_TIMEOUT:
                        on_timeout(job, event->timer);
                        break;
                case FW_EVENT_CONTROLLER_SEEN:
                        on_seen(job, event->identity);
                        break;
                case FW_EVENT_BOOT:
                        on_boot(job, event);
                        break;
                case FW_EVENT_TELEMETRY:
                        on_telemetry(job, event);
                        break;
                case FW_EVENT_CANCEL:
                        r = on_cancel(job);
                        break;
                default:
                        r = -EINVAL;
                }

        if (r >= 0 || r == -EBUSY) {
                if (job->started)
                        job_pump(job);
                emit_progress(job);
                if (job->dirty)
                        (void) push(job, FW_ACTION_PERSIST, -1);
        }
        job->out = NULL;
        return job->oom ? -ENOMEM : r;
}

/* ------------------------------------------------------------- getters */

/**
 * fw_update_job_state() - running, done, failed or cancelled
 * @job: the job
 *
 * Return: the state.
 */
FwJobState fw_update_job_state(const FwUpdateJob *job) {
        return job->state;
}

/**
 * fw_update_job_phase() - the job's Phase: its least advanced side's phase
 * @job: the job
 *
 * Return: the phase; done/failed/cancelled once the job has ended.
 */
FwPhase fw_update_job_phase(const FwUpdateJob *job) {
        FwPhase p = _FW_PHASE_MAX;

        switch (job->state) {
        case FW_JOB_DONE:
                return FW_PHASE_DONE;
        case FW_JOB_FAILED:
                return FW_PHASE_FAILED;
        case FW_JOB_CANCELLED:
                return FW_PHASE_CANCELLED;
        default:
                break;
        }
        for (size_t i = 0; i < job->n; i++)
                if (job->sides[i].phase >= 0 && !phase_terminal(job->sides[i].phase))
                        p = MIN(p, job->sides[i].phase);
        return p == _FW_PHASE_MAX ? FW_PHASE_CHECKING : p;
}

/**
 * fw_update_job_n_sides() - number of controllers in the job
 * @job: the job
 *
 * Return: 1 or 2.
 */
size_t fw_update_job_n_sides(const FwUpdateJob *job) {
        return job->n;
}

/**
 * fw_update_job_side_phase() - one controller's phase (Phases map)
 * @job: the job
 * @i: side index (params order)
 *
 * Return: the phase (checking before START), _FW_PHASE_INVALID for a bad index.
 */
FwPhase fw_update_job_side_phase(const FwUpdateJob *job, size_t i) {
        if (i >= job->n)
                return _FW_PHASE_INVALID;
        return job->sides[i].phase < 0 ? FW_PHASE_CHECKING : job->sides[i].phase;
}

/**
 * fw_update_job_side_identity() - a controller's identity as last seen
 * @job: the job
 * @i: side index
 *
 * Return: borrowed pointer valid until the next fw_update_handle(), NULL for a bad index.
 */
const FwIdentity *fw_update_job_side_identity(const FwUpdateJob *job, size_t i) {
        return i < job->n ? &job->sides[i].id : NULL;
}

/**
 * fw_update_job_progress() - the progress signal
 * @job: the job
 * @now_usec: the current time, for the ETA
 *
 * Return: percent (monotonic), phase, bytes, ETA and the do-not-power-off
 * flag (a side is in the bootloader step or between JUMP and confirmation).
 */
FwProgressInfo fw_update_job_progress(const FwUpdateJob *job, uint64_t now_usec) {
        FwProgress p = job->progress;
        FwProgressInfo info = {
                .percent = fw_progress_percent(&p),
                .phase = fw_update_job_phase(job),
                .bytes_done = p.bytes_done,
                .bytes_total = p.bytes_total,
                .eta_usec = fw_progress_eta_usec(&p, now_usec),
        };

        for (size_t i = 0; job->state == FW_JOB_RUNNING && i < job->n; i++)
                if (job->sides[i].phase == FW_PHASE_BOOTLOADER || phase_in_flight(job->sides[i].phase))
                        info.do_not_power_off = true;
        return info;
}

/**
 * fw_update_job_error() - the job's error
 * @job: the job
 * @ret_text: if not NULL, set to the text (borrowed)
 *
 * Return: FW_ERROR_NONE unless failed or cancelled.
 */
FwError fw_update_job_error(const FwUpdateJob *job, const char **ret_text) {
        if (ret_text)
                *ret_text = job->text;
        return job->error;
}

/**
 * fw_update_job_set_foreign_ids() - the CAN ids other devices use now
 * @job: the job
 * @bits: bit per id (id / 8, 1 << id % 8)
 *
 * The driver refreshes them as the controller model changes; restoring an
 * old CAN id checks them (an id in use is never written).
 */
void fw_update_job_set_foreign_ids(FwUpdateJob *job, const uint8_t bits[static 32]) {
        memcpy(job->foreign_ids, bits, sizeof job->foreign_ids);
}
