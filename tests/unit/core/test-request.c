/* Unit tests of the request engine (daemon/core/request.c): the one-long-reply
 * rule, concurrent short requests and PINGs, reply matching by replier +
 * command byte, timeouts, retries, cancel, fire-and-forget.  Frames go to
 * a capture array; replies are built with the codec's segmenter exactly
 * as a controller would send them; time is an argument. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/request.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"

#define OWN 253
#define MS 1000ULL

typedef struct Fixture {
        RequestEngine *e;
        struct can_frame sent[256];
        size_t n_sent;
        int send_error;
        unsigned wakeups;
        /* RequestEngineOps.heard: senders, with their times */
        uint8_t heard[16];
        uint64_t heard_usec[16];
        size_t n_heard;
        /* completions */
        int done_count;
        int last_error;
        uint8_t last_replier;
        uint8_t last_reply[512];
        size_t last_len;
        int order[16];
        size_t n_order;
} Fixture;

static int capture(void *userdata, const struct can_frame *f) {
        Fixture *fx = userdata;
        if (fx->send_error)
                return fx->send_error;
        if (fx->n_sent < 256)
                fx->sent[fx->n_sent++] = *f;
        return 0;
}

static void wake(void *userdata) {
        ((Fixture *) userdata)->wakeups++;
}

static void heard(void *userdata, uint8_t sender, uint64_t now_usec) {
        Fixture *fx = userdata;

        if (fx->n_heard < 16) {
                fx->heard[fx->n_heard] = sender;
                fx->heard_usec[fx->n_heard++] = now_usec;
        }
}

static const RequestEngineOps ops = { .send_frame = capture, .wakeup = wake, .heard = heard };

/* userdata for done(): the fixture pointer and a tag */
typedef struct Tag {
        Fixture *fx;
        int pad;
        int tag;
} Tag;

static void done(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len) {
        Tag *t = userdata;
        Fixture *fx = t->fx;
        int tag = t->tag;

        fx->done_count++;
        fx->last_error = error;
        fx->last_replier = replier;
        fx->last_len = len;
        if (reply && len <= sizeof fx->last_reply)
                memcpy(fx->last_reply, reply, len);
        if (fx->n_order < 16)
                fx->order[fx->n_order++] = tag;
}

static int setup(void **state) {
        static Fixture fx;
        memset(&fx, 0, sizeof fx);
        assert_int_equal(request_engine_new(OWN, 1.0, &ops, &fx, &fx.e), 0);
        *state = &fx;
        return 0;
}

static int teardown(void **state) {
        Fixture *fx = *state;
        fx->e = request_engine_free(fx->e);
        return 0;
}

/* Feed a reply from `from` as the firmware sends it (mode 1 to OWN). */
static void reply(Fixture *fx, uint8_t from, const uint8_t *payload, size_t len, uint64_t now) {
        VescSegmenter s;
        struct can_frame f;

        assert_int_equal(vesc_segmenter_init(&s, OWN, from, VESC_MODE_REPLY, payload, len), 0);
        while (vesc_segmenter_next(&s, &f) > 0)
                (void) request_engine_handle_frame(fx->e, &f, now);
}

static uint64_t send_req(Fixture *fx, Tag *t, uint8_t dest, RequestReply kind, uint8_t cmd, unsigned retries,
                         uint64_t now) {
        uint8_t payload[1] = { cmd };
        uint64_t h = 0;
        assert_int_equal(request_send(fx->e,
                                      &(RequestParams) { .dest = dest, .reply = kind, .payload = payload, .len = 1,
                                                         .reply_cmd = -1, .retries = retries, .done = done,
                                                         .userdata = t },
                                      now, &h),
                         0);
        return h;
}

