/* Component test: the core (daemon/core: discovery, identification,
 * liveness, the controller and board models, the request engine) on a
 * test clock over a fake transport fed captured CAN transcripts, what it
 * sends checked against the recording, and its model at each stage
 * compared with committed golden JSON.
 *
 * Transcripts (transcripts/, recorded from vesc-sim by
 * record-transcripts.py) are vbus-dump candump logs; replay.c says how they
 * are replayed (the test clock, which frames are fed when, how the core's
 * frames are matched with the recorded ones and the variations allowed,
 * and the fake update host that plays the firmware job's side).
 *
 * Sessions (one core each, configured as vescd was for the recording):
 *   dual-mismatch: discovery.log (A 5.03 at id 12, silent; B 3.58 at id 74,
 *     broadcasting), then update.log (a Repair: B is flashed, goes quiet,
 *     is offline after the offline timeout of the test clock, answers the
 *     job's COMM_FW_VERSION at 5.03 and is identified again at id 74);
 *   dual-358: discovery-358.log (A 3.58 at id 10, B 3.58 at id 74, both
 *     silent, polled at 5 Hz), then new-id.log (UpdateController of A with
 *     SkipCanIdRestore: A goes quiet at id 10 and answers at its UUID's
 *     default id 12 at 5.03; the core follows it by UUID: no controller
 *     stays behind at id 10).
 * vesc-sim sent no NOTIFY_BOOT in these recordings: a rebooted controller
 * comes back through the job's COMM_FW_VERSION (at its new version, and at
 * its new id), which the core learns from as the manager hands it over.
 *
 * Golden files (golden/<transcript>.json): the stages of the model while
 * the transcript played, each a snapshot taken when a controller appeared,
 * went away, changed its id, online state or firmware, or the board its
 * state, and one at the transcript's end: {"at_usec": session time of the
 * test clock, "changes": what changed, "board": render_board() without
 * its controllers list, "controllers": render_controller() of each}.  Keys
 * sorted, two-space indent; no wall-clock values anywhere.
 *
 * REGENERATE=1 (make check TESTS=... REGENERATE=1, or run the binary with
 * top_srcdir set) rewrites the golden files instead of comparing, after a
 * deliberate change of the model; review the diff (git diff golden/) and
 * say in the commit what it shows.  Without it a golden that differs fails
 * the test and the first differing lines are printed.
 *
 * Besides the goldens, a few facts are checked directly (so that a
 * regenerated golden cannot hide them): B was offline during the update
 * and is online at 5.03 at id 74 after it; A, offline while flashed, ends
 * online at id 12 at 5.03 with no controller left at id 10; the core's
 * frames matched the recording. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/daemon.h"
#include "core/log.h"
#include "core/render.h"
#include "macro.h"
#include "replay.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"

/* vescd's command line in record-transcripts.py (its harnesses) */

/* What a stage is told apart by, per controller. */
typedef struct Seen {
        char uuid[32];
        unsigned id;
        bool online;
        char fw[16];
} Seen;

typedef struct Stages {
        Replay *r;
        json_t *list;         /* stages of the transcript playing */
        Seen seen[16];
        size_t n_seen;
        char board_state[32];
        bool offline_seen[2]; /* A, B went offline at some point */
} Stages;

static json_t *board_json(Daemon *d) {
        Controller *const *cs;
        size_t n = daemon_controllers(d, &cs);
        json_t *b = render_board(daemon_board(d), cs, n);

        /* listed once, under "controllers" */
        json_object_del(b, "controllers");
        return b;
}

static void add_stage(Stages *s, uint64_t t, json_t *changes) {
        Daemon *d = s->r->daemon;
        Controller *const *cs;
        size_t n = daemon_controllers(d, &cs);
        json_t *o = json_object(), *list = json_array();

        if (!o || !list)
                abort();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(list, render_controller(cs[i]));
        json_object_set_new(o, "at_usec", json_integer((json_int_t) t));
        json_object_set_new(o, "changes", changes);
        json_object_set_new(o, "board", board_json(d));
        json_object_set_new(o, "controllers", list);
        json_array_append_new(s->list, o);
}

