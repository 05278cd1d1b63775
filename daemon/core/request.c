/* The request engine: per-destination FIFO queues, the one-long-reply
 * rule, reply matching, timeouts and retries.  See request.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "core/request.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"

typedef struct Request Request;
struct Request {
        Request *next;
        uint64_t handle;
        RequestParams p;            /* p.payload points at payload[] below */
        uint8_t payload[VESC_BUFFER_MAX];
        unsigned attempts;
        uint64_t attempt_start;     /* when the current attempt went out */
        bool in_flight;
        bool finished;              /* REQUEST_REPLY_NONE sent: complete in process() */
        bool immediate;             /* the kind's default timeout: never shortened by the time scale */
        uint64_t deadline;
        uint64_t full_deadline;     /* a background slice may stretch to this while its reply arrives */
};

typedef struct RequestQueue {
        Request *head, *tail;
        size_t n;
} RequestQueue;

struct RequestEngine {
        uint8_t own_id;
        double time_scale;
        const RequestEngineOps *ops;
        void *userdata;
        uint64_t next_handle;
        int long_dest;              /* dest of the LONG request in flight, or -1 */
        unsigned rr_next;           /* round-robin start for LONG requests */
        uint64_t now;               /* latest time given to an entry point */
        uint64_t bg_not_before;     /* next background LONG attempt (the share) */
        RequestQueue queues[256];
        VescReassembler reasm;
        RequestEngineStats stats;
};

/* A scaled timeout never drops below REQUEST_TIMEOUT_FLOOR_USEC (or the
 * nominal value, if that is smaller): --time-scale speeds up the simulated
 * firmware, but a reply still needs a scheduler round trip on a loaded
 * machine, and a 2 ms PING timeout would miss controllers there. */
static uint64_t scaled(const RequestEngine *e, uint64_t usec) {
        double v = (double) usec * e->time_scale;
        uint64_t floor_usec = MIN(usec, (uint64_t) REQUEST_TIMEOUT_FLOOR_USEC);
        return v < (double) floor_usec ? MAX(floor_usec, 1) : (uint64_t) v;
}

static uint64_t default_timeout(RequestReply kind) {
        return kind == REQUEST_PING ? REQUEST_TIMEOUT_PING_USEC : REQUEST_TIMEOUT_DEFAULT_USEC;
}

static bool is_bg_long(const Request *r) {
        return r->p.background && r->p.reply == REQUEST_REPLY_LONG;
}

static void wakeup(RequestEngine *e) {
        if (e->ops->wakeup)
                e->ops->wakeup(e->userdata);
}

static void heard(RequestEngine *e, uint8_t sender, uint64_t now_usec) {
        if (e->ops->heard)
                e->ops->heard(e->userdata, sender, now_usec);
}

/**
 * request_engine_new() - create a request engine
 * @own_id: vescd's CAN id (the reply address), 0..254
 * @time_scale: factor applied to every nominal timeout (> 0)
 * @ops: frame output and wakeup callbacks (borrowed, must outlive the engine)
 * @userdata: passed to @ops
 * @ret: receives the engine
 *
 * Returns: 0, -EINVAL, -ENOMEM.
 */
int request_engine_new(uint8_t own_id, double time_scale, const RequestEngineOps *ops, void *userdata,
                       RequestEngine **ret) {
        RequestEngine *e;

        if (own_id == VESC_ID_BROADCAST || !(time_scale > 0) || !ops || !ops->send_frame)
                return -EINVAL;
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->own_id = own_id;
        e->time_scale = time_scale;
        e->ops = ops;
        e->userdata = userdata;
        e->next_handle = 1;
        e->long_dest = -1;
        vesc_reassembler_init(&e->reasm, own_id, scaled(e, VESC_REASSEMBLER_TIMEOUT_USEC));
        *ret = e;
        return 0;
}

/* A background LONG attempt gave the slot back: charge its time. */
static void bg_charge(RequestEngine *e, Request *r) {
        uint64_t used;

        if (!is_bg_long(r) || !r->in_flight)
                return;
        used = e->now > r->attempt_start ? e->now - r->attempt_start : 0;
        e->stats.background_usec += used;
        e->bg_not_before = MAX(e->bg_not_before, e->now + used * (REQUEST_BACKGROUND_SHARE - 1));
}

static void queue_remove(RequestEngine *e, Request *r) {
        RequestQueue *q = &e->queues[r->p.dest];
        Request **pp = &q->head, *prev = NULL;

        for (; *pp; prev = *pp, pp = &(*pp)->next)
                if (*pp == r) {
                        *pp = r->next;
                        if (q->tail == r)
                                q->tail = prev;
                        q->n--;
                        break;
                }
        if (r->in_flight && r->p.reply == REQUEST_REPLY_LONG && e->long_dest == r->p.dest) {
                e->long_dest = -1;
                bg_charge(e, r);
        }
        r->next = NULL;
}

