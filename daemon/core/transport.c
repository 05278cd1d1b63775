/* Transport core: read loop, TX queue with retry timer, error frames to bus
 * state, counters.  See transport.h. */
#include <errno.h>
#include <event2/event.h>
#include <linux/can/error.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "macro.h"
#include "core/transport.h"

struct Transport {
        const TransportOps *ops;
        char *spec;
        const char *arg;             /* points into spec */
        int fd;
        struct event *read_ev;
        struct event *retry_ev;
        void *impl;                  /* the implementation's state (ops->state_size) */
        TransportCallbacks cb;
        void *userdata;
        TransportBusState state;
        bool dead;

        /* TX ring */
        struct can_frame *ring;
        size_t head, count;

        TransportStats stats;
};

static const char *const bus_state_names[_TRANSPORT_BUS_MAX] = {
        [TRANSPORT_BUS_UNKNOWN] = "unknown",
        [TRANSPORT_BUS_ACTIVE] = "error-active",
        [TRANSPORT_BUS_WARNING] = "error-warning",
        [TRANSPORT_BUS_PASSIVE] = "error-passive",
        [TRANSPORT_BUS_OFF] = "bus-off",
        [TRANSPORT_BUS_DOWN] = "down",
};

/**
 * transport_bus_state_to_string() - name of a bus state
 * @s: the state
 *
 * Returns: a static string; "unknown" when out of range.
 */
const char *transport_bus_state_to_string(TransportBusState s) {
        return (unsigned) s < _TRANSPORT_BUS_MAX ? bus_state_names[s] : "unknown";
}

static void set_state(Transport *t, TransportBusState s) {
        if (t->state == s)
                return;
        log_rl_info("CAN bus %s: %s → %s", t->spec, bus_state_names[t->state], bus_state_names[s]);
        t->state = s;
        if (t->cb.state)
                t->cb.state(t->userdata, s);
}

static void go_dead(Transport *t, int error) {
        if (t->dead)
                return;
        t->dead = true;
        event_del(t->read_ev);
        event_del(t->retry_ev);
        t->stats.tx_dropped += t->count;
        t->count = 0;
        set_state(t, TRANSPORT_BUS_DOWN);
        if (t->cb.fatal)
                t->cb.fatal(t->userdata, error);
}

/* Error frames (CAN_ERR_FLAG) carry the controller's state (linux/can/error.h). */
static void handle_error_frame(Transport *t, const struct can_frame *f) {
        t->stats.error_frames++;
        if (f->can_id & CAN_ERR_BUSOFF) {
                t->stats.bus_off++;
                set_state(t, TRANSPORT_BUS_OFF);
                return;
        }
        if (f->can_id & CAN_ERR_RESTARTED) {
                set_state(t, TRANSPORT_BUS_ACTIVE);
                return;
        }
        if (f->can_id & CAN_ERR_CRTL) {
                uint8_t c = f->data[1];
                if (c & (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE))
                        set_state(t, TRANSPORT_BUS_PASSIVE);
                else if (c & (CAN_ERR_CRTL_RX_WARNING | CAN_ERR_CRTL_TX_WARNING))
                        set_state(t, TRANSPORT_BUS_WARNING);
                else if (c & CAN_ERR_CRTL_ACTIVE)
                        set_state(t, TRANSPORT_BUS_ACTIVE);
        }
}

/* A run of received frames (no error frames) to the daemon. */
static void hand_over(Transport *t, const struct can_frame *f, size_t n) {
        if (t->state == TRANSPORT_BUS_UNKNOWN || t->state == TRANSPORT_BUS_OFF)
                set_state(t, TRANSPORT_BUS_ACTIVE);
        t->cb.frames(t->userdata, f, n);
}

/* A batch with error frames in it (rare: bus-off, restarts, error
 * counters): the frames between them go over in runs, in bus order; the
 * error frames change the bus state where they were.  Out of line, so the
 * common batch keeps its registers. */
static __attribute__((noinline)) bool take_mixed_batch(Transport *t, const struct can_frame *f, size_t n) {
        size_t start = 0;
        bool delivered = false;

        for (size_t i = 0; i < n; i++) {
                if (!(f[i].can_id & CAN_ERR_FLAG))
                        continue;
                if (i > start) {
                        hand_over(t, f + start, i - start);
                        delivered = true;
                }
                handle_error_frame(t, &f[i]);
                start = i + 1;
        }
        if (n > start) {
                hand_over(t, f + start, n - start);
                delivered = true;
        }
        return delivered;
}