static void on_step(void *userdata, uint64_t t) {
        Stages *s = userdata;
        Daemon *d = s->r->daemon;
        Controller *const *cs;
        size_t n = daemon_controllers(d, &cs);
        json_t *changes = json_array();
        Seen now[16] = {};
        const char *state = board_state_to_string(daemon_board(d)->state);
        char line[1024];

        if (!changes || n > ELEMENTSOF(now))
                abort();
        for (size_t i = 0; i < n; i++) {
                const Seen *old = NULL;
                now[i].id = cs[i]->id;
                now[i].online = cs[i]->online;
                snprintf(now[i].uuid, sizeof now[i].uuid, "%s", cs[i]->uuid_str);
                snprintf(now[i].fw, sizeof now[i].fw, "%s", cs[i]->fw_version);
                if (!now[i].online)
                        s->offline_seen[strcmp(now[i].uuid, UUID_A) == 0 ? 0 : 1] = true;
                for (size_t k = 0; k < s->n_seen; k++)
                        if (strcmp(s->seen[k].uuid, now[i].uuid) == 0)
                                old = &s->seen[k];
                if (!old) {
                        snprintf(line, sizeof line, "%s appeared at id %u, firmware %s, %s", now[i].uuid, now[i].id,
                                 now[i].fw, now[i].online ? "online" : "offline");
                        json_array_append_new(changes, json_string(line));
                        continue;
                }
                if (old->id != now[i].id) {
                        snprintf(line, sizeof line, "%s moved from id %u to id %u", now[i].uuid, old->id, now[i].id);
                        json_array_append_new(changes, json_string(line));
                }
                if (strcmp(old->fw, now[i].fw) != 0) {
                        snprintf(line, sizeof line, "%s firmware %s -> %s", now[i].uuid, old->fw, now[i].fw);
                        json_array_append_new(changes, json_string(line));
                }
                if (old->online != now[i].online) {
                        snprintf(line, sizeof line, "%s %s", now[i].uuid, now[i].online ? "online" : "offline");
                        json_array_append_new(changes, json_string(line));
                }
        }
        for (size_t k = 0; k < s->n_seen; k++) {
                bool there = false;
                for (size_t i = 0; i < n && !there; i++)
                        there = strcmp(s->seen[k].uuid, now[i].uuid) == 0;
                if (!there) {
                        snprintf(line, sizeof line, "%s removed", s->seen[k].uuid);
                        json_array_append_new(changes, json_string(line));
                }
        }
        if (strcmp(state, s->board_state) != 0) {
                snprintf(line, sizeof line, "board %s -> %s", s->board_state[0] ? s->board_state : "(none)", state);
                json_array_append_new(changes, json_string(line));
                snprintf(s->board_state, sizeof s->board_state, "%s", state);
        }
        memcpy(s->seen, now, sizeof now);
        s->n_seen = n;
        if (json_array_size(changes) > 0)
                add_stage(s, t, changes);
        else
                json_decref(changes);
}

/* The first differing lines of two texts, for the failure message. */
static void print_difference(const char *want, const char *got) {
        unsigned line = 1;
        const char *w = want, *g = got;

        while (*w && *g && *w == *g) {
                if (*w == '\n')
                        line++;
                w++;
                g++;
        }
        while (w > want && w[-1] != '\n') {
                w--;
                g--;
        }
        fprintf(stderr, "first difference at line %u:\n--- golden\n%.400s\n--- got\n%.400s\n", line, w, g);
}

static int compare_golden(const char *srcdir, const char *golden, json_t *got) {
        char path[4096];
        _cleanup_free_ char *text = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
        _cleanup_free_ char *want = NULL;
        size_t size = 0;
        FILE *f;
        int k = 0;

        if (!text)
                return -ENOMEM;
        snprintf(path, sizeof path, "%s/tests/component/core/golden/%s", srcdir, golden);
        if (getenv("REGENERATE") && strcmp(getenv("REGENERATE"), "1") == 0) {
                f = fopen(path, "we");
                if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
                        fprintf(stderr, "cannot write %s: %m\n", path);
                        return -EIO;
                }
                fprintf(stderr, "# wrote %s\n", path);
                return 0;
        }
        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "cannot open %s: %m (REGENERATE=1 writes it)\n", path);
                return -errno;
        }
        want = calloc(1, 1 << 22);
        if (!want) {
                fclose(f);
                return -ENOMEM;
        }
        size = fread(want, 1, (1 << 22) - 1, f);
        fclose(f);
        want[size] = '\0';
        if (size > 0 && want[size - 1] == '\n')
                want[size - 1] = '\0';
        if (strcmp(want, text) != 0) {
                fprintf(stderr, "FAIL: the model's stages differ from %s (REGENERATE=1 rewrites it after a "
                        "deliberate change)\n", path);
                print_difference(want, text);
                k = -EBADMSG;
        }
        return k;
}

typedef struct Step {
        const char *transcript;
        const ReplayJob *job;
        const char *golden;
} Step;



static Controller *find(Daemon *d, const char *uuid) {
        return daemon_find_uuid(d, uuid);
}