static void test_long_one_at_a_time(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 }, b = { fx, 0, 2 };
        uint8_t fwv[25] = { COMM_FW_VERSION, 5, 3, '6', '0', 0 };

        send_req(fx, &a, 12, REQUEST_REPLY_LONG, COMM_FW_VERSION, 0, 0);
        send_req(fx, &b, 74, REQUEST_REPLY_LONG, COMM_FW_VERSION, 0, 0);
        /* only the first is on the bus: one SHORT frame to 12 */
        assert_int_equal(fx->n_sent, 1);
        assert_int_equal(fx->sent[0].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 12));
        assert_int_equal(fx->sent[0].data[0], OWN);
        assert_int_equal(fx->sent[0].data[1], VESC_MODE_PROCESS_REPLY);
        assert_int_equal(fx->sent[0].data[2], COMM_FW_VERSION);

        /* a reply from the wrong controller does not complete it */
        reply(fx, 74, fwv, sizeof fwv, 1 * MS);
        assert_int_equal(fx->done_count, 0);

        reply(fx, 12, fwv, sizeof fwv, 2 * MS);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, 0);
        assert_int_equal(fx->last_replier, 12);
        assert_int_equal(fx->last_len, sizeof fwv);
        /* now the second one goes out */
        assert_int_equal(fx->n_sent, 2);
        assert_int_equal(fx->sent[1].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 74));
        reply(fx, 74, fwv, sizeof fwv, 3 * MS);
        assert_int_equal(fx->done_count, 2);
        assert_true(request_engine_idle(fx->e));

        RequestEngineStats st;
        request_engine_get_stats(fx->e, &st);
        assert_int_equal(st.unmatched, 1);
}

static void test_short_concurrent_and_ping(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 }, b = { fx, 0, 2 }, p = { fx, 0, 3 }, l = { fx, 0, 4 };
        const uint8_t ack[] = { COMM_SET_MCCONF_TEMP };
        struct can_frame pong;

        send_req(fx, &l, 30, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 0);
        send_req(fx, &a, 12, REQUEST_REPLY_SHORT, COMM_SET_MCCONF_TEMP, 0, 0);
        send_req(fx, &b, 74, REQUEST_REPLY_SHORT, COMM_SET_MCCONF_TEMP, 0, 0);
        assert_int_equal(request_send(fx->e, &(RequestParams) { .dest = 40, .reply = REQUEST_PING, .done = done, .userdata = &p },
                                      0, NULL),
                         0);
        /* all four are out at once: only one of them is LONG */
        assert_int_equal(fx->n_sent, 4);

        /* answers in any order, told apart by the replier id */
        reply(fx, 74, ack, sizeof ack, 1 * MS);
        vesc_pong_encode(&pong, OWN, 40, 0);
        assert_int_equal(request_engine_handle_frame(fx->e, &pong, 1 * MS), 1);
        reply(fx, 12, ack, sizeof ack, 1 * MS);
        assert_int_equal(fx->done_count, 3);
        assert_int_equal(fx->order[0], 2);
        assert_int_equal(fx->order[1], 3);
        assert_int_equal(fx->order[2], 1);
        /* a PONG for nobody */
        vesc_pong_encode(&pong, OWN, 41, -1);
        assert_int_equal(request_engine_handle_frame(fx->e, &pong, 1 * MS), 1);
        assert_int_equal(fx->done_count, 3);
        /* the requests still queued complete (cancelled) while their tags,
         * on this stack, live */
        fx->e = request_engine_free(fx->e);
}

/* Every complete reply and PONG addressed to us names its sender to the
 * owner (liveness), matched or not, before the completion; a timeout or
 * a half reply names nobody. */
static void test_heard(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 }, l = { fx, 0, 2 };
        const uint8_t ack[] = { COMM_SET_MCCONF_TEMP };
        uint8_t values[40] = { COMM_GET_VALUES };
        struct can_frame pong;
        VescSegmenter seg;
        struct can_frame f;

        send_req(fx, &a, 12, REQUEST_REPLY_SHORT, COMM_SET_MCCONF_TEMP, 0, 0);
        send_req(fx, &l, 30, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 0);
        /* matched, short */
        reply(fx, 12, ack, sizeof ack, 1 * MS);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->n_heard, 1);
        assert_int_equal(fx->heard[0], 12);
        assert_int_equal(fx->heard_usec[0], 1 * MS);
        /* nobody asked 13: unmatched, but 13 is alive */
        reply(fx, 13, ack, sizeof ack, 2 * MS);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->n_heard, 2);
        assert_int_equal(fx->heard[1], 13);
        /* a PONG for nobody */
        vesc_pong_encode(&pong, OWN, 41, -1);
        assert_int_equal(request_engine_handle_frame(fx->e, &pong, 3 * MS), 1);
        assert_int_equal(fx->n_heard, 3);
        assert_int_equal(fx->heard[2], 41);
        /* a long reply: nobody until its last frame */
        assert_int_equal(vesc_segmenter_init(&seg, OWN, 30, VESC_MODE_REPLY, values, sizeof values), 0);
        assert_int_equal(vesc_segmenter_next(&seg, &f), 1);
        (void) request_engine_handle_frame(fx->e, &f, 4 * MS);
        assert_int_equal(fx->n_heard, 3);
        while (vesc_segmenter_next(&seg, &f) > 0)
                (void) request_engine_handle_frame(fx->e, &f, 5 * MS);
        assert_int_equal(fx->done_count, 2);
        assert_int_equal(fx->n_heard, 4);
        assert_int_equal(fx->heard[3], 30);
        /* a timeout names nobody */
        send_req(fx, &a, 12, REQUEST_REPLY_SHORT, COMM_SET_MCCONF_TEMP, 0, 6 * MS);
        request_engine_process(fx->e, 6 * MS + REQUEST_TIMEOUT_DEFAULT_USEC);
        assert_int_equal(fx->done_count, 3);
        assert_int_equal(fx->last_error, -ETIMEDOUT);
        assert_int_equal(fx->n_heard, 4);
}