/* Unlink, run the completion, free.  The completion may re-enter the engine. */
static void complete(RequestEngine *e, Request *r, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        queue_remove(e, r);
        e->stats.completed++;
        if (error < 0)
                e->stats.failed++;
        if (r->p.done)
                r->p.done(r->p.userdata, error, replier, reply, len);
        free(r);
}

/**
 * request_engine_free() - cancel all requests and free the engine
 * @e: the engine or NULL
 *
 * Completions run with -ECANCELED; they must not send new requests.
 *
 * Returns: NULL.
 */
RequestEngine *request_engine_free(RequestEngine *e) {
        if (!e)
                return NULL;
        for (unsigned d = 0; d < 256; d++)
                while (e->queues[d].head)
                        complete(e, e->queues[d].head, -ECANCELED, (uint8_t) d, NULL, 0);
        free(e);
        return NULL;
}

/* A reply the firmware sends at once (the kind's default timeout) comes
 * no sooner under --time-scale < 1: vesc-sim answers it at once at any
 * scale, and a shortened timeout would only fail calls on a loaded host. */
static uint64_t attempt_timeout(const RequestEngine *e, const Request *r, uint64_t nominal_usec) {
        uint64_t t = scaled(e, nominal_usec);

        return r->immediate ? MAX(t, nominal_usec) : t;
}

/* Put the request's frames on the wire.  Returns 0 or the transport's error. */
static int transmit(RequestEngine *e, Request *r, uint64_t now_usec) {
        struct can_frame f;
        int r2;

        r->attempts++;
        r->attempt_start = now_usec;
        r->in_flight = true;
        r->full_deadline = now_usec + attempt_timeout(e, r, r->p.timeout_usec);
        /* the slice scales like a scan PING's timeout */
        r->deadline = is_bg_long(r) ? now_usec + scaled(e, MIN(r->p.timeout_usec, (uint64_t) REQUEST_BACKGROUND_SLICE_USEC))
                                    : r->full_deadline;
        e->stats.sent++;

        if (r->p.reply == REQUEST_PING) {
                vesc_ping_encode(&f, r->p.dest, e->own_id);
                return e->ops->send_frame(e->userdata, &f);
        }

        VescSegmenter seg;
        r2 = vesc_segmenter_init(&seg, r->p.dest, e->own_id,
                                 r->p.reply == REQUEST_REPLY_NONE ? VESC_MODE_PROCESS_NOREPLY : VESC_MODE_PROCESS_REPLY,
                                 r->payload, r->p.len);
        if (r2 < 0)
                return r2;
        while ((r2 = vesc_segmenter_next(&seg, &f)) > 0) {
                r2 = e->ops->send_frame(e->userdata, &f);
                if (r2 < 0)
                        return r2;
        }
        return r2;
}

/* Start every queued request that the rules allow to start now. */
static void pump(RequestEngine *e, uint64_t now_usec) {
        bool again = true;

        e->now = MAX(e->now, now_usec);
        /* completions of failed transmits re-enter; loop until stable.
         * Pass 0 starts everything but background LONG requests; pass 1
         * gives a still free long-reply slot to one of those, within
         * their share of its time; pass 2 to one that yields to them. */
        for (unsigned pass = 0; pass < 3; pass++, again = true)
        while (again) {
                again = false;
                if (pass >= 1 && (e->long_dest >= 0 || now_usec < e->bg_not_before))
                        break;
                for (unsigned i = 0; i < 255; i++) {
                        /* round-robin so one busy controller cannot starve the other */
                        unsigned d = (e->rr_next + i) % 255;
                        Request *r = e->queues[d].head;
                        int k;

                        if (!r || r->in_flight || r->finished)
                                continue;
                        if ((!is_bg_long(r) ? 0U : r->p.yield ? 2U : 1U) != pass)
                                continue;
                        if (r->p.reply == REQUEST_REPLY_LONG) {
                                if (e->long_dest >= 0)
                                        continue;
                                e->long_dest = (int) d;
                                e->rr_next = (d + 1) % 255;
                        }
                        k = transmit(e, r, now_usec);
                        if (k < 0) {
                                complete(e, r, k, (uint8_t) d, NULL, 0);
                                again = true;
                                break;
                        }
                        if (r->p.reply == REQUEST_REPLY_NONE)
                                r->finished = true;
                }
        }
}

