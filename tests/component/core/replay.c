/* The replay (replay.h): the core on a test clock, fed a recorded candump
 * transcript at its recorded times, its own frames checked against the
 * recording.
 *
 * Time.  The core takes `now` from the replay's clock (daemon_set_clock())
 * and arms no timers of its own; the replay moves the clock from event to
 * event -- the next frame to feed, the next request of the fake update
 * host, the core's next request deadline or housekeeping tick
 * (daemon_next_due()) -- and runs the core at each (daemon_run_due() and
 * the event loop until nothing moves).  Nothing depends on the wall clock:
 * liveness, back-off and timeouts run on transcript time, and a run gives
 * the same model every time.
 *
 * The session.  The transcripts of one recording session (e.g.
 * discovery.log, then update.log) are consecutive slices of one dump; their
 * time stamps continue, and the replay joins them: session time 0 is the
 * first transcript's first frame.  The core is started (daemon_start())
 * at the first frame vescd sent (its own-id PING); frames recorded before
 * are left out (vescd was not on the bus yet).
 *
 * What the controllers sent is fed as follows.  A reply (PONG, or the
 * FILL_RX_BUFFER ... PROCESS_RX_BUFFER / PROCESS_SHORT_BUFFER frames that
 * answer a request: to vescd's id 253, from the id the request went to,
 * before the next request to that id) is fed when the core sends that
 * request, at the recorded delay after it; everything else (status
 * broadcasts, late replies, answers to nothing) at its recorded time.
 *
 * What vescd sent is what the core must send, in order per CAN id: every
 * frame the core writes is matched with the first frame vescd sent with
 * the same CAN id that no earlier frame of the core matched, and must have
 * its data and be sent within REPLAY_WINDOW_USEC (session time) of it.  A
 * frame of the core with no such recorded frame is an error; so is a
 * recorded frame the core has not sent REPLAY_WINDOW_USEC after its
 * recorded time.  Every error is printed and counted (Replay.mismatches).
 * The allowed variations:
 *   - timing within the window: the core runs exactly on its timeouts
 *     (a scan's PINGs every 10 ms of test time), vescd on a loaded machine
 *     did not (its scan fell behind by some 0.4 ms a PING), and vescd
 *     heard a status frame just before its start that the replay leaves
 *     out (the first identification is a status frame later);
 *   - frames vescd sent in the last REPLAY_WINDOW_USEC of the last
 *     transcript (the recording stops while they are due), and frames of
 *     the core in that stretch that the recording does not have yet;
 *   - the core's own GET_VALUES polls (poll-rate-hz) are matched by
 *     number, not one by one: vescd's housekeeping tick (20 ms) ran a
 *     little late or early on the recording machine, so a 200 ms period
 *     came out as 200 or 220 ms there, while the replay's tick is exact.
 *     A poll is answered at once with the frames that answered the
 *     recorded poll to that id nearest in time; per id the core must send
 *     at least as many polls as were recorded and at most 1/8 more + 2.
 *     A GET_VALUES the core sends where the job's recorded one is next is
 *     taken as the job's (so a poll under the job's hold shows up as a
 *     mismatch later).
 *
 * The fake update host.  An update transcript (replay_transcript_job())
 * recorded a firmware job next to the core.  The replay plays the job's
 * side as the firmware manager's UpdateHost (update-manager.c) would
 * connect it to the core: at the recorded times it takes the job's
 * exclusive hold on the controller (the core's polling pauses), marks the
 * controller updating for the board view, sends the job's requests
 * through the core's request engine (request_send(), as host->request
 * does; payloads taken from the recorded frames), passes every
 * COMM_FW_VERSION reply to daemon_feed_fw_version() (host->identified),
 * starts the scan the job asked for (daemon_scan(), as host->scan: a PING
 * to id 0 after the start-up scan) and lets the hold go after the job's
 * last request.  Its other replies (flash acks, configuration backups,
 * the job's telemetry checks) complete its requests and are not looked
 * at: they are the job's business, not the core's.  The job's frames are
 * checked like the core's own. */
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
#include "core/controller.h"
#include "core/daemon.h"
#include "core/hold.h"
#include "core/log.h"
#include "core/request.h"
#include "macro.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"
#include "replay.h"
#include "vbus-frame.h"

#define HOST_ID 253
#define WAIT_USEC (5 * 1000 * 1000)
/* See the top: how far the core's frames may move from the recorded ones. */
#define REPLAY_WINDOW_USEC (250 * 1000)
/* Mismatches printed at most (the count is complete). */
#define REPLAY_PRINT_MAX 20

int replay_peer_fd = -1;

/* ---------------------------------------------------- the fake transport */

static int replay_open(Transport *t, const char *arg, uint8_t own_id) {
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        /* room for what a stall leaves waiting (more than one read slice,
         * TRANSPORT_READ_SLICE): the default holds some 270 frames */
        (void) setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int) { 1 << 20 }, sizeof(int));
        replay_peer_fd = sv[1];
        return sv[0];
}

