/* The bus the virtual controllers of vesc-sim sit on.  Three kinds behind
 * one interface:
 *   - hub:      vesc-sim creates the vbus hub at PATH (DESIGN.md "vbus":
 *               Unix SOCK_SEQPACKET, one 16-byte struct can_frame per message,
 *               every frame relayed to every other member in arrival order,
 *               optional pacing at a bitrate by each frame's exact bit length);
 *               the virtual controllers are in-process members of it;
 *   - join:     vesc-sim connects to an existing hub as one member;
 *   - socketcan: vesc-sim sits on a kernel CAN interface (CAN_RAW).
 * In every kind a frame sent by one local port also reaches the other
 * local ports (as on a real bus), never the sender itself.
 *
 * Runs on a libevent base; single-threaded. */
#pragma once

#include <linux/can.h>
#include <stdint.h>

struct event_base;

typedef struct SimBus SimBus;
typedef struct SimPort SimPort;

/* Called for every frame on the bus not sent by this port (including
 * error frames with CAN_ERR_FLAG: bus-off, restarted). */
typedef void (*SimPortRecvFn)(void *userdata, const struct can_frame *f);

/* bitrate 0 = no pacing. */
int simbus_new_hub(struct event_base *base, const char *path, uint32_t bitrate, SimBus **ret);
int simbus_new_join(struct event_base *base, const char *path, SimBus **ret);
int simbus_new_socketcan(struct event_base *base, const char *ifname, SimBus **ret);
SimBus *simbus_free(SimBus *bus);

int simbus_attach(SimBus *bus, SimPortRecvFn fn, void *userdata, SimPort **ret);
SimPort *simport_free(SimPort *port);

/* Queue a frame onto the bus.  With pacing, delivery to everybody happens
 * when the frame "has been on the wire"; while the bus is off (below) the
 * frame is dropped and -ENETDOWN returned. */
int simport_send(SimPort *port, const struct can_frame *f);

/* Simulated bus-off for duration_usec: members get an error frame
 * (CAN_ERR_FLAG|CAN_ERR_BUSOFF), every frame is dropped meanwhile, then an
 * error frame CAN_ERR_FLAG|CAN_ERR_RESTARTED.  Hub kind only (-EOPNOTSUPP). */
int simbus_bus_off(SimBus *bus, uint64_t duration_usec);

typedef struct SimBusStats {
        uint64_t frames;          /* frames put on the bus */
        uint64_t bits;            /* wire bits of those frames, stuffing included */
        uint64_t dropped_members; /* frames a slow external member lost */
        unsigned members;         /* external members connected (hub) */
        /* Added by the bus layer; every drop is counted somewhere below. */
        uint64_t invalid;         /* messages not 16 bytes, or can_dlc > 8 */
        uint64_t dropped_queue;   /* frames refused: pacing/TX queue full */
        uint64_t dropped_bus_off; /* frames lost to a (simulated) bus-off */
        uint64_t tx_retries;      /* join/socketcan: writes retried (EAGAIN/ENOBUFS) */
        uint64_t tx_errors;       /* join/socketcan: frames the remote side refused */
} SimBusStats;
void simbus_get_stats(const SimBus *bus, SimBusStats *ret);

/* Called once when the bus underneath goes away: the hub closed a joined
 * connection (error 0) or the connection/interface failed (-errno).  Local
 * ports keep seeing each other afterwards; the owner usually exits. */
typedef void (*SimBusClosedFn)(void *userdata, int error);
void simbus_set_closed_handler(SimBus *bus, SimBusClosedFn fn, void *userdata);

/* Called after an external member joined or left a hub, with the new
 * number of members (tests wait on it instead of sleeping). */
typedef void (*SimBusMembersFn)(void *userdata, unsigned members);
void simbus_set_members_handler(SimBus *bus, SimBusMembersFn fn, void *userdata);

/* Frames each connected external member lost so far (hub kind), in
 * connection order; returns how many members were written into ret[]. */
unsigned simbus_get_member_drops(const SimBus *bus, uint64_t *ret, unsigned n);