static void test_timeout_retry(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 };

        send_req(fx, &a, 12, REQUEST_REPLY_LONG, COMM_GET_VALUES, 1, 0);
        assert_int_equal(fx->n_sent, 1);
        assert_int_equal(request_engine_next_deadline(fx->e), REQUEST_TIMEOUT_DEFAULT_USEC);
        request_engine_process(fx->e, REQUEST_TIMEOUT_DEFAULT_USEC - 1);
        assert_int_equal(fx->n_sent, 1);
        request_engine_process(fx->e, REQUEST_TIMEOUT_DEFAULT_USEC);
        assert_int_equal(fx->n_sent, 2); /* re-sent */
        assert_int_equal(fx->done_count, 0);
        request_engine_process(fx->e, 2 * REQUEST_TIMEOUT_DEFAULT_USEC);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, -ETIMEDOUT);
        assert_int_equal(request_engine_next_deadline(fx->e), UINT64_MAX);
}

/* overdue(): an attempt in flight whose deadline passed at least the
 * given lateness ago; not a queued request, not one judged in time, not
 * one that ended. */
static void test_overdue(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 }, b = { fx, 0, 2 };
        const uint64_t late = 40 * 1000, t = REQUEST_TIMEOUT_DEFAULT_USEC;

        assert_false(request_engine_overdue(fx->e, 10 * t, late));  /* idle */
        send_req(fx, &a, 12, REQUEST_REPLY_LONG, COMM_GET_VALUES, 1, 0);
        send_req(fx, &b, 74, REQUEST_REPLY_LONG, COMM_GET_VALUES, 1, 0);  /* queued behind a's LONG */
        assert_int_equal(fx->n_sent, 1);
        assert_false(request_engine_overdue(fx->e, 0, late));
        assert_false(request_engine_overdue(fx->e, t + late - 1, late));
        assert_true(request_engine_overdue(fx->e, t + late, late));
        /* judged late: the reply waiting is fed first, then nothing is overdue */
        reply(fx, 12, (const uint8_t[]) { COMM_GET_VALUES, 1, 2, 3 }, 4, t + late);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, 0);
        request_engine_process(fx->e, t + late);
        assert_int_equal(fx->n_sent, 2);  /* b's now, with its own deadline */
        assert_false(request_engine_overdue(fx->e, t + late, late));
        assert_true(request_engine_overdue(fx->e, 2 * t + 2 * late, late));
        /* b's attempt and its retry time out: nothing left in flight */
        request_engine_process(fx->e, 2 * t + late);
        request_engine_process(fx->e, 3 * t + late);
        assert_int_equal(fx->done_count, 2);
        assert_int_equal(fx->last_error, -ETIMEDOUT);
        assert_false(request_engine_overdue(fx->e, 100 * t, late));
}