/**
 * request_send() - queue a request
 * @e: the engine
 * @p: parameters; the payload is copied
 * @now_usec: current CLOCK_MONOTONIC time
 * @ret_handle: receives a handle for request_cancel() (may be NULL)
 *
 * Returns: 0; -EINVAL (dest 255, empty or oversized payload, bad kind),
 * -ENOBUFS (that destination's queue is full), -ENOMEM.
 */
int request_send(RequestEngine *e, const RequestParams *p, uint64_t now_usec, uint64_t *ret_handle) {
        RequestQueue *q;
        Request *r;

        e->now = MAX(e->now, now_usec);
        if (!p || p->dest == VESC_ID_BROADCAST || (unsigned) p->reply >= _REQUEST_REPLY_MAX)
                return -EINVAL;
        if (p->reply != REQUEST_PING && (!p->payload || p->len == 0 || p->len > VESC_BUFFER_MAX))
                return -EINVAL;
        q = &e->queues[p->dest];
        if (q->n >= REQUEST_QUEUE_MAX)
                return -ENOBUFS;

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->p = *p;
        if (p->reply != REQUEST_PING) {
                memcpy(r->payload, p->payload, p->len);
                r->p.payload = r->payload;
                if (r->p.reply_cmd < 0)
                        r->p.reply_cmd = r->payload[0];
        } else {
                r->p.payload = NULL;
                r->p.len = 0;
        }
        if (!r->p.timeout_usec) {
                r->p.timeout_usec = default_timeout(p->reply);
                r->immediate = p->reply != REQUEST_PING;
        }
        r->handle = e->next_handle++;

        if (q->tail)
                q->tail->next = r;
        else
                q->head = r;
        q->tail = r;
        q->n++;

        if (ret_handle)
                *ret_handle = r->handle;
        pump(e, now_usec);
        wakeup(e);
        return 0;
}

static Request *find_handle(RequestEngine *e, uint64_t handle) {
        for (unsigned d = 0; d < 256; d++)
                for (Request *r = e->queues[d].head; r; r = r->next)
                        if (r->handle == handle)
                                return r;
        return NULL;
}

/**
 * request_cancel() - cancel a request
 * @e: the engine
 * @handle: from request_send()
 *
 * The completion runs before this returns, with -ECANCELED.  Frames already
 * sent cannot be recalled; a late reply is counted as unmatched.
 *
 * Returns: 0, or -ENOENT if the request already completed.
 */
int request_cancel(RequestEngine *e, uint64_t handle) {
        Request *r = find_handle(e, handle);

        if (!r)
                return -ENOENT;
        complete(e, r, -ECANCELED, r->p.dest, NULL, 0);
        wakeup(e);
        return 0;
}

/**
 * request_cancel_userdata() - cancel every request with this userdata
 * @e: the engine
 * @userdata: the owner's pointer given in RequestParams
 */
void request_cancel_userdata(RequestEngine *e, void *userdata) {
        bool any = false;

        for (unsigned d = 0; d < 256; d++) {
                Request *r = e->queues[d].head;
                while (r) {
                        Request *next = r->next;
                        if (r->p.userdata == userdata) {
                                complete(e, r, -ECANCELED, (uint8_t) d, NULL, 0);
                                any = true;
                                /* the completion may have changed the queue */
                                next = e->queues[d].head;
                        }
                        r = next;
                }
        }
        if (any)
                wakeup(e);
}

static Request *in_flight_for(RequestEngine *e, uint8_t dest) {
        Request *r = e->queues[dest].head;
        return r && r->in_flight && !r->finished ? r : NULL;
}

/* A request in flight that also accepts a reply from this id with this
 * command (its controller moves to the id, e.g. SET_APPCONF). */
static Request *in_flight_alt(RequestEngine *e, uint8_t replier, uint8_t cmd) {
        for (unsigned d = 0; d < 256; d++) {
                Request *r = in_flight_for(e, (uint8_t) d);
                if (r && r->p.has_alt_replier && r->p.alt_replier == replier && r->p.reply != REQUEST_PING &&
                    r->p.reply_cmd == cmd)
                        return r;
        }
        return NULL;
}

/* A request in flight to the second motor of a single-MCU dual-motor
 * controller whose primary id is @replier: the firmware answers a buffer
 * request sent to the second motor's id with its MCU's controller_id as
 * the sender byte (spec §16.3).  Only when nothing at @replier itself took
 * the reply. */
static Request *in_flight_second_motor(RequestEngine *e, uint8_t replier, uint8_t cmd) {
        Request *r = in_flight_for(e, vesc_second_motor_id(replier));

        return r && r->p.reply != REQUEST_PING && r->p.reply_cmd == cmd ? r : NULL;
}