/* every frame waiting, up to a batch, as the real transports read them */
static int replay_read(Transport *t, void *state, struct can_frame **ret) {
        struct can_frame *buf = state;
        int n = 0;

        while (n < TRANSPORT_RX_BATCH) {
                ssize_t r = recv(transport_fd(t), &buf[n], sizeof buf[n], 0);

                if (r < 0) {
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                if (r == 0)
                        return -ECONNRESET;
                if (r != (ssize_t) sizeof buf[n])
                        return -EBADMSG;
                n++;
        }
        *ret = buf;
        return n;
}

static int replay_write(Transport *t, const struct can_frame *f) {
        if (send(transport_fd(t), f, sizeof *f, MSG_NOSIGNAL) < 0)
                return errno == EAGAIN || errno == ENOBUFS ? -EAGAIN : -errno;
        return 0;
}

static const TransportOps replay_ops = {
        .kind = "replay",
        .state_size = TRANSPORT_RX_BATCH * sizeof(struct can_frame),
        .open = replay_open,
        .read = replay_read,
        .write = replay_write,
};
static const TransportOps *const replay_kinds_ops[] = { &replay_ops };
const TransportKinds replay_kinds = { .ops = replay_kinds_ops, .n_ops = 1 };

/* ---------------------------------------------------------------- frames */

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

static unsigned frame_type(const struct can_frame *f) {
        return (f->can_id & CAN_EFF_MASK) >> 8;
}

static unsigned frame_dest(const struct can_frame *f) {
        return f->can_id & 0xFF;
}

static bool same_frame(const struct can_frame *a, const struct can_frame *b) {
        return a->can_id == b->can_id && a->can_dlc == b->can_dlc && memcmp(a->data, b->data, a->can_dlc) == 0;
}

static const char *frame_text(const struct can_frame *f, char buf[static 40]) {
        int n = snprintf(buf, 40, "%08X#", f->can_id & CAN_EFF_MASK);

        for (unsigned i = 0; i < f->can_dlc && n < 38; i++)
                n += snprintf(buf + n, (size_t) (40 - n), "%02X", f->data[i]);
        return buf;
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

/* The last frame of a request of vescd's (FILL frames come before it). */
static bool request_end(const struct can_frame *f) {
        return frame_type(f) == CAN_PACKET_PING || frame_type(f) == CAN_PACKET_PROCESS_SHORT_BUFFER ||
               frame_type(f) == CAN_PACKET_PROCESS_RX_BUFFER;
}

/* Send mode 0 (process and reply) or a PING: an answer is expected. */
static bool wants_reply(const struct can_frame *f) {
        return frame_type(f) == CAN_PACKET_PING || (f->can_dlc >= 2 && f->data[1] == 0);
}

/* "(1700000000.123456) vbus 0000090A#0102" -> µs, frame (can-utils'
 * syntax, as vbus-dump writes it: sim/vbus-frame.c); -EINVAL */
static int parse_line(const char *line, uint64_t *ret_usec, struct can_frame *f) {
        unsigned long long sec, usec;
        char *end, text[64];
        const char *p;
        size_t n;

        if (line[0] != '(')
                return -EINVAL;
        sec = strtoull(line + 1, &end, 10);
        if (*end != '.')
                return -EINVAL;
        p = end + 1;
        usec = strtoull(p, &end, 10);
        if (*end != ')' || end - p != 6)
                return -EINVAL;
        *ret_usec = sec * 1000000ull + usec;
        p = strchr(end + 2, ' ');
        if (!p)
                return -EINVAL;
        p++;
        n = strcspn(p, " \r\n");
        if (n >= sizeof text)
                return -EINVAL;
        memcpy(text, p, n);
        text[n] = '\0';
        return vbus_frame_parse(text, f);
}

/* Append the frames of a transcript to the session's. */
static int load(Replay *r, const char *srcdir, const char *name) {
        char path[4096], line[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/tests/component/core/transcripts/%s", srcdir, name);
        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "cannot open %s: %m\n", path);
                return -errno;
        }
        while (fgets(line, sizeof line, f)) {
                ReplayFrame fr = { .feed_at = UINT64_MAX, .req = -1 };
                uint64_t usec;

                if (line[0] == '\n' || line[0] == '#')
                        continue;
                if (parse_line(line, &usec, &fr.f) < 0) {
                        fprintf(stderr, "%s: bad line %s", path, line);
                        fclose(f);
                        return -EINVAL;
                }
                if (!r->have_t0) {
                        r->have_t0 = true;
                        r->t0 = usec;
                }
                if (usec < r->t0 || (r->n_fr > 0 && usec - r->t0 < r->fr[r->n_fr - 1].t)) {
                        fprintf(stderr, "%s: time goes back at %s", path, line);
                        fclose(f);
                        return -EINVAL;
                }
                fr.t = usec - r->t0;
                fr.host = from_host(&fr.f);
                ReplayFrame *v = realloc(r->fr, (r->n_fr + 1) * sizeof *v);
                if (!v) {
                        fclose(f);
                        return -ENOMEM;
                }
                r->fr = v;
                r->fr[r->n_fr++] = fr;
        }
        fclose(f);
        return 0;
}

/* ------------------------------------------------------ requests, replies */

/* Frames [from, to) answering request q (ending at frame e): claim them. */
static void claim_reply(Replay *r, int q, size_t e) {
        const struct can_frame *req = &r->fr[e].f;
        unsigned to = frame_dest(req);
        size_t fill_from = e + 1;

        for (size_t j = e + 1; j < r->n_fr; j++) {
                ReplayFrame *x = &r->fr[j];
                unsigned type = frame_type(&x->f);

                if (x->host) {
                        if (request_end(&x->f) && frame_dest(&x->f) == to)
                                return;  /* the next request to that id */
                        continue;
                }
                if (x->req >= 0 || frame_dest(&x->f) != HOST_ID)
                        continue;
                if (frame_type(req) == CAN_PACKET_PING) {
                        if (type == CAN_PACKET_PONG && x->f.can_dlc >= 1 && x->f.data[0] == to) {
                                x->req = q;
                                return;
                        }
                        continue;
                }
                if (type == CAN_PACKET_PROCESS_SHORT_BUFFER && x->f.can_dlc >= 1 && x->f.data[0] == to) {
                        x->req = q;
                        return;
                }
                if (type != CAN_PACKET_PROCESS_RX_BUFFER)
                        continue;
                if (x->f.can_dlc < 1 || x->f.data[0] != to) {
                        /* another controller's long reply ended here */
                        fill_from = j + 1;
                        continue;
                }
                /* the buffer frames since the previous long reply ended
                 * (one long reply is on the bus at a time) */
                for (size_t k = fill_from; k < j; k++) {
                        ReplayFrame *y = &r->fr[k];
                        unsigned t = frame_type(&y->f);
                        if (!y->host && y->req < 0 && frame_dest(&y->f) == HOST_ID &&
                            (t == CAN_PACKET_FILL_RX_BUFFER || t == CAN_PACKET_FILL_RX_BUFFER_LONG))
                                y->req = q;
                }
                x->req = q;
                return;
        }
}

/* (Re)build the requests of the session's frames and their replies.
 * Frames keep what already happened to them (done, feed_at); requests
 * are found again in the same order, so rq[i] stays the same request. */
static int index_requests(Replay *r) {
        _cleanup_free_ ReplayRequest *old = r->rq;
        size_t n_old = r->n_rq;
        size_t pending[256] = {};   /* per id: 1 + the first FILL frame of the request being built */

        r->rq = NULL;
        r->n_rq = 0;
        for (size_t i = 0; i < r->n_fr; i++)
                r->fr[i].req = -1;
        for (size_t i = 0; i < r->n_fr; i++) {
                ReplayFrame *x = &r->fr[i];
                unsigned to = frame_dest(&x->f);
                ReplayRequest *v;

                if (!x->host)
                        continue;
                if (!request_end(&x->f)) {
                        if (!pending[to])
                                pending[to] = i + 1;
                        continue;
                }
                v = realloc(r->rq, (r->n_rq + 1) * sizeof *v);
                if (!v)
                        return -ENOMEM;
                r->rq = v;
                v = &r->rq[r->n_rq];
                *v = (ReplayRequest) {
                        .first = frame_type(&x->f) == CAN_PACKET_PROCESS_RX_BUFFER && pending[to] ? pending[to] - 1 : i,
                        .last = i,
                };
                if (r->n_rq < n_old) {
                        v->job = old[r->n_rq].job;
                        v->issued = old[r->n_rq].issued;
                        v->scan = old[r->n_rq].scan;
                        v->poll = old[r->n_rq].poll;
                }
                pending[to] = 0;
                for (size_t k = v->first; k <= i; k++)
                        r->fr[k].req = (int) r->n_rq;
                r->n_rq++;
        }
        for (size_t q = 0; q < r->n_rq; q++) {
                size_t e = r->rq[q].last;
                if (wants_reply(&r->fr[e].f))
                        claim_reply(r, (int) q, e);
        }
        /* a reply found only now (it was recorded in this transcript, its
         * request in the one before) to a request the core already sent:
         * fed at its recorded time */
        for (size_t i = 0; i < r->n_fr; i++) {
                ReplayFrame *x = &r->fr[i];
                if (!x->host && !x->done && x->req >= 0 && r->fr[r->rq[x->req].last].done)
                        x->feed_at = x->t;
        }
        return 0;
}

static bool job_id(const ReplayJob *job, unsigned id) {
        for (size_t i = 0; i < job->n_ids; i++)
                if (job->ids[i] == id)
                        return true;
        return false;
}

/* The job's requests among the frames from @from: see ReplayJob. */
static int mark_job(Replay *r, size_t from, const ReplayJob *job) {
        bool have_start = false, have_end = false;

        for (size_t q = 0; q < r->n_rq; q++) {
                const struct can_frame *f = &r->fr[r->rq[q].last].f;
                /* the job sends no PINGs: those are the core's scans */
                if (r->rq[q].last < from || !job_id(job, frame_dest(f)) || frame_type(f) == CAN_PACKET_PING)
                        continue;
                if (!have_start) {
                        have_start = true;
                        r->job_start = r->fr[r->rq[q].first].t;
                }
                if (frame_type(f) == CAN_PACKET_PROCESS_SHORT_BUFFER && f->can_dlc >= 3 &&
                    f->data[2] == COMM_APP_DISABLE_OUTPUT) {
                        have_end = true;
                        r->job_end = r->fr[r->rq[q].first].t;
                }
        }
        if (!have_start || !have_end) {
                fprintf(stderr, "the transcript holds no job to ids %u...\n", job->ids[0]);
                return -EINVAL;
        }
        for (size_t q = 0; q < r->n_rq; q++) {
                ReplayRequest *rq = &r->rq[q];
                uint64_t t = r->fr[rq->first].t;
                if (rq->last >= from && job_id(job, frame_dest(&r->fr[rq->last].f)) && t >= r->job_start &&
                    t <= r->job_end && frame_type(&r->fr[rq->last].f) != CAN_PACKET_PING)
                        rq->job = true;
        }
        return 0;
}

static bool is_get_values(const struct can_frame *f) {
        return frame_type(f) == CAN_PACKET_PROCESS_SHORT_BUFFER && f->can_dlc == 3 && f->data[0] == HOST_ID &&
               f->data[1] == 0 && f->data[2] == COMM_GET_VALUES;
}

/* The core's own polls among the requests from frame @from: see the top. */
static void mark_polls(Replay *r, size_t from) {
        for (size_t q = 0; q < r->n_rq; q++) {
                ReplayFrame *x = &r->fr[r->rq[q].last];
                if (r->rq[q].last < from || r->rq[q].job || !is_get_values(&x->f))
                        continue;
                r->rq[q].poll = true;
                x->done = true;
                r->polls_recorded[frame_dest(&x->f)]++;
        }
}

/* A scan's first PING after the start-up scan: the job asked for it. */
static void mark_scans(Replay *r, size_t from) {
        for (size_t q = 0; q < r->n_rq; q++) {
                const struct can_frame *f = &r->fr[r->rq[q].last].f;
                if (r->rq[q].last < from || frame_type(f) != CAN_PACKET_PING || frame_dest(f) != 0)
                        continue;
                if (r->scans++ > 0)
                        r->rq[q].scan = true;
        }
}

/* ------------------------------------------------------------- the clock */

static uint64_t replay_clock(void *userdata) {
        Replay *r = userdata;

        if (r->live)
                r->now = r->live_clock0 + (replay_now_usec() - r->live_real0);
        return r->now;
}

uint64_t replay_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int replay_start_with(Replay *r, const char *srcdir, const char *name) {
        int k = replay_start(r);

        if (k >= 0)
                k = replay_transcript(r, srcdir, name);
        if (k < 0) {
                fprintf(stderr, "replay of %s: %s\n", name, strerror(-k));
                replay_stop(r);
                return k;
        }
        replay_pump(r);
        return 0;
}

bool replay_pump_until(Replay *r, ReplayCondFn cond, void *userdata) {
        uint64_t end = replay_now_usec() + REPLAY_WAIT_MAX_USEC;

        while (!cond(r, userdata)) {
                if (replay_now_usec() > end)
                        return false;
                replay_pump(r);
                usleep(1000);
        }
        return true;
}

bool replay_board_is(Replay *r, void *userdata) {
        return daemon_board(r->daemon)->state == *(const BoardState *) userdata;
}

bool replay_is_get_values_to(const struct can_frame *f, uint8_t id) {
        return (f->can_id & CAN_EFF_MASK) == (((uint32_t) CAN_PACKET_PROCESS_SHORT_BUFFER << 8) | id) &&
               f->can_dlc >= 3 && f->data[2] == COMM_GET_VALUES;
}

size_t replay_count_get_values(const Replay *r, size_t from, uint8_t id) {
        size_t n = 0;

        for (size_t i = from; i < r->sent.n; i++)
                n += replay_is_get_values_to(&r->sent.v[i], id);
        return n;
}

void replay_states_note(ReplayStates *s, BoardState state) {
        if (s->n < ELEMENTSOF(s->v))
                snprintf(s->v[s->n++], sizeof s->v[0], "%s", board_state_to_string(state));
}

void replay_on_board_changed(void *userdata, const Board *b) {
        replay_states_note(userdata, b->state);
}

const char *replay_states_text(const ReplayStates *s) {
        static char buf[1024];
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < s->n && n < sizeof buf - 20; i++)
                n += (size_t) snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", s->v[i]);
        return buf;
}

