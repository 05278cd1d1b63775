/* The replay of tests/component/core: the core (daemon/core) over a fake
 * transport kind ("replay", a SOCK_SEQPACKET socketpair whose far end the
 * test drives) fed captured candump transcripts; see test-core-replay.c for
 * how a transcript is replayed.  Shared by the component tests that need a
 * core with controllers in it (tests/component/dbus/). */
#pragma once

#include <linux/can.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/daemon.h"
#include "core/transport.h"

typedef struct Frames {
        struct can_frame *v;
        size_t n, cap;
} Frames;

/* A request recorded in a transcript and the frames that answered it. */
typedef struct Exchange {
        size_t pos;                /* index of the request in the transcript */
        struct can_frame request;
        struct can_frame reply[64];
        size_t n_reply;
} Exchange;

typedef struct Replay {
        char state_dir[32];
        struct event_base *base;
        Daemon *daemon;
        Frames sent;       /* every frame the core wrote */
        size_t answered;   /* sent[] before this were looked at */
        Exchange *ex;
        size_t n_ex;
        size_t pos;        /* the transcript position fed so far */
        bool ready;
} Replay;

/* The transport kinds to hand daemon_new(). */
extern const TransportKinds replay_kinds;

/* A fresh core over the replay transport, configured so that nothing
 * depends on the wall clock (no polling, no rescan, liveness far above the
 * run), started and past its own-id check.  0 or -errno. */
int replay_start(Replay *r);
/* Shut the core down and free what the replay holds. */
void replay_stop(Replay *r);

/* Feed the transcript tests/component/core/transcripts/<name>. */
int replay_transcript(Replay *r, const char *srcdir, const char *name);
/* Run the core until it is idle (bounded): 0 or -ETIMEDOUT. */
int replay_settle(Replay *r);
/* One turn of the loop; answers the core's own requests. */
void replay_pump(Replay *r);
/* Send one frame to the core, as from the bus. */
void replay_feed(const struct can_frame *f);
uint64_t replay_now_usec(void);
