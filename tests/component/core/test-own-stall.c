/* test-own-stall: the core's liveness across a stall of its own ("own
 * stalls", daemon/core/daemon.c) on the replayed dual-358 board (A at id
 * 10 and B at 74, both 3.58, without status broadcasts, polled at 5 Hz;
 * discovery-358.log), then live: the core's requests are answered as the
 * recording answered them, on a clock that follows real time.
 *
 * The stall: the core's clock jumps 1.5 offline timeouts ahead with
 * nothing run meanwhile, as when vescd is descheduled on a loaded machine
 * (nobody polled A or B, so they said nothing).
 *   - alive: in the loop turn after the stall, before anything is judged,
 *     the core sends a check (a GET_VALUES to A or B); both answer;
 *     neither A nor B goes offline and the board stays consistent.
 *   - gone (A's requests unanswered): A is checked the same way and goes
 *     offline when the check times out, with no more than two GET_VALUES
 *     to A before (the check and its one retry); B stays online; the
 *     board is degraded.
 *   - broadcasts waiting: B broadcasts and is held (as by a write: no
 *     check for it, the tick judges it), and its status frames sent during
 *     the stall wait in the socket: they are read before the verdict, so B
 *     is neither made offline nor taken for silent ("broadcasting" stays).
 *   - reply waiting: a GET_VALUES of a client's (op_get_values) to B is
 *     in flight when the stall starts, and B's answer arrives during it,
 *     behind nearly a read slice of other traffic (standard frames of some
 *     other device): the answer is read before the request's timeout is
 *     judged, so the call succeeds and no attempt to A or B timed out.
 *     (Without that rule the engine's deferred work, first in the loop
 *     turn after the stall, judged the expired deadline before any read:
 *     the attempt timed out and was sent again.)
 * Without the own-stall rule the first tick after the stall made both
 * offline.  Nothing here asserts a duration: waits are bounded, outcomes
 * are states and frames. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/board.h"
#include "core/controller.h"
#include "core/daemon.h"
#include "core/hold.h"
#include "core/operations.h"
#include "core/request.h"
#include "core/transport.h"
#include "macro.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"
#include "replay.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"
#define ID_A 10
#define ID_B 74
/* the replay's dual-358 settings: offline-timeout-ms 10000 at time scale 0.1 */
#define OFFLINE_TIMEOUT_USEC (1000 * 1000)
#define STALL_USEC (OFFLINE_TIMEOUT_USEC * 3 / 2)

typedef struct Watch {
        ReplayStates states;        /* first (replay_on_board_changed): board states announced since the mark */
        unsigned offline[2];        /* A's, B's changes to offline since the mark */
        unsigned unbroadcast;       /* B's broadcasting true → false since the mark */
} Watch;

static void on_changed(void *userdata, Controller *c, uint64_t mask) {
        Watch *w = userdata;
        int which = strcmp(c->uuid_str, UUID_A) == 0 ? 0 : strcmp(c->uuid_str, UUID_B) == 0 ? 1 : -1;

        if (which < 0)
                return;
        if ((mask & CONTROLLER_DIRTY_ONLINE) && !c->online)
                w->offline[which]++;
        if ((mask & CONTROLLER_DIRTY_BROADCASTS) && !c->broadcasting && which == 1)
                w->unbroadcast++;
}

static const DaemonListener listener = {
        .board_changed = replay_on_board_changed,
        .controller_changed = on_changed,
};

static void mark(Watch *w) {
        w->states.n = 0;
        w->offline[0] = w->offline[1] = 0;
        w->unbroadcast = 0;
}

static Controller *ctl(Replay *r, const char *uuid) {
        return daemon_find_uuid(r->daemon, uuid);
}

static bool a_offline(Replay *r, void *userdata) {
        Controller *a = ctl(r, UUID_A);
        return a && !a->online;
}

static bool both_online(Replay *r, void *userdata) {
        Controller *a = ctl(r, UUID_A), *b = ctl(r, UUID_B);
        return a && a->online && b && b->online && daemon_board(r->daemon)->state == BOARD_STATE_CONSISTENT;
}

/* Enough GET_VALUES answered after @from: the check and two polls each. */
typedef struct Since {
        size_t from;
} Since;

static bool polled_on(Replay *r, void *userdata) {
        const Since *s = userdata;
        return replay_count_get_values(r, s->from, ID_A) >= 3 && replay_count_get_values(r, s->from, ID_B) >= 3;
}

