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
#include <event2/event.h>
#include <jansson.h>
#include <linux/can.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/render.h"
#include "core/transport.h"

#define HOST_ID 253
#define WAIT_USEC (5 * 1000 * 1000)

/* VESC CAN packet types (spec §3) the replay tells apart */
#define CAN_PACKET_FILL_RX_BUFFER 5
#define CAN_PACKET_FILL_RX_BUFFER_LONG 6
#define CAN_PACKET_PROCESS_RX_BUFFER 7
#define CAN_PACKET_PROCESS_SHORT_BUFFER 8
#define CAN_PACKET_PING 17
#define COMM_FW_VERSION_CMD 0

static int peer_fd = -1;

/* ---------------------------------------------------- the fake transport */

static int replay_open(Transport *t, const char *arg, uint8_t own_id) {
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        peer_fd = sv[1];
        return sv[0];
}

static int replay_read(Transport *t, struct can_frame *ret) {
        ssize_t n = recv(transport_fd(t), ret, sizeof *ret, 0);

        if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;
        return n == (ssize_t) sizeof *ret ? 1 : -EBADMSG;
}

static int replay_write(Transport *t, const struct can_frame *f) {
        if (send(transport_fd(t), f, sizeof *f, MSG_NOSIGNAL) < 0)
                return errno == EAGAIN || errno == ENOBUFS ? -EAGAIN : -errno;
        return 0;
}

static const TransportOps replay_ops = {
        .kind = "replay",
        .open = replay_open,
        .read = replay_read,
        .write = replay_write,
};
static const TransportOps *const replay_kinds_ops[] = { &replay_ops };
static const TransportKinds replay_kinds = { .ops = replay_kinds_ops, .n_ops = 1 };

/* ------------------------------------------------------------ transcripts */

typedef struct Frames {
        struct can_frame *v;
        size_t n, cap;
} Frames;

static int frames_add(Frames *fs, const struct can_frame *f) {
        if (fs->n == fs->cap) {
                size_t cap = fs->cap ? 2 * fs->cap : 256;
                struct can_frame *v = realloc(fs->v, cap * sizeof *v);
                if (!v)
                        return -ENOMEM;
                fs->v = v;
                fs->cap = cap;
        }
        fs->v[fs->n++] = *f;
        return 0;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* "(1700000000.123456) vbus 0000090A#0102" -> frame; -EINVAL */
static int parse_line(const char *line, struct can_frame *f) {
        const char *p = strchr(line, ')'), *hash;
        unsigned long id;
        char *end;

        if (!p)
                return -EINVAL;
        p = strchr(p + 2, ' ');
        if (!p)
                return -EINVAL;
        p++;
        hash = strchr(p, '#');
        if (!hash)
                return -EINVAL;
        id = strtoul(p, &end, 16);
        if (end != hash)
                return -EINVAL;
        memset(f, 0, sizeof *f);
        f->can_id = (canid_t) id | (hash - p == 8 ? CAN_EFF_FLAG : 0);
        p = hash + 1;
        while (hexval(p[0]) >= 0 && hexval(p[1]) >= 0) {
                if (f->can_dlc >= CAN_MAX_DLEN)
                        return -EINVAL;
                f->data[f->can_dlc++] = (uint8_t) (hexval(p[0]) << 4 | hexval(p[1]));
                p += 2;
        }
        return 0;
}

static int load(const char *srcdir, const char *name, Frames *fs) {
        char path[4096], line[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/tests/component/core/transcripts/%s", srcdir, name);
        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "cannot open %s: %m\n", path);
                return -errno;
        }
        while (fgets(line, sizeof line, f)) {
                struct can_frame fr;
                if (line[0] == '\n' || line[0] == '#')
                        continue;
                if (parse_line(line, &fr) < 0 || frames_add(fs, &fr) < 0) {
                        fprintf(stderr, "%s: bad line %s", path, line);
                        fclose(f);
                        return -EINVAL;
                }
        }
        fclose(f);
        return 0;
}

static unsigned frame_type(const struct can_frame *f) {
        return (f->can_id & CAN_EFF_MASK) >> 8;
}

static unsigned frame_dest(const struct can_frame *f) {
        return f->can_id & 0xFF;
}

/* A frame vescd sent (to a controller), as opposed to one it received. */
static bool from_host(const struct can_frame *f) {
        switch (frame_type(f)) {
        case CAN_PACKET_PING:
        case CAN_PACKET_PROCESS_SHORT_BUFFER:
        case CAN_PACKET_PROCESS_RX_BUFFER:
                return f->can_dlc > 0 && f->data[0] == HOST_ID;
        case CAN_PACKET_FILL_RX_BUFFER:
        case CAN_PACKET_FILL_RX_BUFFER_LONG:
                return frame_dest(f) != HOST_ID;
        default:
                return false;
        }
}