static uint64_t session_now(const Replay *r) {
        return r->now - REPLAY_EPOCH_USEC;
}

void replay_feed(const struct can_frame *f) {
        if (send(replay_peer_fd, f, sizeof *f, MSG_NOSIGNAL) != (ssize_t) sizeof *f) {
                fprintf(stderr, "cannot feed a frame: %m\n");
                abort();
        }
}

/* ------------------------------------------------------ the fake job host */

static void on_job_reply(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Replay *r = userdata;

        /* host->identified: the model learns from the job's IDENTIFY */
        if (error == 0 && reply && len > 0 && reply[0] == COMM_FW_VERSION && r->daemon)
                daemon_feed_fw_version(r->daemon, replier, reply, len);
}

static bool job_updating(void *userdata, const uint8_t uuid[static 12]) {
        Replay *r = userdata;
        uint8_t u[12];

        if (!r->job_hold || !r->job || controller_parse_uuid(r->job->uuid, u) < 0)
                return false;
        return memcmp(u, uuid, 12) == 0;
}

static int job_hold(Replay *r, bool on) {
        uint8_t u[12];

        if (!on) {
                r->job_hold = hold_release(r->job_hold);
                daemon_board_update(r->daemon);
                return 0;
        }
        if (controller_parse_uuid(r->job->uuid, u) < 0)
                return -EINVAL;
        int k = hold_acquire(daemon_holds(r->daemon), u, HOLD_EXCLUSIVE, false,
                             &(HoldOwner) { .text = "is being updated by the replayed job" }, &r->job_hold, NULL);
        if (k < 0)
                return k;
        daemon_set_updating_query(r->daemon, job_updating, r);
        daemon_board_update(r->daemon);
        return 0;
}

