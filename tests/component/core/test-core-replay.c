/* Component test: the core (daemon/core: discovery, identification, the
 * controller and board models, the request engine) over a fake transport
 * fed a captured CAN transcript, its model rendered to JSON and compared
 * with a committed golden file.
 *
 * The transport is a kind of this test's own ("replay", through
 * core/transport.h's ops table): a SOCK_SEQPACKET socketpair whose far end
 * the replay drives.  Transcripts are vbus-dump candump logs recorded from
 * vesc-sim by record-transcripts.py (transcripts/).  The replay:
 *
 *   - feeds the frames vescd received (the low byte of the id is its own
 *     id 253, or a broadcast such as a status frame) in the recorded order;
 *   - answers the requests the core makes by itself (PING, FW_VERSION)
 *     whenever the core sends them, with what the controller answered to
 *     the same request in the transcript (the next such exchange at or
 *     after the position fed so far, else the last one before);
 *   - skips the other frames vescd sent (their answers still reach the
 *     core, unsolicited, as a controller's late answers would).
 *
 * The configuration keeps the outcome independent of the wall clock: no
 * polling, no background rescan, an offline timeout far above the run;
 * the core's time is only used for liveness and rates then, and no field
 * of the golden objects depends on it.  The golden JSON is {"board": ...,
 * "controllers": [...]} as render.h renders them for the JSON socket.
 * VESCD_UPDATE_GOLDEN=1 rewrites the golden file instead of comparing
 * (after a deliberate model change; review the diff).
 *
 * Scenario: discovery.log (dual-mismatch found by vescd).  update.log and
 * new-id.log are recorded too but not replayed yet: after an update the
 * core alone never learns the new version or id (the firmware manager
 * tells it through daemon_feed_fw_version()/daemon_controller_moved(),
 * and a silent controller at a new id is found by a rescan whose PING the
 * transcript does not hold), so their golden model would show the state
 * before the update.  Replaying them needs the manager's host interface
 * faked here, or a clock seam that lets liveness run on transcript time.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/daemon.h"
#include "core/log.h"
#include "core/render.h"
#include "replay.h"

static json_t *snapshot(Daemon *d) {
        Controller *const *cs;
        size_t n = daemon_controllers(d, &cs);
        json_t *o = json_object(), *list = json_array();

        if (!o || !list)
                abort();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(list, render_controller(cs[i]));
        json_object_set_new(o, "board", render_board(daemon_board(d), cs, n));
        json_object_set_new(o, "controllers", list);
        return o;
}

static int compare_golden(const char *srcdir, const char *golden, json_t *got) {
        char path[4096];
        _cleanup_free_ char *text = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_t *want;
        json_error_t e;
        int k = 0;

        snprintf(path, sizeof path, "%s/tests/component/core/golden/%s", srcdir, golden);
        if (getenv("VESCD_UPDATE_GOLDEN")) {
                FILE *f = fopen(path, "we");
                if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
                        fprintf(stderr, "cannot write %s: %m\n", path);
                        return -EIO;
                }
                fprintf(stderr, "wrote %s\n", path);
                return 0;
        }
        want = json_load_file(path, 0, &e);
        if (!want) {
                fprintf(stderr, "%s: %s (line %d)\n", path, e.text, e.line);
                return -EINVAL;
        }
        if (!json_equal(want, got)) {
                _cleanup_free_ char *w = json_dumps(want, JSON_INDENT(2) | JSON_SORT_KEYS);
                fprintf(stderr, "FAIL: the model after the replay differs from %s\n--- expected\n%s\n--- got\n%s\n",
                        path, w, text);
                k = -EBADMSG;
        }
        json_decref(want);
        return k;
}

/* Replay the transcripts into a fresh core, in order; compare the model. */
static int scenario(const char *srcdir, const char *const *transcripts, const char *golden) {
        Replay r = {};
        json_t *got;
        int k;

        k = replay_start(&r);
        for (const char *const *t = transcripts; *t && k >= 0; t++) {
                k = replay_transcript(&r, srcdir, *t);
                if (k >= 0)
                        k = replay_settle(&r);
                if (k >= 0)
                        fprintf(stderr, "# %s replayed (%zu frames from the core)\n", *t, r.sent.n);
        }
        if (k >= 0) {
                got = snapshot(r.daemon);
                k = compare_golden(srcdir, golden, got);
                json_decref(got);
        }
        replay_stop(&r);
        return k;
}

int main(void) {
        const char *srcdir = getenv("top_srcdir") ?: ".";
        static const char *const discovery[] = { "discovery.log", NULL };
        int failed = 0;

        log_set_max_level(getenv("VESCD_TEST_DEBUG") ? 7 : 3);
        if (scenario(srcdir, discovery, "discovery.json") < 0)
                failed++;
        if (failed) {
                fprintf(stderr, "%d scenario(s) failed\n", failed);
                return 1;
        }
        printf("PASS\n");
        return 0;
}
