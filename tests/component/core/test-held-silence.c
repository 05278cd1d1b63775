/* test-held-silence: the core's liveness around exclusive holds ("held
 * silence", daemon/core/daemon.c) on the replayed dual-358 board (A at id
 * 10 and B at 74, both 3.58, without status broadcasts, polled at 5 Hz;
 * discovery-358.log), then live: the core's requests are answered as the
 * recording answered them, on a clock that follows real time.
 *
 * As a firmware job does: the test holds A exclusively and tells the board
 * view A is being updated; A, unpolled, goes offline after the offline
 * timeout (1 s at time scale 0.1).  Then the job "ends" (not updating) and
 * the hold goes.
 *   - alive: the first frame the core sends after the release, in the same
 *     loop turn (before any housekeeping tick or poll timer could poll
 *     it), is a GET_VALUES to A; A answers; the board
 *     goes from updating to consistent and is never degraded meanwhile; A
 *     comes back online.
 *   - gone (its requests unanswered): the check goes out the same way, the
 *     board stays updating while it runs, then is degraded with A offline,
 *     never consistent in between; at most the check and its retry went
 *     to A before that (no wait for another poll or another timeout).
 * Nothing here asserts a duration: waits are bounded, outcomes are states
 * and frames. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/board.h"
#include "core/controller.h"
#include "core/daemon.h"
#include "core/hold.h"
#include "macro.h"
#include "replay.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"
#define ID_A 10

typedef struct Watch {
        ReplayStates states;        /* first (replay_on_board_changed): board states announced since the mark */
        bool updating;              /* the "job" holds A: the board's updating query */
        uint8_t uuid_a[12];
        unsigned a_online, a_offline; /* A's online changes since the mark */
} Watch;

static void on_changed(void *userdata, Controller *c, uint64_t mask) {
        Watch *w = userdata;

        if (!(mask & CONTROLLER_DIRTY_ONLINE) || strcmp(c->uuid_str, UUID_A) != 0)
                return;
        if (c->online)
                w->a_online++;
        else
                w->a_offline++;
}

static bool on_updating(void *userdata, const uint8_t uuid[static 12]) {
        Watch *w = userdata;

        return w->updating && memcmp(uuid, w->uuid_a, sizeof w->uuid_a) == 0;
}

static const DaemonListener listener = {
        .board_changed = replay_on_board_changed,
        .controller_changed = on_changed,
};

static void mark(Watch *w) {
        w->states.n = 0;
        w->a_online = w->a_offline = 0;
}

static bool a_offline(Replay *r, void *userdata) {
        Controller *a = daemon_find_uuid(r->daemon, UUID_A);
        return a && !a->online;
}

static bool a_online(Replay *r, void *userdata) {
        Controller *a = daemon_find_uuid(r->daemon, UUID_A);
        return a && a->online;
}

static bool both_online(Replay *r, void *userdata) {
        Controller *b = daemon_find_uuid(r->daemon, UUID_B);
        return a_online(r, NULL) && b && b->online && daemon_board(r->daemon)->state == BOARD_STATE_CONSISTENT;
}

/* The job holds A until A is offline; returns its hold. */
static Hold *hold_until_offline(Replay *r, Watch *w, const char *what) {
        Hold *h = NULL;
        Controller *a = daemon_find_uuid(r->daemon, UUID_A);

        CHECK(a && a->online, "%s: A online before the hold", what);
        CHECK(hold_acquire(daemon_holds(r->daemon), w->uuid_a, HOLD_EXCLUSIVE, false,
                           &(HoldOwner) { .text = "is being updated by the test" }, &h, NULL) >= 0,
              "%s: hold A", what);
        w->updating = true;
        daemon_board_update(r->daemon);
        CHECK(replay_pump_until(r, a_offline, NULL), "%s: A (held, unpolled) did not go offline", what);
        CHECK(daemon_board(r->daemon)->state == BOARD_STATE_UPDATING, "%s: board %s while A is held", what,
              board_state_to_string(daemon_board(r->daemon)->state));
        return h;
}

/* The job ends: not updating, then its hold goes (as update-driver.c). */
static size_t job_ends(Replay *r, Watch *w, Hold *h) {
        size_t sent;

        replay_pump(r);                 /* nothing of the hold's time left in the socket */
        replay_drain(r);
        sent = r->sent.n;
        mark(w);
        w->updating = false;
        hold_release(h);
        /* the firmware manager asks for the board view when a job ends */
        daemon_board_update(r->daemon);
        return sent;
}