static void test_time_scale(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 };

        fx->e = request_engine_free(fx->e);
        assert_int_equal(request_engine_new(OWN, 3.0, &ops, fx, &fx->e), 0);
        send_req(fx, &a, 12, REQUEST_REPLY_SHORT, COMM_SET_MCCONF_TEMP, 0, 1000);
        assert_int_equal(request_engine_next_deadline(fx->e), 1000 + 3 * REQUEST_TIMEOUT_DEFAULT_USEC);
        fx->e = request_engine_free(fx->e);

        /* faster than real time: an explicit (firmware work) timeout
         * shrinks, the default one of a reply sent at once does not */
        Tag b = { fx, 0, 2 };
        uint8_t get[1] = { COMM_GET_MCCONF };
        assert_int_equal(request_engine_new(OWN, 0.1, &ops, fx, &fx->e), 0);
        assert_int_equal(request_send(fx->e,
                                      &(RequestParams) { .dest = 12, .reply = REQUEST_REPLY_LONG, .payload = get,
                                                         .len = 1, .reply_cmd = -1,
                                                         .timeout_usec = REQUEST_TIMEOUT_CONFIG_USEC,
                                                         .done = done, .userdata = &a },
                                      1000, NULL),
                         0);
        assert_int_equal(request_engine_next_deadline(fx->e), 1000 + REQUEST_TIMEOUT_CONFIG_USEC / 10);
        fx->e = request_engine_free(fx->e);
        assert_int_equal(request_engine_new(OWN, 0.1, &ops, fx, &fx->e), 0);
        send_req(fx, &b, 12, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 1000);
        assert_int_equal(request_engine_next_deadline(fx->e), 1000 + REQUEST_TIMEOUT_DEFAULT_USEC);
        fx->e = request_engine_free(fx->e);
}

static void test_wrong_command_byte(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 };
        const uint8_t wrong[] = { COMM_GET_VALUES_SELECTIVE, 0 }, right[] = { COMM_REBOOT + 19 };

        /* expect reply_cmd 48 for a request whose payload starts with 48 */
        send_req(fx, &a, 12, REQUEST_REPLY_SHORT, 48, 0, 0);
        reply(fx, 12, wrong, sizeof wrong, 1);
        assert_int_equal(fx->done_count, 0);
        reply(fx, 12, right, sizeof right, 2);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_reply[0], 48);
}

/* A single-MCU dual-motor controller answers a request to its second
 * motor's id (21) with its primary id (20) as sender (spec §16.3); a reply
 * from 20 still goes to a request in flight to 20 first, and 254's second
 * motor is 0. */
static void test_second_motor_replier(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 }, b = { fx, 0, 2 }, c = { fx, 0, 3 };
        uint8_t fwv[] = { COMM_FW_VERSION, 6, 5 };
        const uint8_t ack[] = { 48 };

        send_req(fx, &a, 21, REQUEST_REPLY_LONG, COMM_FW_VERSION, 0, 0);
        reply(fx, 20, fwv, sizeof fwv, 1);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->order[0], 1);
        assert_int_equal(fx->last_replier, 20);

        /* 20 itself waits for a short reply with the same command byte: it is 20's */
        send_req(fx, &b, 20, REQUEST_REPLY_SHORT, 48, 0, 2);
        send_req(fx, &c, 21, REQUEST_REPLY_SHORT, 48, 0, 2);
        reply(fx, 20, ack, sizeof ack, 3);
        assert_int_equal(fx->done_count, 2);
        assert_int_equal(fx->order[1], 2);
        reply(fx, 20, ack, sizeof ack, 4);
        assert_int_equal(fx->done_count, 3);
        assert_int_equal(fx->order[2], 3);

        /* never a reply from 19 (not 20's primary) or with another command byte */
        send_req(fx, &a, 21, REQUEST_REPLY_LONG, COMM_FW_VERSION, 0, 5);
        reply(fx, 19, fwv, sizeof fwv, 6);
        fwv[0] = COMM_GET_VALUES;
        reply(fx, 20, fwv, sizeof fwv, 6);
        assert_int_equal(fx->done_count, 3);
        fwv[0] = COMM_FW_VERSION;
        reply(fx, 20, fwv, sizeof fwv, 7);
        assert_int_equal(fx->done_count, 4);

        assert_int_equal(vesc_second_motor_id(254), 0);
        assert_int_equal(vesc_second_motor_id(20), 21);
        send_req(fx, &a, 0, REQUEST_REPLY_LONG, COMM_FW_VERSION, 0, 8);
        reply(fx, 254, fwv, sizeof fwv, 9);
        assert_int_equal(fx->done_count, 5);
}