/* Everything sent so far is taken and answered; the stall starts now. */
static size_t stall(Replay *r, Watch *w) {
        replay_pump(r);
        replay_drain(r);
        mark(w);
        replay_stall(r, STALL_USEC);
        return r->sent.n;
}

/* The first loop turn after the stall (the housekeeping tick is due at
 * once, then the flush): before anything is judged, a check goes out (a
 * GET_VALUES to A or B: one long reply on the bus at a time; the scan's
 * next PING may go too), and nobody is offline. */
static void checks_first(Replay *r, Watch *w, size_t sent, const char *what) {
        replay_pump(r);
        CHECK(replay_count_get_values(r, sent, ID_A) + replay_count_get_values(r, sent, ID_B) >= 1,
              "%s: in the loop turn after the stall the core sent %zu frame(s), no GET_VALUES to A or B", what,
              r->sent.n - sent);
        CHECK(w->offline[0] == 0 && w->offline[1] == 0, "%s: at the first tick after the stall A went offline %u, "
              "B %u times", what, w->offline[0], w->offline[1]);
}

static void alive(Replay *r, Watch *w) {
        size_t sent = stall(r, w);
        Since since = { sent };

        checks_first(r, w, sent, "alive");
        CHECK(replay_pump_until(r, polled_on, &since), "alive: A and B not polled on after the stall");
        CHECK(w->offline[0] == 0 && w->offline[1] == 0, "alive: after the stall A went offline %u, B %u times",
              w->offline[0], w->offline[1]);
        CHECK(both_online(r, NULL), "alive: A and B not both online, or the board %s",
              board_state_to_string(daemon_board(r->daemon)->state));
        for (size_t i = 0; i < w->states.n; i++)
                CHECK(strcmp(w->states.v[i], "consistent") == 0, "alive: the board went %s after the stall",
                      replay_states_text(&w->states));
        printf("# alive: after the stall %zu GET_VALUES to A, %zu to B; A offline %u, B %u times\n",
               replay_count_get_values(r, sent, ID_A), replay_count_get_values(r, sent, ID_B), w->offline[0], w->offline[1]);
}

/* B's STATUS_1 (erpm, current, duty: zero). */
static void feed_status_b(void) {
        struct can_frame f = { .can_id = CAN_EFF_FLAG | ((uint32_t) CAN_PACKET_STATUS << 8) | ID_B, .can_dlc = 8 };
        replay_feed(&f);
}

static bool b_broadcasting(Replay *r, void *userdata) {
        Controller *b = ctl(r, UUID_B);
        return b && b->broadcasting;
}

static void broadcasts_waiting(Replay *r, Watch *w) {
        Hold *h = NULL;

        /* B broadcasts from now on (fed with every pump below) */
        feed_status_b();
        CHECK(replay_pump_until(r, b_broadcasting, NULL), "broadcasts: B not taken for broadcasting");
        /* held, as by a write: no check for B, the tick judges it */
        CHECK(hold_acquire(daemon_holds(r->daemon), ctl(r, UUID_B)->uuid, HOLD_EXCLUSIVE, false,
                           &(HoldOwner) { .text = "is being written by the test" }, &h, NULL) >= 0,
              "broadcasts: hold B");
        (void) stall(r, w);
        /* what B sent during the stall waits in the socket */
        for (int i = 0; i < 5; i++)
                feed_status_b();
        replay_pump(r);
        for (int i = 0; i < 20; i++) {
                feed_status_b();
                replay_pump(r);
                usleep(1000);
        }
        CHECK(w->offline[1] == 0 && w->unbroadcast == 0,
              "broadcasts: after the stall B went offline %u times, stopped broadcasting %u times", w->offline[1],
              w->unbroadcast);
        CHECK(b_broadcasting(r, NULL) && ctl(r, UUID_B)->online, "broadcasts: B offline or not broadcasting");
        hold_release(h);
        printf("# broadcasts: B, held, its frames waiting, went offline %u times, stopped broadcasting %u times\n",
               w->offline[1], w->unbroadcast);
}

typedef struct Values {
        bool done;
        int error;
} Values;

static void on_values(void *userdata, int error, const VescValues *v) {
        Values *x = userdata;

        x->done = true;
        x->error = error;
}

static bool values_done(Replay *r, void *userdata) {
        return ((const Values *) userdata)->done;
}

static bool scan_over(Replay *r, void *userdata) {
        return !daemon_scanning(r->daemon);
}