/* Replay the transcripts of one session into a fresh core, in order;
 * compare the stages of each with its golden file. */
static int session(const char *srcdir, const char *const (*settings)[2], size_t n_settings, const Step *steps,
                   size_t n_steps, Stages *s, Replay *r) {
        int k;

        *r = (Replay) { .settings = settings, .n_settings = n_settings, .step = on_step, .step_userdata = s };
        *s = (Stages) { .r = r };
        uint64_t end[4];

        k = replay_start(r);
        /* all of the session first: the core may run a little ahead of
         * the recording across the joint of two transcripts */
        for (size_t i = 0; i < n_steps && k >= 0; i++)
                k = replay_load(r, srcdir, steps[i].transcript, steps[i].job, &end[i]);
        for (size_t i = 0; i < n_steps && k >= 0; i++) {
                s->list = json_array();
                if (!s->list)
                        return -ENOMEM;
                k = replay_run_until(r, end[i]);
                if (k == -EBADMSG) {
                        fprintf(stderr, "FAIL: %s: the core's frames differ from the recording (%u)\n",
                                steps[i].transcript, r->mismatches);
                        replay_failures++;
                        k = 0;
                }
                if (k >= 0) {
                        /* the model at the transcript's end */
                        json_t *changes = json_array();
                        char line[80];
                        snprintf(line, sizeof line, "end of %s", steps[i].transcript);
                        json_array_append_new(changes, json_string(line));
                        add_stage(s, r->now - REPLAY_EPOCH_USEC, changes);
                        fprintf(stderr, "# %s replayed (%zu frames from the core, %zu stages)\n",
                                steps[i].transcript, r->sent.n, json_array_size(s->list));
                        json_t *o = json_pack("{s:s, s:o}", "transcript", steps[i].transcript, "stages", s->list);
                        s->list = NULL;
                        if (compare_golden(srcdir, steps[i].golden, o) < 0)
                                replay_failures++;
                        json_decref(o);
                }
                json_decref(s->list);
                s->list = NULL;
        }
        if (k < 0) {
                fprintf(stderr, "FAIL: the replay stopped: %s\n", strerror(-k));
                replay_failures++;
        }
        return k;
}

int main(void) {
        const char *srcdir = getenv("top_srcdir") ?: ".";
        static const ReplayJob job_b = { .uuid = UUID_B, .ids = { 74 }, .n_ids = 1 };
        static const ReplayJob job_a = { .uuid = UUID_A, .ids = { 10, 12 }, .n_ids = 2 };
        static const Step mismatch[] = {
                { "discovery.log", NULL, "discovery.json" },
                { "update.log", &job_b, "update.json" },
        };
        static const Step dual358[] = {
                { "discovery-358.log", NULL, "discovery-358.json" },
                { "new-id.log", &job_a, "new-id.json" },
        };
        Replay r;
        Stages s;
        Controller *a, *b;

        log_set_max_level(getenv("VESCD_TEST_DEBUG") ? 7 : 3);

        if (session(srcdir, replay_settings_mismatch, REPLAY_N_SETTINGS, mismatch, ELEMENTSOF(mismatch), &s,
                    &r) >= 0) {
                Controller *const *cs;
                a = find(r.daemon, UUID_A);
                b = find(r.daemon, UUID_B);
                CHECK(daemon_controllers(r.daemon, &cs) == 2, "dual-mismatch: not two controllers after the update");
                CHECK(s.offline_seen[1], "update.log: B never went offline while it was flashed");
                CHECK(b && b->online && b->id == 74 && strcmp(b->fw_version, "5.03") == 0,
                      "update.log: B is not online at id 74 with 5.03 after the update");
                CHECK(a && a->online && a->id == 12, "update.log: A is not online at id 12");
        }
        replay_stop(&r);

        if (session(srcdir, replay_settings_358, REPLAY_N_SETTINGS, dual358, ELEMENTSOF(dual358), &s, &r) >= 0) {
                Controller *const *cs;
                a = find(r.daemon, UUID_A);
                CHECK(daemon_controllers(r.daemon, &cs) == 2, "new-id.log: not two controllers (a ghost left behind?)");
                CHECK(!daemon_find_id(r.daemon, 10), "new-id.log: a controller is still at id 10");
                CHECK(s.offline_seen[0], "new-id.log: A never went offline while it was flashed");
                CHECK(a && a->online && a->id == 12 && strcmp(a->fw_version, "5.03") == 0,
                      "new-id.log: A is not online at id 12 with 5.03");
        }
        replay_stop(&r);

        return replay_exit_status();
}
