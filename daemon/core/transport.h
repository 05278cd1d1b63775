/* CAN transports: where frames come from and go to, behind one small ops
 * interface, so the rest of vescd never knows whether it sits on a kernel
 * SocketCAN interface or on the userspace vbus.
 *
 *   vbus:PATH        Unix SOCK_SEQPACKET client of a vbus hub; one 16-byte
 *                    struct can_frame per message (DESIGN.md "vbus")
 *   socketcan:IFACE  CAN_RAW socket with kernel filters for the VESC frames,
 *                    error frames for bus state, SO_RXQ_OVFL drop counter
 *
 * Common to both (transport.c): reading batches of frames (one recvmmsg()
 * each) until a short batch from one persistent libevent read event, a bounded TX queue that absorbs EAGAIN/ENOBUFS and
 * is retried from a short timer (never spinning), and counters.  A frame
 * that does not fit the queue is refused with -ENOBUFS and counted — never
 * dropped silently. */
#pragma once

#include <linux/can.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef enum TransportBusState {
        TRANSPORT_BUS_UNKNOWN = 0,
        TRANSPORT_BUS_ACTIVE = 1,
        TRANSPORT_BUS_WARNING = 2,
        TRANSPORT_BUS_PASSIVE = 3,
        TRANSPORT_BUS_OFF = 4,
        TRANSPORT_BUS_DOWN = 5,      /* connection lost */
        _TRANSPORT_BUS_MAX,
} TransportBusState;

/* "unknown", "error-active", "error-warning", "error-passive", "bus-off", "down" */
const char *transport_bus_state_to_string(TransportBusState s);

typedef struct TransportStats {
        uint64_t rx_frames;
        uint64_t tx_frames;
        uint64_t tx_queued;          /* frames that had to wait in the TX queue */
        uint64_t tx_retries;         /* write attempts that got EAGAIN/ENOBUFS */
        uint64_t tx_dropped;         /* refused: queue full or transport down */
        uint64_t rx_dropped;         /* kernel receive-queue overflows (SO_RXQ_OVFL) */
        uint64_t error_frames;
        uint64_t bus_off;
} TransportStats;

typedef struct Transport Transport;

/* Frames one ->read hands over at most (one recvmmsg() on a socket). */
#define TRANSPORT_RX_BATCH 32
/* Frames one read event takes before it yields to the rest of the loop. */
#define TRANSPORT_READ_SLICE 256
/* Frames transport_receive() takes at most. */
#define TRANSPORT_DRAIN_MAX 8192

typedef struct TransportCallbacks {
        /* Required: n received frames of one ->read batch in bus order,
         * error frames taken out (the receiver stamps them once: they were
         * read at the same moment). */
        void (*frames)(void *userdata, const struct can_frame *f, size_t n);
        /* Optional: the frames of one wake-up have all been handed to
         * ->frames (at most 256; the read event fires again for more).  The
         * place to publish what they changed, once per wake-up. */
        void (*frames_done)(void *userdata);
        void (*state)(void *userdata, TransportBusState state);
        /* The transport failed for good (hub closed, interface gone). */
        void (*fatal)(void *userdata, int error);
} TransportCallbacks;

/* Operations a concrete transport implements (transport-*.c). */
typedef struct TransportOps {
        const char *kind;
        bool has_ifname;             /* the argument names a kernel interface */
        /* Bytes of per-transport state the implementation keeps (its
         * receive buffers), zeroed before ->open; see transport_state(). */
        size_t state_size;
        /* Open the fd for arg (the part after "kind:").  own_id selects the
         * kernel filter.  Returns the fd or -errno. */
        int (*open)(Transport *t, const char *arg, uint8_t own_id);
        /* The frames waiting, at most TRANSPORT_RX_BATCH, in a buffer of the
         * implementation's (valid until the next call; *ret points at it);
         * state is transport_state(t), handed over to save the per-frame
         * path a call.
         * Returns their number, 0 when nothing is waiting (EAGAIN), -errno;
         * -ECONNRESET on orderly EOF.  Fewer than TRANSPORT_RX_BATCH means
         * nothing more was waiting: the caller does not ask again before the
         * next wake-up (no EAGAIN round). */
        int (*read)(Transport *t, void *state, struct can_frame **ret);
        /* 0 sent, -EAGAIN/-ENOBUFS try later, other -errno fatal. */
        int (*write)(Transport *t, const struct can_frame *f);
} TransportOps;

#define TRANSPORT_TX_QUEUE_MAX 1024
#define TRANSPORT_TX_RETRY_USEC 2000

/* The kinds a build offers (transport/transports.c): the core only knows
 * this interface, the implementations sit above it in daemon/transport/. */
typedef struct TransportKinds {
        const TransportOps *const *ops;
        size_t n_ops;
        /* Restart a kernel link left in bus-off (NULL: the kernel's
         * restart-ms or nobody does it); -errno. */
        int (*link_restart)(const char *ifname);
        /* The kernel link's bitrate (NULL: not known); -errno. */
        int (*link_bitrate)(const char *ifname, uint32_t *ret);
} TransportKinds;

/* spec: "KIND:ARG", e.g. "vbus:PATH" or "socketcan:IFACE".  -EINVAL unknown kind. */
int transport_new(struct event_base *base, const TransportKinds *kinds, const char *spec, uint8_t own_id,
                  const TransportCallbacks *cb, void *userdata, Transport **ret);
Transport *transport_free(Transport *t);

/* Queue a frame; written at once when possible.  -ENOBUFS queue full,
 * -ENETDOWN transport down. */
int transport_send(Transport *t, const struct can_frame *f);

/* Take the frames waiting now, all of them up to TRANSPORT_DRAIN_MAX (the
 * callbacks run from inside): before a verdict on silence or a request's
 * timeout after vescd itself did not run for a while. */
void transport_receive(Transport *t);

const char *transport_spec(const Transport *t);
const char *transport_kind(const Transport *t);
/* The interface name for socketcan, NULL for vbus. */
const char *transport_ifname(const Transport *t);
TransportBusState transport_bus_state(const Transport *t);
void transport_get_stats(const Transport *t, TransportStats *ret);
size_t transport_tx_pending(const Transport *t);

/* For the implementations. */
int transport_fd(const Transport *t);
/* The implementation's state (TransportOps.state_size bytes), or NULL. */
void *transport_state(const Transport *t);
/* SO_RXQ_OVFL carries the socket's running total of drops. */
void transport_set_rx_dropped_total(Transport *t, uint64_t total);