static void test_fire_and_forget_and_cancel(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 }, b = { fx, 0, 2 }, c = { fx, 0, 3 };
        uint64_t hb, hc;

        send_req(fx, &a, 12, REQUEST_REPLY_NONE, COMM_REBOOT, 0, 0);
        assert_int_equal(fx->n_sent, 1);
        assert_int_equal(fx->sent[0].data[1], VESC_MODE_PROCESS_NOREPLY);
        /* never completed from inside request_send() */
        assert_int_equal(fx->done_count, 0);
        assert_int_equal(request_engine_next_deadline(fx->e), 0);
        hb = send_req(fx, &b, 12, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 0);
        hc = send_req(fx, &c, 12, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 0);
        request_engine_process(fx->e, 1);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, 0);
        assert_int_equal(request_engine_queued(fx->e, 12), 2);
        /* cancel the queued one, then the one in flight */
        assert_int_equal(request_cancel(fx->e, hc), 0);
        assert_int_equal(fx->last_error, -ECANCELED);
        assert_int_equal(request_cancel(fx->e, hb), 0);
        assert_int_equal(request_cancel(fx->e, hb), -ENOENT);
        assert_true(request_engine_idle(fx->e));
        assert_int_equal(fx->done_count, 3);
}

static void test_send_failure_and_bounds(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 };
        uint8_t big[513] = { 0 };

        assert_int_equal(request_send(fx->e, &(RequestParams) { .dest = 255, .reply = REQUEST_PING }, 0, NULL), -EINVAL);
        assert_int_equal(request_send(fx->e,
                                      &(RequestParams) { .dest = 1, .reply = REQUEST_REPLY_LONG, .payload = big, .len = 513 },
                                      0, NULL),
                         -EINVAL);
        for (unsigned i = 0; i < REQUEST_QUEUE_MAX; i++)
                assert_int_equal(request_send(fx->e, &(RequestParams) { .dest = 1, .reply = REQUEST_PING }, 0, NULL), 0);
        assert_int_equal(request_send(fx->e, &(RequestParams) { .dest = 1, .reply = REQUEST_PING }, 0, NULL), -ENOBUFS);

        fx->send_error = -ENOBUFS;
        send_req(fx, &a, 2, REQUEST_REPLY_SHORT, 48, 0, 0);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, -ENOBUFS);
}

static void test_long_request_frames(void **state) {
        Fixture *fx = *state;
        uint8_t payload[100];

        for (size_t i = 0; i < sizeof payload; i++)
                payload[i] = (uint8_t) i;
        payload[0] = COMM_SET_MCCONF;
        assert_int_equal(request_send(fx->e,
                                      &(RequestParams) { .dest = 12, .reply = REQUEST_REPLY_SHORT, .payload = payload,
                                                         .len = sizeof payload, .reply_cmd = -1 },
                                      0, NULL),
                         0);
        assert_int_equal(fx->n_sent, vesc_buffer_frame_count(sizeof payload));
        assert_int_equal(fx->sent[fx->n_sent - 1].can_id, vesc_can_id(CAN_PACKET_PROCESS_RX_BUFFER, 12));
}

static uint64_t send_bg(Fixture *fx, Tag *t, uint8_t dest, unsigned retries, uint64_t now) {
        uint8_t payload[1] = { COMM_FW_VERSION };
        uint64_t h = 0;
        assert_int_equal(request_send(fx->e,
                                      &(RequestParams) { .dest = dest, .reply = REQUEST_REPLY_LONG, .payload = payload,
                                                         .len = 1, .reply_cmd = -1, .retries = retries,
                                                         .background = true, .done = done, .userdata = t },
                                      now, &h),
                         0);
        return h;
}

/* Background probes (identification of unknown ids) never go before a
 * waiting user request, hold the slot one slice per attempt, and together
 * hold it at most 1/REQUEST_BACKGROUND_SHARE of the time; a retry gives
 * the slot back. */
