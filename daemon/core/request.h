/* The request engine: every COMM request vescd sends over CAN goes through
 * here.
 *
 * Why it exists: VESC replies carry no request id, and vescd uses ONE
 * requester CAN id, so multi-frame replies from two controllers would
 * interleave in vescd's one receive buffer (spec §8.3).  Rules enforced:
 *   - at most ONE request whose reply may exceed 6 bytes (REQUEST_REPLY_LONG)
 *     is outstanding on the whole bus;
 *   - requests whose reply fits one PROCESS_SHORT_BUFFER frame
 *     (REQUEST_REPLY_SHORT: flash acks, SET_MCCONF_TEMP acks, SET_*CONF
 *     acks) and PINGs may be outstanding to several controllers at once:
 *     the replier's id (byte 0 of the short frame, byte 0 of a PONG) tells
 *     them apart;
 *   - one request in flight per destination id; the rest wait in that
 *     destination's FIFO queue;
 *   - replies are matched by replier id + command byte (or the request's
 *     alternative replier, the id a write moves the controller to; or,
 *     when nobody at the replier's id takes it, the replier's second-motor
 *     id: a single-MCU dual-motor controller answers requests to its
 *     second motor with its primary id as sender, spec §16.3);
 *     everything else is counted and dropped;
 *   - each attempt has a timeout, failed attempts are re-sent up to
 *     `retries` times, then the completion gets -ETIMEDOUT; a multi-frame
 *     reply from the destination whose PROCESS frame fails its CRC or
 *     length check (another transfer interleaved, a lost frame) ends the
 *     attempt at once instead of at its timeout.
 * Fire-and-forget requests (REQUEST_REPLY_NONE) go out with send mode 2
 * ("process, no reply") and complete with 0 once their frames are queued.
 *
 * Timeouts given here are NOMINAL (what real hardware needs); the engine
 * multiplies them by the --time-scale factor it was created with (never
 * below the nominal value for a request with the default timeout: see
 * RequestParams.timeout_usec).
 *
 * The engine is pure: no I/O, no clock, no event loop.  Frames leave
 * through ops->send_frame; time comes in as arguments; the owner calls
 * request_engine_process() at request_engine_next_deadline() (and after
 * feeding frames), and feeds every received frame to
 * request_engine_handle_frame().  Completion callbacks may call
 * request_send()/request_cancel() freely. */
#pragma once

#include <linux/can.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/vesc-buffer.h"

/* Nominal timeouts (spec §20), multiplied by the time scale. */
#define REQUEST_TIMEOUT_FLOOR_USEC   (10 * 1000)    /* scaled timeouts never go below this */
#define REQUEST_TIMEOUT_DEFAULT_USEC (100 * 1000)   /* short requests: FW_VERSION, GET_VALUES */
#define REQUEST_TIMEOUT_CONFIG_USEC  (1000 * 1000)  /* configuration reads/writes */
#define REQUEST_TIMEOUT_PING_USEC    (20 * 1000)    /* one PING of a scan (the firmware uses 10 ms) */
#define REQUEST_TIMEOUT_OWN_ID_USEC  (50 * 1000)    /* "is my id free" PING (spec §8.4) */
#define REQUEST_TIMEOUT_ERASE_USEC   (20 * 1000 * 1000)
#define REQUEST_TIMEOUT_WRITE_USEC   (3 * 1000 * 1000)

/* Background LONG requests use at most 1/REQUEST_BACKGROUND_SHARE of the
 * long-reply slot's time: after an attempt that held it t µs, the next
 * background attempt waits (SHARE - 1) × t. */
#define REQUEST_BACKGROUND_SHARE 10
/* A background LONG attempt holds the slot at most this long (nominal)
 * unless its reply is arriving by then (then up to its full timeout): a
 * user request waits for at most one such slice.  As long as a scan
 * PING's timeout: a device that answers at all starts its reply within
 * it.  A reply that comes later still completes the request while it waits
 * for its next attempt (FW_VERSION and GET_VALUES replies name their
 * content; nothing is lost but the slot's time).  The stretch goes a
 * slice at a time while reply frames keep coming. */
#define REQUEST_BACKGROUND_SLICE_USEC (20 * 1000)

/* Bound on queued requests per destination (QueueFull beyond it). */
#define REQUEST_QUEUE_MAX 64

typedef enum RequestReply {
        REQUEST_REPLY_NONE = 0,   /* mode 2: no reply; completes once sent */
        REQUEST_REPLY_SHORT = 1,  /* reply <= 6 bytes: may overlap with others */
        REQUEST_REPLY_LONG = 2,   /* reply may be multi-frame: one on the bus at a time */
        REQUEST_PING = 3,         /* CAN_PACKET_PING; completes on the PONG */
        _REQUEST_REPLY_MAX,
} RequestReply;

/* Completion.  error: 0, -ETIMEDOUT, -ECANCELED, -ENOBUFS (transmit
 * failed), or another -errno from the transport.  On success @reply is
 * the reply payload starting with its command byte (valid only during the
 * call); for a PING it is the PONG frame's data bytes (1 or 2); for
 * REQUEST_REPLY_NONE it is NULL.  @replier: the id that answered. */