/* The check goes out in the loop turn of the release: before any
 * housekeeping tick or poll timer (daemon_run_due(), which replay_pump()
 * runs first), the only frame is a GET_VALUES to A. */
static void check_sent_at_once(Replay *r, size_t sent, const char *what) {
        (void) event_base_loop(r->base, EVLOOP_NONBLOCK);
        replay_drain(r);
        CHECK(r->sent.n > sent && replay_is_get_values_to(&r->sent.v[sent], ID_A),
              "%s: in the loop turn of the release the core sent %zu frame(s), the first not a GET_VALUES to A", what,
              r->sent.n - sent);
}

static void alive(Replay *r, Watch *w) {
        Hold *h = hold_until_offline(r, w, "alive");
        size_t sent = job_ends(r, w, h);

        CHECK(daemon_board(r->daemon)->state == BOARD_STATE_UPDATING,
              "alive: board %s at the release, before A's check had its answer",
              board_state_to_string(daemon_board(r->daemon)->state));
        check_sent_at_once(r, sent, "alive");
        CHECK(replay_pump_until(r, a_online, NULL), "alive: A did not come back online");
        BoardState consistent = BOARD_STATE_CONSISTENT;
        CHECK(replay_pump_until(r, replay_board_is, &consistent), "alive: board %s, not consistent",
              board_state_to_string(daemon_board(r->daemon)->state));
        for (size_t i = 0; i < w->states.n; i++)
                CHECK(strcmp(w->states.v[i], "degraded") != 0, "alive: the board was degraded after the release: %s",
                      replay_states_text(&w->states));
        CHECK(w->a_offline == 0 && w->a_online == 1, "alive: A went offline %u and online %u times after the release",
              w->a_offline, w->a_online);
        printf("# alive: after the release the board went: %s; A online again\n", replay_states_text(&w->states));
}

static void gone(Replay *r, Watch *w) {
        Hold *h = hold_until_offline(r, w, "gone");
        size_t sent;

        r->live_mute[ID_A] = true;
        sent = job_ends(r, w, h);
        check_sent_at_once(r, sent, "gone");
        BoardState degraded = BOARD_STATE_DEGRADED;
        CHECK(replay_pump_until(r, replay_board_is, &degraded), "gone: board %s, not degraded",
              board_state_to_string(daemon_board(r->daemon)->state));
        /* what went to A until then: the check and its one retry */
        CHECK(replay_count_get_values(r, sent, ID_A) <= 2, "gone: %zu GET_VALUES to A before the board said degraded",
              replay_count_get_values(r, sent, ID_A));
        for (size_t i = 0; i + 1 < w->states.n; i++)
                CHECK(strcmp(w->states.v[i], "updating") == 0, "gone: the board went %s before degraded: %s",
                      w->states.v[i], replay_states_text(&w->states));
        CHECK(w->a_online == 0, "gone: A came online after the release");
        CHECK(a_offline(r, NULL), "gone: A is not offline");
        printf("# gone: after the release the board went: %s\n", replay_states_text(&w->states));
        r->live_mute[ID_A] = false;
}

int main(void) {
        const char *srcdir = getenv("top_srcdir") ?: ".";
        Replay r = { .settings = replay_settings_358, .n_settings = REPLAY_N_SETTINGS };
        Watch w = {};
        Controller *a;

        if (replay_start_with(&r, srcdir, "discovery-358.log") < 0)
                return 1;
        a = daemon_find_uuid(r.daemon, UUID_A);
        CHECK(a && a->id == ID_A && daemon_find_uuid(r.daemon, UUID_B), "A at %u and B found", ID_A);
        if (!a) {
                replay_stop(&r);
                return 1;
        }
        memcpy(w.uuid_a, a->uuid, sizeof w.uuid_a);
        daemon_set_updating_query(r.daemon, on_updating, &w);
        CHECK(daemon_add_listener(r.daemon, &listener, &w) >= 0, "listener");
        /* live from here: the polls answered as recorded */
        CHECK(replay_pump_until(&r, both_online, NULL), "A and B not online, or the board not consistent, after discovery");

        alive(&r, &w);
        gone(&r, &w);

        daemon_remove_listener(r.daemon, &listener, &w);
        daemon_set_updating_query(r.daemon, NULL, NULL);
        replay_stop(&r);
        return replay_exit_status();
}