/* Read until a short batch (nothing more waiting), or @limit frames. */
static void read_frames(Transport *t, unsigned limit) {
        unsigned total = 0;
        bool delivered = false;

        while (!t->dead) {
                struct can_frame *f;
                int n = t->ops->read(t, t->impl, &f);
                size_t i = 0;

                if (n <= 0) {
                        if (n == 0)
                                break;
                        log_error_errno(n, "CAN transport %s failed: %m", t->spec);
                        go_dead(t, n);
                        return;
                }
                t->stats.rx_frames += (unsigned) n;
                while (i < (size_t) n && !(f[i].can_id & CAN_ERR_FLAG))
                        i++;
                if (i == (size_t) n) {
                        hand_over(t, f, (size_t) n);
                        delivered = true;
                } else if (take_mixed_batch(t, f, (size_t) n))
                        delivered = true;
                total += (unsigned) n;
                if (n < TRANSPORT_RX_BATCH || total >= limit)
                        break;
        }
        if (delivered && !t->dead && t->cb.frames_done)
                t->cb.frames_done(t->userdata);
}

/* The read event yields after TRANSPORT_READ_SLICE frames, so a flooded
 * bus cannot starve D-Bus; the persistent event fires again at once. */
static void on_read(evutil_socket_t fd, short what, void *userdata) {
        read_frames(userdata, TRANSPORT_READ_SLICE);
}

/**
 * transport_receive() - take the frames waiting now, outside the read event
 * @t: the transport
 *
 * As the read event would (the callbacks run from inside this call), for
 * a caller about to judge what was heard by a time that may have passed
 * while vescd did not run: frames that arrived meanwhile wait in the
 * socket, and the event loop may run an expired timer before the read.
 * Unlike the read event it does not stop after one slice: a stall of a
 * second or two leaves more than a slice waiting (a controller sending
 * its status frames at 50 Hz sends several hundred), and the frame the
 * caller is about to miss may be the last one.  It stops at
 * TRANSPORT_DRAIN_MAX frames (a flood keeps the socket full for ever).
 */
void transport_receive(Transport *t) {
        if (!t->dead && t->fd >= 0)
                read_frames(t, TRANSPORT_DRAIN_MAX);
}

static void arm_retry(Transport *t) {
        struct timeval tv = { .tv_sec = 0, .tv_usec = TRANSPORT_TX_RETRY_USEC };

        if (!evtimer_pending(t->retry_ev, NULL))
                evtimer_add(t->retry_ev, &tv);
}

/* Write queued frames in order until the queue is empty or the socket is full. */
static void flush_queue(Transport *t) {
        while (t->count > 0 && !t->dead) {
                int r = t->ops->write(t, &t->ring[t->head]);
                if (r == -EAGAIN || r == -ENOBUFS) {
                        t->stats.tx_retries++;
                        arm_retry(t);
                        return;
                }
                if (r < 0) {
                        log_error_errno(r, "CAN transport %s: write failed: %m", t->spec);
                        go_dead(t, r);
                        return;
                }
                t->stats.tx_frames++;
                t->head = (t->head + 1) % TRANSPORT_TX_QUEUE_MAX;
                t->count--;
        }
}

static void on_retry(evutil_socket_t fd, short what, void *userdata) {
        flush_queue(userdata);
}

/**
 * transport_new() - open a transport
 * @base: the event loop
 * @spec: "vbus:PATH" or "socketcan:IFACE"
 * @own_id: vescd's CAN id (kernel filter for replies addressed to us)
 * @cb: callbacks (copied)
 * @userdata: for the callbacks
 * @ret: receives the transport
 *
 * Returns: 0, -EINVAL (unknown kind), -ENOMEM, or the open error.
 */
