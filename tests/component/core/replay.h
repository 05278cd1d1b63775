/* The replay of tests/component/core: the core (daemon/core) on a test
 * clock (daemon_set_clock()) over a fake transport kind ("replay", a
 * SOCK_SEQPACKET socketpair whose far end the test drives), fed captured
 * candump transcripts at their recorded times; what the core sends is
 * checked against what vescd sent in the recording.  How, and the
 * variations allowed, is described at the top of replay.c.  Shared by the
 * component tests that need a core with controllers in it
 * (tests/component/dbus/). */
#pragma once

#include <linux/can.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/daemon.h"
#include "core/transport.h"

typedef struct Hold Hold;

typedef struct Frames {
        struct can_frame *v;
        size_t n, cap;
} Frames;

/* One frame of a transcript. */
typedef struct ReplayFrame {
        uint64_t t;           /* µs since the session's first recorded frame */
        uint64_t feed_at;     /* a controller's frame: when it goes to the core (UINT64_MAX: not yet) */
        struct can_frame f;
        int req;              /* vescd's frame: its request; a controller's: the request it answers; -1 */
        bool host;            /* vescd sent it */
        bool done;            /* vescd's: the core sent it; a controller's: fed, or left out */
} ReplayFrame;

/* One request vescd sent: FILL_RX_BUFFER frames, then PROCESS_RX_BUFFER;
 * or one PROCESS_SHORT_BUFFER; or one PING. */
typedef struct ReplayRequest {
        size_t first, last;   /* its frames */
        bool job;             /* the update job's: the fake update host sends it */
        bool issued;          /* job: handed to the request engine */
        bool scan;            /* a PING to id 0 starting a scan the job asked for */
        bool poll;            /* the core's own GET_VALUES poll (matched by count, see replay.c) */
} ReplayRequest;

/* The update job a transcript recorded; the fake update host of replay.c
 * plays its side.  Its requests are those to @ids from its first one to
 * its last COMM_APP_DISABLE_OUTPUT (the job re-enabling the output as it
 * ends). */
typedef struct ReplayJob {
        const char *uuid;     /* 24 hex digits */
        uint8_t ids[4];
        size_t n_ids;
} ReplayJob;

/* Called after every moment of the replay (the model settled at @t_usec,
 * session time); the test snapshots the model when it changed. */
typedef void (*ReplayStepFn)(void *userdata, uint64_t t_usec);

typedef struct Replay {
        /* set before replay_start(): configuration settings applied over
         * the replay's defaults (the recording's command line) */
        const char *const (*settings)[2];
        size_t n_settings;
        ReplayStepFn step;
        void *step_userdata;

        char state_dir[32];
        struct event_base *base;
        Daemon *daemon;
        Frames sent;          /* every frame the core wrote */
        size_t looked;        /* sent[] before this were matched or answered */
        uint64_t now;         /* the test clock (µs); REPLAY_EPOCH_USEC is session time 0 */
        bool have_t0;
        uint64_t t0;          /* the session's first recorded time stamp (µs) */
        bool started, ready, live;
        unsigned scans;       /* scan starts (PING to id 0) in the session's transcripts */
        ReplayFrame *fr;      /* the transcript being (or last) replayed */
        size_t n_fr, lo;
        ReplayRequest *rq;
        size_t n_rq;
        const ReplayJob *job; /* set for the transcript of an update */
        Hold *job_hold;
        bool job_over;
        uint64_t job_start, job_end; /* session time */
        unsigned mismatches;  /* differences between the core's frames and the recording */
        unsigned polls_recorded[256], polls_sent[256];  /* the core's GET_VALUES polls per id */
        uint64_t live_real0, live_clock0;
        bool live_mute[256];  /* live: requests to these ids get no answer (a controller gone) */
} Replay;

#define REPLAY_EPOCH_USEC (1000u * 1000u * 1000u)

/* The transport kinds to hand daemon_new(). */
extern const TransportKinds replay_kinds;

/* A fresh core over the replay transport on the test clock; it starts
 * (daemon_start()) at the first transcript's first frame from vescd.
 * 0 or -errno. */
int replay_start(Replay *r);
/* replay_start(), replay_transcript() of @name, one replay_pump(): 0; or,
 * after saying why and replay_stop(), -errno. */