/* A background LONG request between its attempts (its last one's slice
 * ended): a late reply from its destination still completes it. */
static Request *waiting_background(RequestEngine *e, uint8_t replier, uint8_t cmd) {
        Request *r = e->queues[replier].head;

        return r && is_bg_long(r) && !r->in_flight && r->attempts > 0 && r->p.reply_cmd == cmd ? r : NULL;
}

/* The end (PROCESS_RX_BUFFER) of a multi-frame reply from the destination
 * of the LONG request in flight failed its CRC or length check: its
 * controller has sent the reply, but another transfer interleaved with it
 * (a late reply to a timed-out probe, say) or a frame was lost.  Waiting
 * for the timeout would bring nothing but a held slot: the attempt ends
 * now, and process() re-sends it (within its retries) or fails it. */
static void end_corrupted_attempt(RequestEngine *e, uint8_t type, const struct can_frame *f, uint64_t now_usec) {
        Request *r;

        if (type != CAN_PACKET_PROCESS_RX_BUFFER || f->len < 1 || e->long_dest < 0 || f->data[0] != e->long_dest)
                return;
        r = in_flight_for(e, (uint8_t) e->long_dest);
        if (!r || r->p.reply != REQUEST_REPLY_LONG)
                return;
        r->deadline = r->full_deadline = now_usec;
        wakeup(e);
}

/**
 * request_engine_handle_frame() - feed one received frame
 * @e: the engine
 * @f: the frame
 * @now_usec: receive time
 *
 * Completions of matched requests run from inside this call.
 *
 * Returns: 1 if the frame was a reply addressed to vescd (matched or not),
 * 0 if it is not the engine's business.
 */
int request_engine_handle_frame(RequestEngine *e, const struct can_frame *f, uint64_t now_usec) {
        uint8_t type, addr;
        Request *r;
        int k;

        e->now = MAX(e->now, now_usec);
        if (vesc_can_id_unpack(f->can_id, &type, &addr) < 0 || addr != e->own_id)
                return 0;

        if (type == CAN_PACKET_PONG) {
                VescPong pong;

                if (vesc_pong_decode(f, &pong) < 0)
                        return 1;
                heard(e, pong.from, now_usec);
                r = in_flight_for(e, pong.from);
                if (!r || r->p.reply != REQUEST_PING) {
                        e->stats.unmatched++;
                        return 1;
                }
                complete(e, r, 0, pong.from, f->data, f->len);
                pump(e, now_usec);
                wakeup(e);
                return 1;
        }

        if (type < CAN_PACKET_FILL_RX_BUFFER || type > CAN_PACKET_PROCESS_SHORT_BUFFER)
                return 0;

        VescMessage msg;
        k = vesc_reassembler_feed(&e->reasm, f, now_usec, &msg);
        if (k < 0) {
                e->stats.reassembly_errors++;
                end_corrupted_attempt(e, type, f, now_usec);
                return 1;
        }
        if (k == 0)
                return 1;
        if (msg.mode != VESC_MODE_REPLY || msg.len == 0) {
                /* a command addressed to our id: somebody shares it, or a
                 * VESC-to-VESC mode-0 reply; not ours either way */
                e->stats.unmatched++;
                return 1;
        }
        /* a reply to anybody's request (a job's, an operation's, a poll),
         * or a late one: the controller at msg.sender is alive */
        heard(e, msg.sender, now_usec);
        r = in_flight_for(e, msg.sender);
        if (!r || r->p.reply == REQUEST_PING || r->p.reply_cmd != msg.payload[0])
                r = in_flight_alt(e, msg.sender, msg.payload[0]);
        if (!r)
                r = in_flight_second_motor(e, msg.sender, msg.payload[0]);
        if (!r)
                r = waiting_background(e, msg.sender, msg.payload[0]);
        if (!r) {
                e->stats.unmatched++;
                return 1;
        }
        complete(e, r, 0, msg.sender, msg.payload, msg.len);
        pump(e, now_usec);
        wakeup(e);
        return 1;
}

/**
 * request_engine_process() - run pending work
 * @e: the engine
 * @now_usec: current time
 *
 * Completes sent fire-and-forget requests, handles timeouts (re-send or
 * fail with -ETIMEDOUT), drops stale partial replies and starts queued
 * requests.
 */