int transport_new(struct event_base *base, const TransportKinds *kinds, const char *spec, uint8_t own_id,
                  const TransportCallbacks *cb, void *userdata, Transport **ret) {
        Transport *t;
        int r;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->fd = -1;
        t->cb = *cb;
        t->userdata = userdata;
        t->spec = strdup(spec);
        t->ring = calloc(TRANSPORT_TX_QUEUE_MAX, sizeof(struct can_frame));
        if (!t->spec || !t->ring) {
                transport_free(t);
                return -ENOMEM;
        }
        for (size_t i = 0; kinds && i < kinds->n_ops; i++) {
                size_t n = strlen(kinds->ops[i]->kind);
                if (strncmp(spec, kinds->ops[i]->kind, n) == 0 && spec[n] == ':') {
                        t->ops = kinds->ops[i];
                        t->arg = t->spec + n + 1;
                }
        }
        if (!t->ops || !*t->arg) {
                transport_free(t);
                return -EINVAL;
        }
        if (t->ops->state_size > 0) {
                t->impl = calloc(1, t->ops->state_size);
                if (!t->impl) {
                        transport_free(t);
                        return -ENOMEM;
                }
        }
        r = t->ops->open(t, t->arg, own_id);
        if (r < 0) {
                transport_free(t);
                return r;
        }
        t->fd = r;
        t->read_ev = event_new(base, t->fd, EV_READ | EV_PERSIST, on_read, t);
        t->retry_ev = evtimer_new(base, on_retry, t);
        if (!t->read_ev || !t->retry_ev || event_add(t->read_ev, NULL) < 0) {
                transport_free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

/**
 * transport_free() - close a transport
 * @t: the transport or NULL
 *
 * Frames still queued are counted as dropped.
 *
 * Returns: NULL.
 */
Transport *transport_free(Transport *t) {
        if (!t)
                return NULL;
        if (t->read_ev)
                event_free(t->read_ev);
        if (t->retry_ev)
                event_free(t->retry_ev);
        safe_close(t->fd);
        free(t->impl);
        free(t->ring);
        free(t->spec);
        free(t);
        return NULL;
}

/**
 * transport_send() - send or queue a frame
 * @t: the transport
 * @f: the frame (copied)
 *
 * Returns: 0 (sent or queued), -ENOBUFS (queue full; counted as dropped),
 * -ENETDOWN (transport failed).
 */
int transport_send(Transport *t, const struct can_frame *f) {
        if (t->dead) {
                t->stats.tx_dropped++;
                return -ENETDOWN;
        }
        if (t->count >= TRANSPORT_TX_QUEUE_MAX) {
                t->stats.tx_dropped++;
                return -ENOBUFS;
        }
        if (t->count == 0) {
                int r = t->ops->write(t, f);
                if (r == 0) {
                        t->stats.tx_frames++;
                        return 0;
                }
                if (r != -EAGAIN && r != -ENOBUFS) {
                        log_error_errno(r, "CAN transport %s: write failed: %m", t->spec);
                        go_dead(t, r);
                        return -ENETDOWN;
                }
                t->stats.tx_retries++;
                arm_retry(t);
        }
        t->ring[(t->head + t->count) % TRANSPORT_TX_QUEUE_MAX] = *f;
        t->count++;
        t->stats.tx_queued++;
        return 0;
}

/** transport_spec() - the spec string the transport was opened with. */
const char *transport_spec(const Transport *t) {
        return t->spec;
}

/** transport_kind() - "vbus" or "socketcan". */
const char *transport_kind(const Transport *t) {
        return t->ops->kind;
}

/** transport_ifname() - the socketcan interface name, or NULL for other kinds. */
const char *transport_ifname(const Transport *t) {
        return t->ops->has_ifname ? t->arg : NULL;
}

/** transport_bus_state() - current bus state. */
TransportBusState transport_bus_state(const Transport *t) {
        return t->state;
}

/** transport_get_stats() - copy the counters into @ret. */
void transport_get_stats(const Transport *t, TransportStats *ret) {
        *ret = t->stats;
}

/** transport_tx_pending() - frames waiting in the TX queue. */
size_t transport_tx_pending(const Transport *t) {
        return t->count;
}

/** transport_fd() - the socket (for the implementations; owned by the transport). */
int transport_fd(const Transport *t) {
        return t->fd;
}

/** transport_state() - the implementation's state (TransportOps.state_size bytes), or NULL. */
void *transport_state(const Transport *t) {
        return t->impl;
}

/**
 * transport_set_rx_dropped_total() - record kernel receive drops
 * @t: the transport
 * @total: the running total reported with SO_RXQ_OVFL
 */
void transport_set_rx_dropped_total(Transport *t, uint64_t total) {
        if (total > t->stats.rx_dropped)
                log_debug("CAN bus %s: kernel dropped %llu received frames (queue overflow), counted",
                            t->spec, (unsigned long long) (total - t->stats.rx_dropped));
        t->stats.rx_dropped = total;
}