static void reply_waiting(Replay *r, Watch *w) {
        RequestEngineStats st0, st1;
        Values x = {};
        size_t sent;

        /* from here on every request goes to A or B, and they answer all
         * (the scan's PINGs to absent ids time out by right) */
        CHECK(replay_pump_until(r, scan_over, NULL), "reply waiting: the scan never ended");
        replay_pump(r);
        replay_drain(r);
        mark(w);
        request_engine_get_stats(daemon_requests(r->daemon), &st0);
        sent = r->sent.n;
        CHECK(op_get_values(r->daemon, ctl(r, UUID_B), on_values, &x) >= 0, "reply waiting: op_get_values on B");
        /* the request goes out before the stall, B answers during it: its
         * reply waits behind other traffic, reaching past the first read
         * slice */
        for (int i = 0; i < TRANSPORT_READ_SLICE - 6; i++)
                replay_feed(&(struct can_frame) { .can_id = 0x123, .can_dlc = 8 });
        replay_drain(r);
        CHECK(replay_count_get_values(r, sent, ID_B) >= 1, "reply waiting: no GET_VALUES to B went out");
        replay_stall(r, STALL_USEC);
        /* the loop turn after the stall, in the loop's order: the request
         * engine's deferred work (its deadline expired meanwhile), then a
         * read slice */
        (void) event_base_loop(r->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        CHECK(replay_pump_until(r, values_done, &x), "reply waiting: the call never completed");
        request_engine_get_stats(daemon_requests(r->daemon), &st1);
        CHECK(x.error == 0, "reply waiting: the call failed: %s", strerror(-x.error));
        CHECK(st1.timeouts == st0.timeouts, "reply waiting: %" PRIu64 " attempt(s) to A or B timed out across the stall",
              st1.timeouts - st0.timeouts);
        CHECK(w->offline[0] == 0 && w->offline[1] == 0, "reply waiting: A went offline %u, B %u times", w->offline[0],
              w->offline[1]);
        printf("# reply waiting: the call %s, %" PRIu64 " attempt(s) timed out, %zu GET_VALUES to B\n",
               x.error ? strerror(-x.error) : "answered", st1.timeouts - st0.timeouts,
               replay_count_get_values(r, sent, ID_B));
}

static void gone(Replay *r, Watch *w) {
        size_t sent;

        r->live_mute[ID_A] = true;
        sent = stall(r, w);
        checks_first(r, w, sent, "gone");
        CHECK(replay_pump_until(r, a_offline, NULL), "gone: A did not go offline");
        /* what went to A until then: the check and its one retry */
        CHECK(replay_count_get_values(r, sent, ID_A) <= 2, "gone: %zu GET_VALUES to A before it went offline",
              replay_count_get_values(r, sent, ID_A));
        BoardState degraded = BOARD_STATE_DEGRADED;
        CHECK(replay_pump_until(r, replay_board_is, &degraded), "gone: board %s, not degraded",
              board_state_to_string(daemon_board(r->daemon)->state));
        CHECK(w->offline[0] == 1 && w->offline[1] == 0, "gone: A went offline %u, B %u times", w->offline[0],
              w->offline[1]);
        CHECK(ctl(r, UUID_B)->online, "gone: B offline");
        printf("# gone: A offline after %zu GET_VALUES; the board went: %s\n", replay_count_get_values(r, sent, ID_A),
               replay_states_text(&w->states));
        r->live_mute[ID_A] = false;
}

int main(void) {
        const char *srcdir = getenv("top_srcdir") ?: ".";
        Replay r = { .settings = replay_settings_358, .n_settings = REPLAY_N_SETTINGS };
        Watch w = {};

        if (replay_start_with(&r, srcdir, "discovery-358.log") < 0)
                return 1;
        CHECK(ctl(&r, UUID_A) && ctl(&r, UUID_A)->id == ID_A && ctl(&r, UUID_B), "A at %u and B found", ID_A);
        if (!ctl(&r, UUID_A) || !ctl(&r, UUID_B)) {
                replay_stop(&r);
                return 1;
        }
        CHECK(daemon_add_listener(r.daemon, &listener, &w) >= 0, "listener");
        /* live from here: the polls answered as recorded */
        CHECK(replay_pump_until(&r, both_online, NULL), "A and B not online, or the board not consistent, after discovery");

        alive(&r, &w);
        reply_waiting(&r, &w);
        gone(&r, &w);
        CHECK(replay_pump_until(&r, both_online, NULL), "A not back online after gone");
        broadcasts_waiting(&r, &w);

        daemon_remove_listener(r.daemon, &listener, &w);
        replay_stop(&r);
        return replay_exit_status();
}