static void test_background_priority_and_share(void **state) {
        Fixture *fx = *state;
        Tag g1 = { fx, 0, 1 }, g2 = { fx, 0, 2 }, u = { fx, 0, 3 }, u2 = { fx, 0, 4 };
        uint8_t vals[8] = { COMM_GET_VALUES, 1, 2, 3, 4, 5, 6, 7 };
        uint64_t t;

        /* a user request queued first, then two probes: the user goes first */
        send_req(fx, &u, 12, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 0);
        send_bg(fx, &g1, 200, 1, 0);
        send_bg(fx, &g2, 201, 1, 0);
        assert_int_equal(fx->n_sent, 1);
        assert_int_equal(fx->sent[0].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 12));
        reply(fx, 12, vals, sizeof vals, 1 * MS);
        assert_int_equal(fx->done_count, 1);
        /* now a probe may take the free slot */
        assert_int_equal(fx->n_sent, 2);
        assert_int_equal(fx->sent[1].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 200));

        /* a user request while the probe is out waits only for that attempt */
        send_req(fx, &u2, 74, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 2 * MS);
        assert_int_equal(fx->n_sent, 2);
        /* the probe's slice (20 ms, not its 100 ms timeout) ends: the slot
         * goes to the user request, not to the probe's retry nor to the
         * other probe */
        request_engine_process(fx->e, 1 * MS + 19 * MS);
        assert_int_equal(fx->n_sent, 2);
        t = 1 * MS + REQUEST_BACKGROUND_SLICE_USEC;
        request_engine_process(fx->e, t);
        assert_int_equal(fx->n_sent, 3);
        assert_int_equal(fx->sent[2].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 74));
        reply(fx, 74, vals, sizeof vals, t + 1 * MS);
        assert_int_equal(fx->done_count, 2);

        /* the probe held the slot 20 ms: no probe before 180 ms later */
        request_engine_process(fx->e, t + 1 * MS);
        assert_int_equal(fx->n_sent, 3);
        assert_true(request_engine_next_deadline(fx->e) >= t + 180 * MS);
        request_engine_process(fx->e, t + 179 * MS);
        assert_int_equal(fx->n_sent, 3);
        request_engine_process(fx->e, t + 180 * MS);
        assert_int_equal(fx->n_sent, 4);

        RequestEngineStats st;
        request_engine_get_stats(fx->e, &st);
        assert_int_equal(st.background_usec, REQUEST_BACKGROUND_SLICE_USEC);
        /* the tags live on this stack: finish before teardown */
        request_cancel_userdata(fx->e, &g1);
        request_cancel_userdata(fx->e, &g2);
}

/* A probe whose reply is arriving when its slice ends keeps the slot (a
 * user request must not interleave with it) up to its full timeout. */
static void test_background_slice_stretches(void **state) {
        Fixture *fx = *state;
        Tag g = { fx, 0, 1 }, u = { fx, 0, 2 };
        uint8_t fwv[25] = { COMM_FW_VERSION, 5, 3, '6', '0', 0 };
        uint8_t vals[8] = { COMM_GET_VALUES, 1, 2, 3, 4, 5, 6, 7 };
        VescSegmenter seg;
        struct can_frame f;

        send_bg(fx, &g, 200, 2, 0);
        assert_int_equal(fx->n_sent, 1);
        send_req(fx, &u, 12, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 1 * MS);
        /* the first frames of 200's reply, not yet its end */
        assert_int_equal(vesc_segmenter_init(&seg, OWN, 200, VESC_MODE_REPLY, fwv, sizeof fwv), 0);
        assert_int_equal(vesc_segmenter_next(&seg, &f), 1);
        (void) request_engine_handle_frame(fx->e, &f, 15 * MS);
        request_engine_process(fx->e, REQUEST_BACKGROUND_SLICE_USEC + 1 * MS);
        assert_int_equal(fx->n_sent, 1);
        assert_int_equal(fx->done_count, 0);
        while (vesc_segmenter_next(&seg, &f) > 0)
                (void) request_engine_handle_frame(fx->e, &f, 30 * MS);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, 0);
        assert_int_equal(fx->order[0], 1);
        /* then the user's request */
        assert_int_equal(fx->n_sent, 2);
        assert_int_equal(fx->sent[1].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 12));
        reply(fx, 12, vals, sizeof vals, 31 * MS);
        assert_int_equal(fx->done_count, 2);
        assert_true(request_engine_idle(fx->e));
}

/* A reply that comes after the probe's slice ended (a slow device) still
 * completes the probe while it waits for its next attempt; one after its
 * last attempt is unmatched. */