/* Send the recorded request q through the core's request engine, as the
 * job's host->request did. */
static int job_request(Replay *r, size_t q) {
        const ReplayRequest *rq = &r->rq[q];
        const struct can_frame *e = &r->fr[rq->last].f;
        uint8_t buf[VESC_BUFFER_MAX];
        RequestParams p = {
                .dest = (uint8_t) frame_dest(e),
                .reply_cmd = -1,
                .done = on_job_reply,
                .userdata = r,
        };
        const ReplayFrame *reply_end = NULL;

        for (size_t j = rq->last + 1; j < r->n_fr; j++)
                if (!r->fr[j].host && r->fr[j].req == (int) q && request_end(&r->fr[j].f))
                        reply_end = &r->fr[j];
        switch (frame_type(e)) {
        case CAN_PACKET_PING:
                p.reply = REQUEST_PING;
                break;
        case CAN_PACKET_PROCESS_SHORT_BUFFER:
                if (e->can_dlc < 3)
                        return -EINVAL;
                memcpy(buf, e->data + 2, e->can_dlc - 2);
                p.len = e->can_dlc - 2u;
                break;
        case CAN_PACKET_PROCESS_RX_BUFFER:
                if (e->can_dlc < 6)
                        return -EINVAL;
                p.len = (size_t) e->data[2] << 8 | e->data[3];
                if (p.len > sizeof buf)
                        return -EINVAL;
                for (size_t k = rq->first; k < rq->last; k++) {
                        const struct can_frame *f = &r->fr[k].f;
                        size_t off, hdr = frame_type(f) == CAN_PACKET_FILL_RX_BUFFER_LONG ? 2 : 1;
                        if (f->can_dlc < hdr)
                                return -EINVAL;
                        off = hdr == 2 ? (size_t) f->data[0] << 8 | f->data[1] : f->data[0];
                        if (off + f->can_dlc - hdr > sizeof buf)
                                return -EINVAL;
                        memcpy(buf + off, f->data + hdr, f->can_dlc - hdr);
                }
                break;
        default:
                return -EINVAL;
        }
        if (p.reply != REQUEST_PING) {
                p.payload = buf;
                if (e->data[1] == 2)
                        p.reply = REQUEST_REPLY_NONE;
                else if (reply_end)
                        p.reply = frame_type(&reply_end->f) == CAN_PACKET_PROCESS_SHORT_BUFFER ? REQUEST_REPLY_SHORT
                                                                                               : REQUEST_REPLY_LONG;
                else
                        p.reply = buf[0] == COMM_FW_VERSION || buf[0] == COMM_GET_VALUES ? REQUEST_REPLY_LONG
                                                                                         : REQUEST_REPLY_SHORT;
                /* the job's IDENTIFY waits 150 ms (nominal) for an answer */
                p.timeout_usec = p.reply == REQUEST_REPLY_LONG ? 150 * 1000 : 3 * 1000 * 1000;
        }
        return request_send(daemon_requests(r->daemon), &p, daemon_now(), NULL);
}