/* A request the core makes by itself: discovery PINGs, identification. */
static bool core_request(const struct can_frame *f) {
        if (frame_type(f) == CAN_PACKET_PING)
                return true;
        return frame_type(f) == CAN_PACKET_PROCESS_SHORT_BUFFER && f->can_dlc >= 3 &&
               f->data[2] == COMM_FW_VERSION_CMD;
}

/* ------------------------------------------------------------------ replay */

#define CAN_PACKET_PONG 18

/* A request recorded in a transcript and the frames that answered it. */
typedef struct Exchange {
        size_t pos;                /* index of the request in the transcript */
        struct can_frame request;
        struct can_frame reply[64];
        size_t n_reply;
} Exchange;

typedef struct Replay {
        struct event_base *base;
        Daemon *daemon;
        Frames sent;       /* every frame the core wrote */
        size_t answered;   /* sent[] before this were looked at */
        Exchange *ex;
        size_t n_ex;
        size_t pos;        /* the transcript position fed so far */
        bool ready;
} Replay;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static bool same_frame(const struct can_frame *a, const struct can_frame *b) {
        return a->can_id == b->can_id && a->can_dlc == b->can_dlc && memcmp(a->data, b->data, a->can_dlc) == 0;
}

static void feed(const struct can_frame *f) {
        if (send(peer_fd, f, sizeof *f, MSG_NOSIGNAL) != (ssize_t) sizeof *f) {
                fprintf(stderr, "cannot feed a frame: %m\n");
                abort();
        }
}

/* The core asked f: answer as the controller did at this point of the
 * transcript -- the next recorded exchange of the same request at or after
 * the position fed so far, else the last one before it.  A request never
 * recorded goes unanswered. */
static void answer(Replay *r, const struct can_frame *f) {
        const Exchange *best = NULL;

        for (size_t i = 0; i < r->n_ex; i++) {
                const Exchange *e = &r->ex[i];
                if (!same_frame(&e->request, f))
                        continue;
                if (e->pos >= r->pos) {
                        best = e;
                        break;
                }
                best = e;
        }
        if (!best)
                return;
        for (size_t i = 0; i < best->n_reply; i++)
                feed(&best->reply[i]);
}

static void pump(Replay *r) {
        struct can_frame f;

        (void) event_base_loop(r->base, EVLOOP_NONBLOCK);
        while (recv(peer_fd, &f, sizeof f, 0) == (ssize_t) sizeof f)
                if (frames_add(&r->sent, &f) < 0)
                        abort();
        for (; r->answered < r->sent.n; r->answered++)
                if (core_request(&r->sent.v[r->answered]))
                        answer(r, &r->sent.v[r->answered]);
}

/* Is f (to vescd) the answer to the request to `to`? */
static bool answers(const struct can_frame *req, const struct can_frame *f, bool *last) {
        unsigned to = frame_dest(req);

        *last = false;
        if (frame_dest(f) != HOST_ID)
                return false;
        if (frame_type(req) == CAN_PACKET_PING) {
                *last = true;
                return frame_type(f) == CAN_PACKET_PONG && f->can_dlc >= 1 && f->data[0] == to;
        }
        switch (frame_type(f)) {
        case CAN_PACKET_FILL_RX_BUFFER:
        case CAN_PACKET_FILL_RX_BUFFER_LONG:
                return true;
        case CAN_PACKET_PROCESS_RX_BUFFER:
        case CAN_PACKET_PROCESS_SHORT_BUFFER:
                *last = true;
                return f->can_dlc >= 1 && f->data[0] == to;
        default:
                return false;
        }
}

/* Collect the core-style requests of a transcript and their answers; the
 * answers are marked (skip[]) so the timeline does not feed them again. */
static int index_exchanges(Replay *r, const Frames *fs, bool *skip) {
        for (size_t i = 0; i < fs->n; i++) {
                const struct can_frame *q = &fs->v[i];
                Exchange *e, *v;

                if (!from_host(q) || !core_request(q))
                        continue;
                v = realloc(r->ex, (r->n_ex + 1) * sizeof *v);
                if (!v)
                        return -ENOMEM;
                r->ex = v;
                e = &r->ex[r->n_ex++];
                memset(e, 0, sizeof *e);
                e->pos = i;
                e->request = *q;
                skip[i] = true;
                /* the answer follows before the next request to that id
                 * (the request engine asks one id one thing at a time) */
                for (size_t j = i + 1; j < fs->n && e->n_reply < ELEMENTSOF(e->reply); j++) {
                        const struct can_frame *f = &fs->v[j];
                        bool last;
                        if (from_host(f) && frame_dest(f) == frame_dest(q))
                                break;
                        if (skip[j] || !answers(q, f, &last))
                                continue;
                        e->reply[e->n_reply++] = *f;
                        skip[j] = true;
                        if (last)
                                break;
                }
        }
        return 0;
}

