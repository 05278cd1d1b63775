/* vesc-sim's control socket: a line-based Unix stream socket for fault
 * injection and inspection (docs/vesc-sim.md).  One request line, one reply
 * line: "ok ..." or "error: ...", "status" answers one JSON line.
 *
 * Runs on a libevent base; single-threaded. */
#pragma once

#include <stddef.h>

struct event_base;
typedef struct SimBus SimBus;
typedef struct Vctl Vctl;
typedef struct SimControl SimControl;

/* ctls: the controllers (borrowed; must outlive the control socket). */
int sim_control_new(struct event_base *base, const char *path, SimBus *bus, Vctl *const *ctls, size_t n,
                    SimControl **ret);
SimControl *sim_control_free(SimControl *s);

/* Execute one command line; *ret_reply is a malloc'd line without newline.
 * The socket-free core, also used by tests. */
int sim_control_exec(SimBus *bus, Vctl *const *ctls, size_t n, const char *line, char **ret_reply);