void request_engine_process(RequestEngine *e, uint64_t now_usec) {
        bool again = true;

        e->now = MAX(e->now, now_usec);
        (void) vesc_reassembler_expire(&e->reasm, now_usec);

        while (again) {
                again = false;
                for (unsigned d = 0; d < 256 && !again; d++) {
                        Request *r = e->queues[d].head;

                        if (!r || !r->in_flight)
                                continue;
                        if (r->finished) {
                                complete(e, r, 0, (uint8_t) d, NULL, 0);
                                again = true;
                                continue;
                        }
                        if (now_usec < r->deadline)
                                continue;
                        if (is_bg_long(r) && now_usec < r->full_deadline && e->reasm.active &&
                            e->reasm.last_usec >= r->attempt_start &&
                            now_usec - e->reasm.last_usec < scaled(e, REQUEST_BACKGROUND_SLICE_USEC)) {
                                /* a reply is arriving: the slice stretches
                                 * by a slice at a time while its frames
                                 * keep coming, up to the full timeout */
                                r->deadline = MIN(r->full_deadline, now_usec + scaled(e, REQUEST_BACKGROUND_SLICE_USEC));
                                continue;
                        }
                        e->stats.timeouts++;
                        if (r->p.reply == REQUEST_REPLY_LONG)
                                /* a half-received reply would poison the next one */
                                vesc_reassembler_reset(&e->reasm);
                        if (r->attempts <= r->p.retries && is_bg_long(r)) {
                                /* give the slot back: the retry queues
                                 * behind everyone else's work again */
                                if (e->long_dest == (int) d)
                                        e->long_dest = -1;
                                bg_charge(e, r);
                                r->in_flight = false;
                                continue;
                        }
                        if (r->attempts <= r->p.retries) {
                                int k = transmit(e, r, now_usec);
                                if (k < 0) {
                                        complete(e, r, k, (uint8_t) d, NULL, 0);
                                        again = true;
                                }
                                continue;
                        }
                        complete(e, r, -ETIMEDOUT, (uint8_t) d, NULL, 0);
                        again = true;
                }
                pump(e, now_usec);
        }
}

/**
 * request_engine_next_deadline() - when process() must run next
 * @e: the engine
 *
 * Returns: absolute time, 0 if there is work now, UINT64_MAX if idle.
 */
uint64_t request_engine_next_deadline(const RequestEngine *e) {
        uint64_t t = UINT64_MAX;

        for (unsigned d = 0; d < 256; d++) {
                const Request *r = e->queues[d].head;
                if (!r)
                        continue;
                if (r->finished)
                        return 0;
                if (r->in_flight)
                        t = MIN(t, r->deadline);
                else if (is_bg_long(r) && e->long_dest < 0)
                        /* waiting for its share of the slot */
                        t = MIN(t, e->bg_not_before);
        }
        if (e->reasm.active)
                t = MIN(t, e->reasm.last_usec + e->reasm.timeout_usec);
        return t;
}

/**
 * request_engine_overdue() - whether a timeout is being judged late
 * @e: the engine
 * @now_usec: current time
 * @late_usec: how late counts
 *
 * An attempt whose deadline passed @late_usec or more ago was not judged
 * when it was due: its owner did not run (descheduled, stopped, a slow
 * callback).  Its reply may be waiting unread, and process() would time
 * it out (a LONG reply read half before the verdict is even worse: the
 * reassembler is reset and the rest fails its CRC, ending the retry too).
 *
 * Returns: true if such an attempt is in flight.
 */
bool request_engine_overdue(const RequestEngine *e, uint64_t now_usec, uint64_t late_usec) {
        if (now_usec < late_usec)
                return false;
        for (unsigned d = 0; d < 256; d++) {
                const Request *r = e->queues[d].head;
                if (r && r->in_flight && !r->finished && r->deadline <= now_usec - late_usec)
                        return true;
        }
        return false;
}

/**
 * request_engine_queued() - requests queued or in flight for a destination
 * @e: the engine
 * @dest: CAN id
 *
 * Returns: the count.
 */
size_t request_engine_queued(const RequestEngine *e, uint8_t dest) {
        return e->queues[dest].n;
}

/**
 * request_engine_idle() - whether nothing is queued anywhere
 * @e: the engine
 *
 * Returns: true if idle.
 */
bool request_engine_idle(const RequestEngine *e) {
        for (unsigned d = 0; d < 256; d++)
                if (e->queues[d].head)
                        return false;
        return true;
}

/**
 * request_engine_own_id() - vescd's CAN id as used by this engine
 * @e: the engine
 *
 * Returns: the id.
 */
uint8_t request_engine_own_id(const RequestEngine *e) {
        return e->own_id;
}

/**
 * request_engine_get_stats() - counters
 * @e: the engine
 * @ret: receives a copy
 */
void request_engine_get_stats(const RequestEngine *e, RequestEngineStats *ret) {
        *ret = e->stats;
}