static void test_background_late_reply(void **state) {
        Fixture *fx = *state;
        Tag g = { fx, 0, 1 }, g2 = { fx, 0, 2 };
        uint8_t fwv[25] = { COMM_FW_VERSION, 5, 3, '6', '0', 0 };
        RequestEngineStats st;

        send_bg(fx, &g, 200, 2, 0);
        request_engine_process(fx->e, REQUEST_BACKGROUND_SLICE_USEC);
        assert_int_equal(fx->done_count, 0);
        assert_false(request_engine_idle(fx->e));
        /* the wrong command byte is not its reply */
        uint8_t other[8] = { COMM_GET_VALUES, 1, 2, 3, 4, 5, 6, 7 };
        reply(fx, 200, other, sizeof other, 25 * MS);
        assert_int_equal(fx->done_count, 0);
        reply(fx, 200, fwv, sizeof fwv, 30 * MS);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, 0);
        assert_int_equal(fx->last_replier, 200);
        assert_true(request_engine_idle(fx->e));

        /* no retries: the slice's end fails it, a later reply is nobody's
         * (after the share's pause of 9 slices) */
        send_bg(fx, &g2, 201, 0, 300 * MS);
        assert_int_equal(fx->n_sent, 2);
        request_engine_process(fx->e, 300 * MS + REQUEST_BACKGROUND_SLICE_USEC);
        assert_int_equal(fx->done_count, 2);
        assert_int_equal(fx->last_error, -ETIMEDOUT);
        reply(fx, 201, fwv, sizeof fwv, 330 * MS);
        assert_int_equal(fx->done_count, 2);
        request_engine_get_stats(fx->e, &st);
        assert_int_equal(st.unmatched, 2);
}

/* A background request that yields (a poll of a record that never
 * answered) starts only when no other background request waits. */
static void test_background_yield(void **state) {
        Fixture *fx = *state;
        Tag p = { fx, 0, 1 }, g = { fx, 0, 2 };
        uint8_t vals[1] = { COMM_GET_VALUES };
        uint8_t fwv[25] = { COMM_FW_VERSION, 5, 3, '6', '0', 0 };

        assert_int_equal(request_send(fx->e,
                                      &(RequestParams) { .dest = 100, .reply = REQUEST_REPLY_LONG, .payload = vals,
                                                         .len = 1, .reply_cmd = -1, .background = true,
                                                         .yield = true, .done = done, .userdata = &p },
                                      0, NULL),
                         0);
        /* alone, it starts */
        assert_int_equal(fx->n_sent, 1);
        request_engine_process(fx->e, REQUEST_BACKGROUND_SLICE_USEC);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, -ETIMEDOUT);

        /* queued together (the yielding one first, at a lower id): the
         * probe goes first once the share allows */
        assert_int_equal(request_send(fx->e,
                                      &(RequestParams) { .dest = 100, .reply = REQUEST_REPLY_LONG, .payload = vals,
                                                         .len = 1, .reply_cmd = -1, .background = true,
                                                         .yield = true, .done = done, .userdata = &p },
                                      30 * MS, NULL),
                         0);
        send_bg(fx, &g, 200, 0, 30 * MS);
        assert_int_equal(fx->n_sent, 1);
        request_engine_process(fx->e, 10 * REQUEST_BACKGROUND_SLICE_USEC);
        assert_int_equal(fx->n_sent, 2);
        assert_int_equal(fx->sent[1].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 200));
        reply(fx, 200, fwv, sizeof fwv, 10 * REQUEST_BACKGROUND_SLICE_USEC + 1 * MS);
        assert_int_equal(fx->done_count, 2);
        assert_int_equal(fx->order[1], 2);
        request_cancel_userdata(fx->e, &p);
}

/* A reply from `from` whose second frame has a flipped byte: its
 * PROCESS_RX_BUFFER fails the CRC check. */
static void corrupt_reply(Fixture *fx, uint8_t from, const uint8_t *payload, size_t len, uint64_t now) {
        VescSegmenter s;
        struct can_frame f;
        unsigned i = 0;

        assert_int_equal(vesc_segmenter_init(&s, OWN, from, VESC_MODE_REPLY, payload, len), 0);
        while (vesc_segmenter_next(&s, &f) > 0) {
                if (i++ == 1)
                        f.data[2] ^= 0x55;
                (void) request_engine_handle_frame(fx->e, &f, now);
        }
}

