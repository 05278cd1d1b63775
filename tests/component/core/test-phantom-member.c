/* test-phantom-member: a phantom UUID never becomes a board member
 * (membership_check(), daemon/core/daemon.c), on the replayed dual-358
 * board (A at id 10 and B at 74, both 3.58, polled at 5 Hz;
 * discovery-358.log), then live on a clock that follows real time, with
 * member-after-s 30 (3 s at the replay's time scale 0.1).
 *
 * The phantom: a peer at an unused id answers COMM_FW_VERSION with a UUID
 * (firmware 6.05) and nothing else; its frames keep the record online at
 * every housekeeping tick for longer than member-after-s:
 *   - boots: a NOTIFY_BOOT from its id every 0.3 s (under the offline
 *     timeout), the re-identifications they ask for unanswered;
 *   - stalls: vescd's own stalls (the clock jumps 1.5 s ahead, past the
 *     offline timeout, with nothing run, as on a loaded machine or under
 *     a sanitizer), a NOTIFY_BOOT
 *     waiting in the socket after each: read at the late tick, stamped
 *     then, it makes the phantom look heard just now.
 * The CI failure this reproduces: such a record stayed "identified and
 * online" at every tick for member-after-s, became a member and was
 * compared ("firmware 6.05 ≠ 3.58").  It never answers a poll, so it is
 * never confirmed and never a member; A and B, whose polls are answered,
 * become members meanwhile (the rule still admits real controllers).
 * Nothing here asserts a duration: waits are bounded, outcomes are states. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/board.h"
#include "core/controller.h"
#include "core/daemon.h"
#include "macro.h"
#include "proto/vesc-buffer.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"
#include "replay.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"
#define ID_A 10
#define ID_B 74
/* member-after-s 30 at time scale 0.1 */
#define MEMBER_AFTER_USEC (3 * 1000 * 1000)
/* past the offline timeout (10000 ms at time scale 0.1) */
#define STALL_USEC (1500 * 1000)

static const char *const settings[REPLAY_N_SETTINGS][2] = {
        { "time-scale", "0.1" },
        { "offline-timeout-ms", "10000" },
        { "member-after-s", "30" },
        { "poll-rate-hz", "5" },
        { "rescan-interval-s", "0" },
};

static Controller *ctl(Replay *r, const char *uuid) {
        return daemon_find_uuid(r->daemon, uuid);
}

static bool is_fw_version_to(const struct can_frame *f, uint8_t id) {
        return (f->can_id & CAN_EFF_MASK) == (((uint32_t) CAN_PACKET_PROCESS_SHORT_BUFFER << 8) | id) &&
               f->can_dlc >= 3 && f->data[2] == COMM_FW_VERSION;
}

static void feed_boot(uint8_t id) {
        struct can_frame f;

        vesc_notify_boot_encode(&f, id, "60");
        replay_feed(&f);
}

/* Answer the first COMM_FW_VERSION to @id sent from sent[*from] on with
 * @uuid (firmware 6.05, hardware "60"); *from moves past it.  Whether one
 * was answered. */
static bool answer_fw_version(Replay *r, size_t *from, uint8_t id, const char *uuid) {
        VescFwVersion v = { .major = 6, .minor = 5, .has_test_build = true, .has_hw_type = true, .has_ui_flags = true,
                            .has_fw_name = true, .has_hw_crc = true };
        uint8_t buf[VESC_BUFFER_MAX];
        VescSegmenter s;
        struct can_frame f;
        ssize_t n;

        for (; *from < r->sent.n; (*from)++)
                if (is_fw_version_to(&r->sent.v[*from], id))
                        break;
        if (*from >= r->sent.n)
                return false;
        snprintf(v.hw_name, sizeof v.hw_name, "60");
        for (size_t i = 0; i < VESC_UUID_LEN; i++)
                sscanf(uuid + 2 * i, "%2hhx", &v.uuid[i]);
        n = vesc_fw_version_encode(&v, buf, sizeof buf);
        if (n <= 0 || vesc_segmenter_init(&s, r->sent.v[*from].data[0], id, VESC_MODE_REPLY, buf, (size_t) n) < 0)
                abort();
        while (vesc_segmenter_next(&s, &f) > 0)
                replay_feed(&f);
        (*from)++;
        return true;
}

typedef struct Known {
        const char *uuid;
} Known;