/* ------------------------------------------------------------- the replay */

/* @recorded_t: the recorded frame's time, UINT64_MAX for a frame of the core's */
static void mismatch(Replay *r, const struct can_frame *f, uint64_t recorded_t) {
        char b[40];

        if (r->mismatches++ >= REPLAY_PRINT_MAX)
                return;
        if (recorded_t == UINT64_MAX)
                fprintf(stderr, "MISMATCH at %.6f s: the core sent %s, which the recording does not have then\n",
                        session_now(r) / 1e6, frame_text(f, b));
        else
                fprintf(stderr, "MISMATCH at %.6f s: the core did not send %s in time (recorded at %.6f s)\n",
                        session_now(r) / 1e6, frame_text(f, b), recorded_t / 1e6);
}

/* A frame the core sent: the recorded one it is (the first one vescd sent
 * with that CAN id that no earlier frame of the core matched), and its
 * replies. */
/* The core polled: answer as the recorded poll to that id nearest in time. */
static void answer_poll(Replay *r, const struct can_frame *f) {
        uint64_t now = session_now(r), best_d = UINT64_MAX;
        int best = -1;
        char b[40];

        r->polls_sent[frame_dest(f)]++;
        for (size_t q = 0; q < r->n_rq; q++) {
                const ReplayFrame *x = &r->fr[r->rq[q].last];
                uint64_t d = x->t > now ? x->t - now : now - x->t;
                if (r->rq[q].poll && x->f.can_id == f->can_id && d < best_d) {
                        best_d = d;
                        best = (int) q;
                }
        }
        if (getenv("REPLAY_TRACE"))
                fprintf(stderr, "# %.6f poll %s, answered as the one recorded at %.6f\n", now / 1e6, frame_text(f, b),
                        best >= 0 ? r->fr[r->rq[best].last].t / 1e6 : -1.0);
        if (best < 0)
                return;
        for (size_t k = r->rq[best].last + 1; k < r->n_fr; k++)
                if (!r->fr[k].host && r->fr[k].req == best)
                        replay_feed(&r->fr[k].f);
}