int replay_start_with(Replay *r, const char *srcdir, const char *name);
/* Shut the core down and free what the replay holds. */
void replay_stop(Replay *r);

/* Add tests/component/core/transcripts/<name> to the session (transcripts
 * of one recording session in order; @job: the update it recorded, or
 * NULL; at most one per session); *ret_end: its last frame's session
 * time.  Then replay up to a session time: -EBADMSG when the core's frames
 * differed from the recording in that stretch (printed), else 0 or -errno. */
int replay_load(Replay *r, const char *srcdir, const char *name, const ReplayJob *job, uint64_t *ret_end);
int replay_run_until(Replay *r, uint64_t end);
/* Both: replay tests/component/core/transcripts/<name> from where the clock is
 * (transcripts of one recording session in order), with @job the update
 * it recorded or NULL.  -EBADMSG when the core's frames differed from the
 * recording (printed), else 0 or -errno. */
int replay_transcript_job(Replay *r, const char *srcdir, const char *name, const ReplayJob *job);
int replay_transcript(Replay *r, const char *srcdir, const char *name);
/* After the transcripts: let the core run on (the clock follows real
 * time from now on) until it is idle (bounded): 0 or -ETIMEDOUT. */
int replay_settle(Replay *r);
/* Live: the core's clock jumps @usec ahead, as when the process did not
 * run for that long (descheduled); nothing runs meanwhile. */
void replay_stall(Replay *r, uint64_t usec);
/* One turn of the loop; answers the core's requests as the recording did. */
void replay_pump(Replay *r);
/* Take what the core wrote (into sent), answering live; no clock, no loop. */
void replay_drain(Replay *r);
/* Send one frame to the core, as from the bus. */
void replay_feed(const struct can_frame *f);
/* Real CLOCK_MONOTONIC µs (bounds on waits). */
uint64_t replay_now_usec(void);

/* Live: pump until cond() holds; false after REPLAY_WAIT_MAX_USEC of real
 * time (the bound on every wait). */
#define REPLAY_WAIT_MAX_USEC (20 * 1000 * 1000)
typedef bool (*ReplayCondFn)(Replay *r, void *userdata);
bool replay_pump_until(Replay *r, ReplayCondFn cond, void *userdata);
/* A ReplayCondFn: the board is in the state *(const BoardState *) userdata. */
bool replay_board_is(Replay *r, void *userdata);

/* Whether @f is a COMM_GET_VALUES request to @id (one
 * PROCESS_SHORT_BUFFER frame: sender, send mode, the command); how many
 * of those the core sent from sent[@from] on. */
bool replay_is_get_values_to(const struct can_frame *f, uint8_t id);
size_t replay_count_get_values(const Replay *r, size_t from, uint8_t id);

/* The board states a test's listener saw announced (the first 64). */
typedef struct ReplayStates {
        char v[64][16];
        size_t n;
} ReplayStates;
void replay_states_note(ReplayStates *s, BoardState state);
/* A DaemonListener.board_changed noting the state in the ReplayStates
 * that its userdata starts with. */
void replay_on_board_changed(void *userdata, const Board *b);
/* The states, space-separated (a static buffer). */
const char *replay_states_text(const ReplayStates *s);

/* The settings vescd ran with when the transcripts were recorded
 * (record-transcripts.py): the dual-mismatch sessions and dual-358. */
#define REPLAY_N_SETTINGS 5
extern const char *const replay_settings_mismatch[REPLAY_N_SETTINGS][2];
extern const char *const replay_settings_358[REPLAY_N_SETTINGS][2];

/* The component tests' soft check: a failed one says where and what, and
 * is counted in replay_failures (the test's exit status at its end). */
extern int replay_failures;
#define CHECK(cond, ...)                                                        \
        do {                                                                    \
                if (!(cond)) {                                                  \
                        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);    \
                        fprintf(stderr, __VA_ARGS__);                           \
                        fputc('\n', stderr);                                    \
                        replay_failures++;                                      \
                }                                                               \
        } while (0)
/* The test's exit status: 1 after saying how many checks failed, else 0
 * after "PASS". */
int replay_exit_status(void);