static int replay(Replay *r, const char *srcdir, const char *name) {
        _cleanup_free_ struct can_frame *v = NULL;
        _cleanup_free_ bool *skip = NULL;
        Frames fs = {};
        int k;

        k = load(srcdir, name, &fs);
        v = fs.v;
        if (k < 0)
                return k;
        skip = calloc(fs.n + 1, sizeof *skip);
        if (!skip)
                return -ENOMEM;
        free(r->ex);
        r->ex = NULL;
        r->n_ex = 0;
        k = index_exchanges(r, &fs, skip);
        if (k < 0)
                return k;
        for (size_t i = 0; i < fs.n; i++) {
                r->pos = i;
                if (!skip[i] && !from_host(&fs.v[i]))
                        feed(&fs.v[i]);
                pump(r);
        }
        r->pos = fs.n;
        return 0;
}

/* Run the core until it is idle: its scan is over and it sent nothing for
 * a while (bounded). */
static int settle(Replay *r) {
        uint64_t start = now_usec(), last = start;
        size_t n = r->sent.n;

        for (;;) {
                pump(r);
                if (r->sent.n != n) {
                        n = r->sent.n;
                        last = now_usec();
                }
                if (r->ready && !daemon_scanning(r->daemon) && now_usec() - last > 300 * 1000)
                        return 0;
                if (now_usec() - start > 20 * WAIT_USEC)
                        return -ETIMEDOUT;
                usleep(1000);
        }
}

static void on_ready(void *userdata, int error) {
        Replay *r = userdata;

        if (error < 0) {
                fprintf(stderr, "daemon_start: %s\n", strerror(-error));
                abort();
        }
        r->ready = true;
}

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
        static const char *const settings[][2] = {
                { "poll-rate-hz", "0" },
                { "rescan-interval-s", "0" },
                { "offline-timeout-ms", "600000" },
                { "forget-after-s", "86400" },
                { "time-scale", "0.1" },
        };
        char state_dir[] = "/tmp/vescd-replay.XXXXXX";
        Replay r = {};
        Config *c;
        json_t *got;
        int k;

        if (!mkdtemp(state_dir))
                return -errno;
        c = calloc(1, sizeof *c);
        if (!c || config_init_defaults(c) < 0)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (config_set(c, settings[i][0], settings[i][1]) < 0) {
                        fprintf(stderr, "config %s=%s refused\n", settings[i][0], settings[i][1]);
                        abort();
                }
        if (config_set(c, "state-dir", state_dir) < 0)
                abort();
        /* the configuration file accepts the kinds vescd offers; a test's
         * own kind goes into the field directly */
        free(c->transport);
        c->transport = strdup("replay:transcript");
        if (!c->transport)
                abort();
        r.base = event_base_new();
        if (!r.base)
                abort();
        k = daemon_new(r.base, c, &replay_kinds, &r.daemon);
        if (k < 0) {
                fprintf(stderr, "daemon_new: %s\n", strerror(-k));
                return k;
        }
        k = daemon_start(r.daemon, on_ready, &r);
        if (k < 0)
                return k;
        /* the own-id check first, as vescd started before the recording */
        for (uint64_t until = now_usec() + WAIT_USEC; !r.ready && now_usec() < until; usleep(1000))
                pump(&r);
        for (const char *const *t = transcripts; *t && k >= 0; t++) {
                k = replay(&r, srcdir, *t);
                if (k >= 0)
                        k = settle(&r);
                if (k >= 0)
                        fprintf(stderr, "# %s replayed (%zu frames from the core)\n", *t, r.sent.n);
        }
        if (k >= 0 && !r.ready) {
                fprintf(stderr, "the core never finished its own-id check\n");
                k = -ETIMEDOUT;
        }
        if (k >= 0) {
                got = snapshot(r.daemon);
                k = compare_golden(srcdir, golden, got);
                json_decref(got);
        }
        daemon_shutdown(r.daemon);
        daemon_free(r.daemon);
        event_base_free(r.base);
        close(peer_fd);
        peer_fd = -1;
        free(r.sent.v);
        free(r.ex);
        {
                char p[sizeof state_dir + 32];
                snprintf(p, sizeof p, "%s/board.json", state_dir);
                (void) unlink(p);
                (void) rmdir(state_dir);
        }
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