static void match_sent(Replay *r, const struct can_frame *f) {
        uint64_t now = session_now(r);
        char b[40], c[40];

        for (size_t j = r->lo; j < r->n_fr; j++) {
                ReplayFrame *x = &r->fr[j];
                if (x->t > now + REPLAY_WINDOW_USEC)
                        break;
                if (!x->host || x->done || x->f.can_id != f->can_id)
                        continue;
                if (is_get_values(f) && !same_frame(&x->f, f))
                        break;  /* a poll */
                x->done = true;
                if (getenv("REPLAY_TRACE"))
                        fprintf(stderr, "# %.6f sent %s, recorded at %.6f%s\n", now / 1e6, frame_text(f, b),
                                x->t / 1e6, x->req >= 0 && r->rq[x->req].job ? " (job)" : "");
                if (!same_frame(&x->f, f)) {
                        if (r->mismatches++ < REPLAY_PRINT_MAX)
                                fprintf(stderr, "MISMATCH at %.6f s: the core sent %s where the recording has %s "
                                        "(at %.6f s)\n", now / 1e6, frame_text(f, b), frame_text(&x->f, c), x->t / 1e6);
                        return;
                }
                if (x->t + REPLAY_WINDOW_USEC < now)
                        mismatch(r, &x->f, x->t);
                if (x->req >= 0 && r->rq[x->req].last == j)
                        for (size_t k = j + 1; k < r->n_fr; k++)
                                if (!r->fr[k].host && r->fr[k].req == x->req && !r->fr[k].done)
                                        r->fr[k].feed_at = now + (r->fr[k].t - x->t);
                return;
        }
        if (is_get_values(f)) {
                answer_poll(r, f);
                return;
        }
        /* the recording stops before it has this frame */
        if (now + REPLAY_WINDOW_USEC > r->fr[r->n_fr - 1].t)
                return;
        mismatch(r, f, UINT64_MAX);
}

/* Live (after the transcripts): answer as the recording's last exchange
 * of the same request did, at once. */
static void answer_live(Replay *r, const struct can_frame *f) {
        int best = -1;

        if (r->live_mute[f->can_id & 0xFF])
                return;
        for (size_t q = 0; q < r->n_rq; q++)
                if (same_frame(&r->fr[r->rq[q].last].f, f))
                        best = (int) q;
        if (best < 0)
                return;
        for (size_t k = r->rq[best].last + 1; k < r->n_fr; k++)
                if (!r->fr[k].host && r->fr[k].req == best)
                        replay_feed(&r->fr[k].f);
}

/* Take what the core wrote.  Returns whether there was anything. */
static bool drain(Replay *r) {
        struct can_frame f;
        bool any = false;

        while (recv(replay_peer_fd, &f, sizeof f, 0) == (ssize_t) sizeof f) {
                if (frames_add(&r->sent, &f) < 0)
                        abort();
                any = true;
        }
        for (; r->looked < r->sent.n; r->looked++) {
                if (r->live)
                        answer_live(r, &r->sent.v[r->looked]);
                else
                        match_sent(r, &r->sent.v[r->looked]);
        }
        return any;
}

static void on_ready(void *userdata, int error) {
        Replay *r = userdata;

        if (error < 0) {
                fprintf(stderr, "daemon_start: %s\n", strerror(-error));
                abort();
        }
        r->ready = true;
}