typedef void (*RequestDoneFn)(void *userdata, int error, uint8_t replier, const uint8_t *reply, size_t len);

typedef struct RequestParams {
        uint8_t dest;               /* 0..254 */
        RequestReply reply;
        const uint8_t *payload;     /* copied; ignored for REQUEST_PING */
        size_t len;                 /* 1..512 */
        int reply_cmd;              /* expected first reply byte; < 0: payload[0] */
        /* Nominal per attempt.  0: the kind's default, for a reply the
         * firmware sends at once (FW_VERSION, GET_VALUES,
         * GET_MCCONF_TEMP): --time-scale < 1 never shortens it (vesc-sim
         * answers those at once at any scale; a shorter timeout would only
         * fail calls on a loaded host).  PINGs keep their scaled default. */
        uint64_t timeout_usec;
        unsigned retries;           /* extra attempts after a timeout */
        /* Background work (identification of unknown ids): a LONG request
         * marked so starts only when no other LONG request waits, and all
         * of them together hold the long-reply slot at most
         * REQUEST_BACKGROUND_SHARE of the time; each attempt holds it for
         * REQUEST_BACKGROUND_SLICE_USEC unless its reply is arriving;
         * between its attempts the slot is free for others, and a late
         * reply is still taken. */
        bool background;
        /* Background only: also yields to every other background LONG
         * request (polls of records that never answered one, so that
         * identification goes first during a phantom flood). */
        bool yield;
        /* The reply may also come from alt_replier: a write that changes the
         * controller's own CAN id (SET_APPCONF) is answered from the new id. */
        bool has_alt_replier;
        uint8_t alt_replier;
        RequestDoneFn done;         /* may be NULL */
        void *userdata;
} RequestParams;

typedef struct RequestEngineOps {
        /* Queue one frame for transmission.  Negative: the request fails with it. */
        int (*send_frame)(void *userdata, const struct can_frame *f);
        /* Called whenever request_engine_next_deadline() may have changed
         * (typically: schedule a deferred request_engine_process()).  May be NULL. */
        void (*wakeup)(void *userdata);
        /* A complete reply (or a PONG) addressed to vescd came from @sender,
         * matched to a request or not: whoever asked, the controller at
         * that id is alive (liveness).  Called before the completion.  May
         * be NULL. */
        void (*heard)(void *userdata, uint8_t sender, uint64_t now_usec);
} RequestEngineOps;

typedef struct RequestEngineStats {
        uint64_t sent;              /* requests started (attempts) */
        uint64_t completed;
        uint64_t timeouts;          /* attempts that timed out */
        uint64_t failed;            /* requests that ended with an error */
        uint64_t unmatched;         /* replies/PONGs nobody waited for */
        uint64_t reassembly_errors; /* CRC/order/bound errors of multi-frame replies */
        uint64_t background_usec;   /* time background requests held the long-reply slot */
} RequestEngineStats;

typedef struct RequestEngine RequestEngine;

int request_engine_new(uint8_t own_id, double time_scale, const RequestEngineOps *ops, void *userdata,
                       RequestEngine **ret);
/* Cancels everything (completions get -ECANCELED), then frees. */
RequestEngine *request_engine_free(RequestEngine *e);

/* Queue a request.  *ret_handle (optional) identifies it for
 * request_cancel().  -EINVAL bad params, -ENOBUFS queue full.  The request
 * may start (frames go out) before this returns, but its completion is
 * never called from inside request_send(). */
int request_send(RequestEngine *e, const RequestParams *p, uint64_t now_usec, uint64_t *ret_handle);
/* Cancel one request; its completion runs (from inside this call) with
 * -ECANCELED.  -ENOENT if it already completed. */
int request_cancel(RequestEngine *e, uint64_t handle);
/* Cancel every request with this userdata (an owner going away). */
void request_cancel_userdata(RequestEngine *e, void *userdata);

/* Feed a received frame.  Returns 1 if it completed a request (or was part
 * of a reply addressed to us), 0 if not for the engine. */
int request_engine_handle_frame(RequestEngine *e, const struct can_frame *f, uint64_t now_usec);
/* Run completions, timeouts and start queued requests. */
void request_engine_process(RequestEngine *e, uint64_t now_usec);
/* Absolute time of the next timeout, 0 if process() has work now, UINT64_MAX if idle. */
uint64_t request_engine_next_deadline(const RequestEngine *e);
/* Whether an attempt in flight reached its deadline at least @late_usec
 * before @now_usec: the owner did not run when it was due (its frames
 * received meanwhile are still to be fed before process() judges it). */
bool request_engine_overdue(const RequestEngine *e, uint64_t now_usec, uint64_t late_usec);

size_t request_engine_queued(const RequestEngine *e, uint8_t dest);
bool request_engine_idle(const RequestEngine *e);
uint8_t request_engine_own_id(const RequestEngine *e);
void request_engine_get_stats(const RequestEngine *e, RequestEngineStats *ret);
