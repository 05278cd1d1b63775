/* The replay (replay.h): the fake transport kind, transcripts, and feeding
 * them to the core; how a transcript is replayed is described at the top of
 * test-core-replay.c. */
#include <errno.h>
#include <event2/event.h>
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
#include "macro.h"
#include "replay.h"

#define HOST_ID 253
#define WAIT_USEC (5 * 1000 * 1000)

/* VESC CAN packet types (spec §3) the replay tells apart */
#define CAN_PACKET_FILL_RX_BUFFER 5
#define CAN_PACKET_FILL_RX_BUFFER_LONG 6
#define CAN_PACKET_PROCESS_RX_BUFFER 7
#define CAN_PACKET_PROCESS_SHORT_BUFFER 8
#define CAN_PACKET_PING 17
#define COMM_FW_VERSION_CMD 0

int replay_peer_fd = -1;

/* ---------------------------------------------------- the fake transport */

static int replay_open(Transport *t, const char *arg, uint8_t own_id) {
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        replay_peer_fd = sv[1];
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
const TransportKinds replay_kinds = { .ops = replay_kinds_ops, .n_ops = 1 };

/* ------------------------------------------------------------ transcripts */


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



uint64_t replay_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static bool same_frame(const struct can_frame *a, const struct can_frame *b) {
        return a->can_id == b->can_id && a->can_dlc == b->can_dlc && memcmp(a->data, b->data, a->can_dlc) == 0;
}

void replay_feed(const struct can_frame *f) {
        if (send(replay_peer_fd, f, sizeof *f, MSG_NOSIGNAL) != (ssize_t) sizeof *f) {
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
                replay_feed(&best->reply[i]);
}

void replay_pump(Replay *r) {
        struct can_frame f;

        (void) event_base_loop(r->base, EVLOOP_NONBLOCK);
        while (recv(replay_peer_fd, &f, sizeof f, 0) == (ssize_t) sizeof f)
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

int replay_transcript(Replay *r, const char *srcdir, const char *name) {
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
                        replay_feed(&fs.v[i]);
                replay_pump(r);
        }
        r->pos = fs.n;
        return 0;
}

/* Run the core until it is idle: its scan is over and it sent nothing for
 * a while (bounded). */
int replay_settle(Replay *r) {
        uint64_t start = replay_now_usec(), last = start;
        size_t n = r->sent.n;

        for (;;) {
                replay_pump(r);
                if (r->sent.n != n) {
                        n = r->sent.n;
                        last = replay_now_usec();
                }
                if (r->ready && !daemon_scanning(r->daemon) && replay_now_usec() - last > 300 * 1000)
                        return 0;
                if (replay_now_usec() - start > 20 * WAIT_USEC)
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

/**
 * replay_start() - a fresh core over the replay transport, past its own-id check
 * @r: zeroed
 *
 * Returns: 0 or -errno.
 */
int replay_start(Replay *r) {
        static const char *const settings[][2] = {
                { "poll-rate-hz", "0" },
                { "rescan-interval-s", "0" },
                { "offline-timeout-ms", "600000" },
                { "forget-after-s", "86400" },
                { "time-scale", "0.1" },
        };
        Config *c;
        int k;

        snprintf(r->state_dir, sizeof r->state_dir, "/tmp/vescd-replay.XXXXXX");
        if (!mkdtemp(r->state_dir))
                return -errno;
        c = calloc(1, sizeof *c);
        if (!c || config_init_defaults(c) < 0)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (config_set(c, settings[i][0], settings[i][1]) < 0) {
                        fprintf(stderr, "config %s=%s refused\n", settings[i][0], settings[i][1]);
                        abort();
                }
        if (config_set(c, "state-dir", r->state_dir) < 0)
                abort();
        /* the configuration file accepts the kinds vescd offers; a test's
         * own kind goes into the field directly */
        free(c->transport);
        c->transport = strdup("replay:transcript");
        if (!c->transport)
                abort();
        r->base = event_base_new();
        if (!r->base)
                abort();
        k = daemon_new(r->base, c, &replay_kinds, &r->daemon);
        if (k < 0) {
                fprintf(stderr, "daemon_new: %s\n", strerror(-k));
                return k;
        }
        k = daemon_start(r->daemon, on_ready, r);
        if (k < 0)
                return k;
        /* the own-id check first, as vescd started before the recording */
        for (uint64_t until = replay_now_usec() + WAIT_USEC; !r->ready && replay_now_usec() < until; usleep(1000))
                replay_pump(r);
        if (!r->ready) {
                fprintf(stderr, "the core never finished its own-id check\n");
                return -ETIMEDOUT;
        }
        return 0;
}

/**
 * replay_stop() - shut the core down, free the replay, remove its state dir
 * @r: the replay
 */
void replay_stop(Replay *r) {
        char p[sizeof r->state_dir + 32];

        if (r->daemon) {
                daemon_shutdown(r->daemon);
                daemon_free(r->daemon);
        }
        if (r->base)
                event_base_free(r->base);
        if (replay_peer_fd >= 0)
                close(replay_peer_fd);
        replay_peer_fd = -1;
        free(r->sent.v);
        free(r->ex);
        if (r->state_dir[0]) {
                snprintf(p, sizeof p, "%s/board.json", r->state_dir);
                (void) unlink(p);
                (void) rmdir(r->state_dir);
        }
        *r = (Replay) {};
}