/* Everything due at the clock's time, until nothing moves. */
static int run_moment(Replay *r) {
        uint64_t now = session_now(r);
        bool moved;
        int k;

        for (unsigned guard = 0;; guard++) {
                moved = false;
                if (guard > 10000) {
                        fprintf(stderr, "the core never settles at %.6f s\n", now / 1e6);
                        return -ELOOP;
                }
                if (!r->started) {
                        size_t i = 0;
                        while (i < r->n_fr && !r->fr[i].host)
                                i++;
                        if (i < r->n_fr && r->fr[i].t <= now) {
                                r->started = true;
                                k = daemon_start(r->daemon, on_ready, r);
                                if (k < 0)
                                        return k;
                                moved = true;
                        }
                }
                for (size_t j = r->lo; j < r->n_fr; j++) {
                        ReplayFrame *x = &r->fr[j];
                        if (x->t > now + 10 * REPLAY_WINDOW_USEC)
                                break;
                        if (x->host || x->done)
                                continue;
                        if (!r->started) {
                                if (x->t <= now)
                                        x->done = true;  /* vescd was not on the bus yet */
                                continue;
                        }
                        if (x->req < 0 && x->feed_at == UINT64_MAX)
                                x->feed_at = x->t;
                        if (x->feed_at <= now) {
                                x->done = true;
                                if (getenv("REPLAY_TRACE")) {
                                        char b[40];
                                        fprintf(stderr, "# %.6f fed %s, recorded at %.6f\n", now / 1e6,
                                                frame_text(&x->f, b), x->t / 1e6);
                                }
                                replay_feed(&x->f);
                                moved = true;
                        }
                }
                if (r->job && !r->job_hold && !r->job_over && r->job_start <= now) {
                        k = job_hold(r, true);
                        if (k < 0)
                                return k;
                }
                for (size_t q = 0; q < r->n_rq; q++) {
                        ReplayRequest *rq = &r->rq[q];
                        if (rq->issued || r->fr[rq->first].t > now)
                                continue;
                        if (rq->scan) {
                                rq->issued = true;
                                if (!daemon_scanning(r->daemon))
                                        (void) daemon_scan(r->daemon);
                                moved = true;
                        }
                        if (!rq->job)
                                continue;
                        rq->issued = true;
                        k = job_request(r, q);
                        if (k < 0)
                                return k;
                        moved = true;
                }
                if (r->job_hold && now >= r->job_end) {
                        /* the job ends with its last request (APP_DISABLE_OUTPUT 0, no reply) */
                        (void) job_hold(r, false);
                        r->job_over = true;
                        moved = true;
                }
                daemon_run_due(r->daemon);
                for (int i = 0; i < 3; i++)
                        (void) event_base_loop(r->base, EVLOOP_NONBLOCK);
                if (drain(r))
                        moved = true;
                if (!moved)
                        break;
        }
        /* recorded frames the core should have sent by now */
        for (size_t j = r->lo; j < r->n_fr; j++) {
                ReplayFrame *x = &r->fr[j];
                if (x->t + REPLAY_WINDOW_USEC >= now)
                        break;
                if (x->host && !x->done) {
                        x->done = true;
                        mismatch(r, &x->f, x->t);
                }
        }
        while (r->lo < r->n_fr && r->fr[r->lo].done)
                r->lo++;
        if (r->step)
                r->step(r->step_userdata, now);
        return 0;
}

/* The session time of the next thing to happen after now. */
static uint64_t next_moment(Replay *r, uint64_t end) {
        uint64_t now = session_now(r), next = end, due;

        for (size_t j = r->lo; j < r->n_fr; j++) {
                const ReplayFrame *x = &r->fr[j];
                if (x->t > next + 10 * REPLAY_WINDOW_USEC)
                        break;
                if (x->done)
                        continue;
                if (x->host && !r->started)
                        next = MIN(next, x->t);
                if (!x->host && x->feed_at != UINT64_MAX)
                        next = MIN(next, x->feed_at);
                else if (!x->host && x->req < 0)
                        next = MIN(next, x->t);
                else if (x->host)
                        next = MIN(next, x->t + REPLAY_WINDOW_USEC + 1);
        }
        for (size_t q = 0; q < r->n_rq; q++)
                if (!r->rq[q].issued && (r->rq[q].job || r->rq[q].scan))
                        next = MIN(next, r->fr[r->rq[q].first].t);
        if (r->job && !r->job_hold && !r->job_over && now < r->job_start)
                next = MIN(next, r->job_start);
        due = daemon_next_due(r->daemon);
        if (due != UINT64_MAX)
                next = MIN(next, due > REPLAY_EPOCH_USEC ? due - REPLAY_EPOCH_USEC : 0);
        return next > now ? next : now + 1;
}

/**
 * replay_load() - add a transcript to the session
 * @r: the replay
 * @srcdir: the source tree
 * @name: file in tests/component/core/transcripts/
 * @job: the update it recorded (borrowed, must outlive the replay), or NULL
 * @ret_end: receives its last frame's session time (may be NULL)
 *
 * Returns: 0 or -errno.
 */
int replay_load(Replay *r, const char *srcdir, const char *name, const ReplayJob *job, uint64_t *ret_end) {
        size_t from = r->n_fr;
        int k;

        if (r->live) {
                fprintf(stderr, "a transcript after the replay went live\n");
                return -EINVAL;
        }
        k = load(r, srcdir, name);
        if (k >= 0)
                k = index_requests(r);
        if (k < 0)
                return k;
        if (r->n_fr == from) {
                fprintf(stderr, "%s is empty\n", name);
                return -EINVAL;
        }
        mark_scans(r, from);
        if (job) {
                if (r->job) {
                        fprintf(stderr, "one job per session\n");
                        return -EINVAL;
                }
                r->job = job;
                k = mark_job(r, from, job);
                if (k < 0)
                        return k;
        }
        mark_polls(r, from);
        if (ret_end)
                *ret_end = r->fr[r->n_fr - 1].t;
        return 0;
}

/**
 * replay_run_until() - replay the loaded transcripts up to a session time
 * @r: the replay
 * @end: session time (µs) to stop at (the clock is there then)
 *
 * Returns: -EBADMSG when the core's frames differed from the recording
 * (printed) in this stretch, else 0 or -errno.
 */