static bool identified(Replay *r, void *userdata) {
        const Known *k = userdata;
        return ctl(r, k->uuid) && ctl(r, k->uuid)->has_identity;
}

/* The phantom at @id presents @uuid: a NOTIFY_BOOT, its identification
 * answered. */
static bool phantom_appears(Replay *r, uint8_t id, const char *uuid) {
        size_t from = r->sent.n;
        Known k = { uuid };

        feed_boot(id);
        for (int i = 0; i < 1000 && !answer_fw_version(r, &from, id, uuid); i++) {
                replay_pump(r);
                usleep(1000);
        }
        return replay_pump_until(r, identified, &k);
}

/* The checks while the phantom is kept online: never a member, the board
 * never compares it.  Returns how often it was seen online. */
static unsigned check_not_member(Replay *r, const char *uuid, const char *what, unsigned *online) {
        Controller *p = ctl(r, uuid);
        const Board *b = daemon_board(r->daemon);

        if (p && p->online)
                (*online)++;
        CHECK(!p || p->candidate, "%s: the phantom %s became a board member", what, uuid);
        CHECK(!b->mismatch, "%s: the board is mismatched: %s", what, b->reasons && b->reasons[0] ? b->reasons[0] : "");
        return *online;
}

static void boots(Replay *r) {
        const char *uuid = "feed00000000000000000001";
        uint64_t start = replay_now_usec();
        unsigned online = 0, ticks = 0;

        CHECK(phantom_appears(r, 20, uuid), "boots: the phantom at id 20 not identified");
        while (replay_now_usec() < start + MEMBER_AFTER_USEC * 3 / 2) {
                feed_boot(20);
                for (int i = 0; i < 30; i++) {
                        replay_pump(r);
                        usleep(10 * 1000);
                }
                check_not_member(r, uuid, "boots", &online);
                ticks++;
        }
        CHECK(online == ticks, "boots: the phantom was offline %u of %u times: the pattern did not keep it online",
              ticks - online, ticks);
        printf("# boots: the phantom online at %u of %u looks over %.1f s, a member: %s\n", online, ticks,
               (replay_now_usec() - start) / 1e6, ctl(r, uuid) && !ctl(r, uuid)->candidate ? "yes" : "no");
}

static void stalls(Replay *r) {
        const char *uuid = "beef0000000000000000cafe";
        unsigned online = 0, n = 0;

        CHECK(phantom_appears(r, 30, uuid), "stalls: the phantom at id 30 not identified");
        for (uint64_t stalled = 0; stalled < MEMBER_AFTER_USEC * 3 / 2; stalled += STALL_USEC) {
                replay_pump(r);
                replay_drain(r);
                replay_stall(r, STALL_USEC);
                /* sent during the stall, read at the late tick */
                feed_boot(30);
                replay_pump(r);
                check_not_member(r, uuid, "stalls", &online);
                n++;
        }
        CHECK(online == n, "stalls: the phantom was offline %u of %u times: the pattern did not keep it online",
              n - online, n);
        printf("# stalls: the phantom online after %u of %u stalls, a member: %s\n", online, n,
               ctl(r, uuid) && !ctl(r, uuid)->candidate ? "yes" : "no");
}

static bool both_members(Replay *r, void *userdata) {
        Controller *a = ctl(r, UUID_A), *b = ctl(r, UUID_B);
        return a && !a->candidate && b && !b->candidate;
}

int main(void) {
        const char *srcdir = getenv("top_srcdir") ?: ".";
        Replay r = { .settings = settings, .n_settings = REPLAY_N_SETTINGS };

        if (replay_start_with(&r, srcdir, "discovery-358.log") < 0)
                return 1;
        if (!ctl(&r, UUID_A) || !ctl(&r, UUID_B)) {
                CHECK(false, "A and B not found");
                replay_stop(&r);
                return replay_exit_status();
        }
        boots(&r);
        stalls(&r);
        /* the real pair, polled and answering, became members meanwhile */
        CHECK(replay_pump_until(&r, both_members, NULL), "A and B did not become members");
        CHECK(daemon_board(r.daemon)->state == BOARD_STATE_CONSISTENT, "the board %s, not consistent",
              board_state_to_string(daemon_board(r.daemon)->state));
        replay_stop(&r);
        return replay_exit_status();
}