/* A reply whose PROCESS frame fails its CRC check (another transfer
 * interleaved with it, a lost frame) ends its attempt at once: re-sent
 * within the retries, else failed, without holding the slot until the
 * timeout. */
static void test_corrupted_reply_ends_attempt(void **state) {
        Fixture *fx = *state;
        Tag a = { fx, 0, 1 }, b = { fx, 0, 2 };
        uint8_t vals[20] = { COMM_GET_VALUES, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 };
        RequestEngineStats st;

        send_req(fx, &a, 12, REQUEST_REPLY_LONG, COMM_GET_VALUES, 1, 0);
        assert_int_equal(fx->n_sent, 1);
        corrupt_reply(fx, 12, vals, sizeof vals, 2 * MS);
        assert_true(request_engine_next_deadline(fx->e) <= 2 * MS);
        request_engine_process(fx->e, 2 * MS);
        assert_int_equal(fx->done_count, 0);
        assert_int_equal(fx->n_sent, 2);
        assert_int_equal(fx->sent[1].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 12));
        /* the retry's reply corrupted too: no retries left, it fails now
         * and the slot is free for the next request */
        send_req(fx, &b, 74, REQUEST_REPLY_LONG, COMM_GET_VALUES, 0, 3 * MS);
        assert_int_equal(fx->n_sent, 2);
        corrupt_reply(fx, 12, vals, sizeof vals, 4 * MS);
        request_engine_process(fx->e, 4 * MS);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, -ETIMEDOUT);
        assert_int_equal(fx->n_sent, 3);
        assert_int_equal(fx->sent[2].can_id, vesc_can_id(CAN_PACKET_PROCESS_SHORT_BUFFER, 74));
        /* a corrupted reply from another id ends nothing */
        corrupt_reply(fx, 12, vals, sizeof vals, 5 * MS);
        request_engine_process(fx->e, 5 * MS);
        assert_int_equal(fx->done_count, 1);
        reply(fx, 74, vals, sizeof vals, 6 * MS);
        assert_int_equal(fx->done_count, 2);
        assert_int_equal(fx->last_error, 0);
        request_engine_get_stats(fx->e, &st);
        assert_int_equal(st.reassembly_errors, 3);
}

/* A stray transfer during a probe's slice stretches it only while its
 * frames keep coming: a slice of silence gives the slot back. */
static void test_background_stretch_ends(void **state) {
        Fixture *fx = *state;
        Tag g = { fx, 0, 1 };
        uint8_t fwv[25] = { COMM_FW_VERSION, 5, 3, '6', '0', 0 };
        VescSegmenter seg;
        struct can_frame f;

        send_bg(fx, &g, 200, 0, 0);
        /* the first frame of somebody's reply, then nothing */
        assert_int_equal(vesc_segmenter_init(&seg, OWN, 201, VESC_MODE_REPLY, fwv, sizeof fwv), 0);
        assert_int_equal(vesc_segmenter_next(&seg, &f), 1);
        (void) request_engine_handle_frame(fx->e, &f, 15 * MS);
        request_engine_process(fx->e, REQUEST_BACKGROUND_SLICE_USEC);
        assert_int_equal(fx->done_count, 0);
        request_engine_process(fx->e, 2 * REQUEST_BACKGROUND_SLICE_USEC);
        assert_int_equal(fx->done_count, 1);
        assert_int_equal(fx->last_error, -ETIMEDOUT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_long_one_at_a_time, setup, teardown),
                cmocka_unit_test_setup_teardown(test_short_concurrent_and_ping, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_retry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_overdue, setup, teardown),
                cmocka_unit_test_setup_teardown(test_time_scale, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_command_byte, setup, teardown),
                cmocka_unit_test_setup_teardown(test_second_motor_replier, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fire_and_forget_and_cancel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_send_failure_and_bounds, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_request_frames, setup, teardown),
                cmocka_unit_test_setup_teardown(test_background_priority_and_share, setup, teardown),
                cmocka_unit_test_setup_teardown(test_background_slice_stretches, setup, teardown),
                cmocka_unit_test_setup_teardown(test_background_late_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_background_yield, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupted_reply_ends_attempt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_background_stretch_ends, setup, teardown),
                cmocka_unit_test_setup_teardown(test_heard, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