int replay_run_until(Replay *r, uint64_t end) {
        unsigned before = r->mismatches;
        int k;

        for (;;) {
                k = run_moment(r);
                if (k < 0)
                        return k;
                if (session_now(r) >= end)
                        break;
                r->now = REPLAY_EPOCH_USEC + MIN(next_moment(r, end), end);
        }
        if (end >= r->fr[r->n_fr - 1].t)
                for (unsigned id = 0; id < 256; id++) {
                        unsigned want = r->polls_recorded[id], got = r->polls_sent[id];
                        if (getenv("REPLAY_TRACE") && (want || got))
                                fprintf(stderr, "# polls of id %u: %u recorded, %u sent\n", id, want, got);
                        if (got < want || got > want + want / 8 + 2) {
                                fprintf(stderr, "MISMATCH: the core polled id %u %u times, the recording has %u\n", id,
                                        got, want);
                                r->mismatches++;
                        }
                }
        return r->mismatches > before ? -EBADMSG : 0;
}

int replay_transcript_job(Replay *r, const char *srcdir, const char *name, const ReplayJob *job) {
        uint64_t end;
        int k = replay_load(r, srcdir, name, job, &end);

        return k < 0 ? k : replay_run_until(r, end);
}

int replay_transcript(Replay *r, const char *srcdir, const char *name) {
        return replay_transcript_job(r, srcdir, name, NULL);
}

static void go_live(Replay *r) {
        if (r->live)
                return;
        r->live_clock0 = r->now;
        r->live_real0 = replay_now_usec();
        r->live = true;
}

void replay_stall(Replay *r, uint64_t usec) {
        go_live(r);
        r->live_clock0 += usec;
}

void replay_drain(Replay *r) {
        (void) drain(r);
}

void replay_pump(Replay *r) {
        go_live(r);
        if (r->daemon)
                daemon_run_due(r->daemon);
        (void) event_base_loop(r->base, EVLOOP_NONBLOCK);
        (void) drain(r);
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

/**
 * replay_start() - a fresh core over the replay transport, on the test clock
 * @r: zeroed, but for settings/n_settings and step/step_userdata
 *
 * The defaults keep an unconfigured replay independent of time: no
 * polling, no rescan, liveness far above the run, members at once.  The core starts at the
 * first transcript's first frame from vescd.
 *
 * Returns: 0 or -errno.
 */
int replay_start(Replay *r) {
        static const char *const defaults[][2] = {
                { "poll-rate-hz", "0" },
                { "rescan-interval-s", "0" },
                { "offline-timeout-ms", "600000" },
                { "forget-after-s", "86400" },
                { "time-scale", "0.1" },
                /* as the recording's vescd (the test harnesses) */
                { "member-after-s", "0" },
        };
        Config *c;
        int k;

        snprintf(r->state_dir, sizeof r->state_dir, "/tmp/vescd-replay.XXXXXX");
        if (!mkdtemp(r->state_dir))
                return -errno;
        c = calloc(1, sizeof *c);
        if (!c || config_init_defaults(c) < 0)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(defaults) + r->n_settings; i++) {
                const char *const *s = i < ELEMENTSOF(defaults) ? defaults[i] : r->settings[i - ELEMENTSOF(defaults)];
                if (config_set(c, s[0], s[1]) < 0) {
                        fprintf(stderr, "config %s=%s refused\n", s[0], s[1]);
                        abort();
                }
        }
        if (config_set(c, "state-dir", r->state_dir) < 0)
                abort();
        /* the configuration file accepts the kinds vescd offers; a test's
         * own kind goes into the field directly */
        free(c->transport);
        c->transport = strdup("replay:transcript");
        if (!c->transport)
                abort();
        r->now = REPLAY_EPOCH_USEC;
        daemon_set_clock(replay_clock, r);
        r->base = event_base_new();
        if (!r->base)
                abort();
        k = daemon_new(r->base, c, &replay_kinds, &r->daemon);
        if (k < 0) {
                fprintf(stderr, "daemon_new: %s\n", strerror(-k));
                return k;
        }
        return 0;
}

/**
 * replay_stop() - shut the core down, free the replay, remove its state dir
 * @r: the replay
 */
void replay_stop(Replay *r) {
        char p[sizeof r->state_dir + 32];

        r->job_hold = hold_release(r->job_hold);
        if (r->daemon) {
                daemon_shutdown(r->daemon);
                daemon_free(r->daemon);
        }
        daemon_set_clock(NULL, NULL);
        if (r->base)
                event_base_free(r->base);
        if (replay_peer_fd >= 0)
                close(replay_peer_fd);
        replay_peer_fd = -1;
        free(r->sent.v);
        free(r->fr);
        free(r->rq);
        if (r->state_dir[0]) {
                snprintf(p, sizeof p, "%s/board.json", r->state_dir);
                (void) unlink(p);
                (void) rmdir(r->state_dir);
        }
        *r = (Replay) {};
}

int replay_failures;

int replay_exit_status(void) {
        if (replay_failures) {
                fprintf(stderr, "%d check(s) failed\n", replay_failures);
                return 1;
        }
        printf("PASS\n");
        return 0;
}

const char *const replay_settings_mismatch[REPLAY_N_SETTINGS][2] = {
        { "time-scale", "0.1" },
        { "offline-timeout-ms", "10000" },
        { "member-after-s", "0" },
        { "poll-rate-hz", "0" },
        { "rescan-interval-s", "0" },
};

const char *const replay_settings_358[REPLAY_N_SETTINGS][2] = {
        { "time-scale", "0.1" },
        { "offline-timeout-ms", "10000" },
        { "member-after-s", "0" },
        { "poll-rate-hz", "5" },
        { "rescan-interval-s", "0" },
};
