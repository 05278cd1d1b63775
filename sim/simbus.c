/* The bus under vesc-sim's virtual controllers (see simbus.h).
 *
 * All three kinds share one delivery path: a frame put on the bus enters a
 * FIFO ("the wire") together with where it came from, and is handed to
 * everybody but its origin when it leaves the FIFO.  Going through the FIFO
 * even without pacing keeps the arrival order when a receive callback sends
 * a reply at once: the reply is delivered after the frame that caused it has
 * reached every port, never in the middle of that delivery.
 *
 *   hub:       origins are external members (connections to the Unix
 *              SOCK_SEQPACKET socket) and local ports; delivery writes to
 *              every other member without blocking (a full socket loses that
 *              frame, counted per member) and calls every other port.  With
 *              a bitrate the FIFO is a single server: a frame ends
 *              can_frame_wire_bits()/bitrate after the later of its arrival
 *              and the previous frame's end, and is delivered at its end.
 *   join:      one connection to a hub; a local port's frame goes to the hub
 *              and to the other local ports, the hub's frames to all ports.
 *   socketcan: the same over a CAN_RAW socket; the kernel does not echo our
 *              own frames back, so local delivery is ours too.
 *
 * Single-threaded on the caller's libevent base.  Time for pacing comes from
 * CLOCK_MONOTONIC directly: libevent's cached loop time may lag behind, and
 * a timer that fires early is simply re-armed, so no frame ever leaves the
 * wire before its end. */

#include <errno.h>
#include <fcntl.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "canbits.h"
#include "macro.h"
#include "simbus.h"

#define SIMBUS_QUEUE_MAX 4096u    /* frames waiting for the wire */
#define SIMBUS_TXQ_MAX 1024u      /* join/socketcan frames waiting for the socket */
#define SIMBUS_MEMBERS_MAX 64u    /* external members of a hub */
#define SIMBUS_READ_BURST 64u     /* messages read per wakeup and fd, for fairness */
#define SIMBUS_TX_RETRY_USEC 1000 /* ENOBUFS gives no POLLOUT on CAN sockets: poll */
#define NSEC_PER_SEC UINT64_C(1000000000)

typedef enum SimBusKind {
        SIMBUS_HUB,
        SIMBUS_JOIN,
        SIMBUS_SOCKETCAN,
} SimBusKind;

typedef struct Member Member;
struct Member {
        SimBus *bus;
        int fd;              /* owned */
        struct event *ev;    /* EV_READ|EV_PERSIST on fd */
        uint64_t dropped;
        Member *prev, *next;
};

struct SimPort {
        SimBus *bus;
        SimPortRecvFn fn;
        void *userdata;
        SimPort *prev, *next;
};

/* The members and the ports: doubly linked lists in connection order
 * (an item's next is NULL when it is appended). */
#define LIST_APPEND(head, item)                                 \
        do {                                                    \
                typeof(item) _tail = (head);                    \
                while (_tail && _tail->next)                    \
                        _tail = _tail->next;                    \
                (item)->prev = _tail;                           \
                if (_tail)                                      \
                        _tail->next = (item);                   \
                else                                            \
                        (head) = (item);                        \
        } while (0)
#define LIST_REMOVE(head, item)                                 \
        do {                                                    \
                if ((item)->prev)                               \
                        (item)->prev->next = (item)->next;      \
                else                                            \
                        (head) = (item)->next;                  \
                if ((item)->next)                               \
                        (item)->next->prev = (item)->prev;      \
        } while (0)

/* The origin of a frame.  Compared, never dereferenced; cleared when the
 * member or port goes away while its frames still wait. */
typedef const void *Origin;

typedef struct WireFrame {
        struct can_frame frame;
        Origin origin;
        uint64_t end_nsec; /* CLOCK_MONOTONIC; 0 = now (unpaced, error frames) */
} WireFrame;

typedef struct FrameRing {
        struct can_frame *frames; /* only the TX queue uses this one */
        WireFrame *wire;
        unsigned head, len, cap;
} FrameRing;

struct SimBus {
        SimBusKind kind;
        struct event_base *base; /* not owned */

        int fd;                /* owned: listening (hub), connection (join), CAN_RAW */
        struct event *ev_fd;   /* EV_READ|EV_PERSIST on fd */
        char *path;            /* hub: the socket we created; unlinked on free */
        dev_t path_dev;
        ino_t path_ino;

        Member *members;
        unsigned n_members;
        SimPort *ports;
        SimPort *port_cursor;  /* next port of a running delivery; see simport_free() */

        /* The wire: every frame passes here.  bitrate 0 = unpaced. */
        uint32_t bitrate;
        FrameRing wire;
        uint64_t wire_free_nsec; /* when the last queued frame ends */
        struct event *ev_wire;
        bool draining;

        /* join/socketcan: frames the socket did not take yet. */
        FrameRing txq;
        struct event *ev_tx;
        bool remote_closed;

        bool bus_off;
        struct event *ev_bus_off;
        bool freeing;

        SimBusClosedFn closed_fn;
        void *closed_userdata;
        SimBusMembersFn members_fn;
        void *members_userdata;

        SimBusStats stats;
};

/* The origin of frames that come from the remote side (join, socketcan). */
static const char origin_remote;
#define ORIGIN_REMOTE ((Origin) &origin_remote)

static uint64_t now_nsec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

static void timer_arm(struct event *ev, uint64_t delay_nsec) {
        /* Round up: firing early only costs a re-arm, but round up anyway. */
        uint64_t usec = (delay_nsec + NSEC_PER_USEC - 1) / NSEC_PER_USEC;
        struct timeval tv = {
                .tv_sec = (time_t) (usec / USEC_PER_SEC),
                .tv_usec = (suseconds_t) (usec % USEC_PER_SEC),
        };

        (void) event_add(ev, &tv);
}

/* A frame as the bus carries it: classic CAN, unused bytes zero. */
static bool frame_normalize(const struct can_frame *in, struct can_frame *out) {
        if (in->can_dlc > CAN_MAX_DLEN)
                return false;
        memset(out, 0, sizeof(*out));
        out->can_id = in->can_id;
        out->can_dlc = in->can_dlc;
        if (!(in->can_id & CAN_RTR_FLAG))
                memcpy(out->data, in->data, in->can_dlc);
        return true;
}

static int ring_init(FrameRing *r, unsigned cap, bool wire) {
        if (wire)
                r->wire = calloc(cap, sizeof(WireFrame));
        else
                r->frames = calloc(cap, sizeof(struct can_frame));
        if (!r->wire && !r->frames)
                return -ENOMEM;
        r->cap = cap;
        return 0;
}

static void ring_done(FrameRing *r) {
        free(r->wire);
        free(r->frames);
        *r = (FrameRing) {};
}

static unsigned ring_slot(const FrameRing *r, unsigned i) {
        return (r->head + i) % r->cap;
}

/* ------------------------------------------------------------------------ */
/* Delivery */

static void bus_remote_closed(SimBus *bus, int error);
static void member_free(Member *m);
static void on_bus_off_end(evutil_socket_t fd, short what, void *userdata);
static void bus_tx(SimBus *bus, const struct can_frame *f);

static void deliver_members(SimBus *bus, const struct can_frame *f, Origin origin) {
        for (Member *m = bus->members; m; m = m->next) {
                if ((Origin) m == origin)
                        continue;
                if (send(m->fd, f, sizeof(*f), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) sizeof(*f))
                        continue;
                /* EAGAIN/ENOBUFS: a member that does not read.  EPIPE,
                 * ECONNRESET: a member that left; its EOF removes it from
                 * on_member_read(), never from here, where the reading
                 * member's callback may be on the stack. */
                m->dropped++;
                bus->stats.dropped_members++;
        }
}

static void deliver_ports(SimBus *bus, const struct can_frame *f, Origin origin) {
        /* A callback may free any port, including the next one:
         * simport_free() moves the cursor past a port it unlinks. */
        for (SimPort *p = bus->ports; p; p = bus->port_cursor) {
                bus->port_cursor = p->next;
                if ((Origin) p != origin)
                        p->fn(p->userdata, f);
        }
        bus->port_cursor = NULL;
}

static void deliver(SimBus *bus, const struct can_frame *f, Origin origin) {
        if (!(f->can_id & CAN_ERR_FLAG) || origin != NULL) {
                bus->stats.frames++;
                bus->stats.bits += can_frame_wire_bits(f);
        }

        switch (bus->kind) {
        case SIMBUS_HUB:
                deliver_members(bus, f, origin);
                break;
        case SIMBUS_JOIN:
        case SIMBUS_SOCKETCAN:
                if (origin != ORIGIN_REMOTE)
                        bus_tx(bus, f);
                break;
        }
        deliver_ports(bus, f, origin);
}

/* Deliver every frame whose end has come, then wait for the next one.  Not
 * re-entered: frames sent from a receive callback are queued and picked up
 * by the loop below (or by the timer when paced). */
static void wire_drain(SimBus *bus) {
        uint64_t now;

        if (bus->draining)
                return;
        bus->draining = true;

        now = bus->bitrate > 0 ? now_nsec() : 0;
        while (bus->wire.len > 0) {
                WireFrame w = bus->wire.wire[bus->wire.head];

                if (w.end_nsec > now)
                        break;
                bus->wire.head = ring_slot(&bus->wire, 1);
                bus->wire.len--;
                deliver(bus, &w.frame, w.origin);
        }

        bus->draining = false;

        if (bus->wire.len > 0) {
                uint64_t end = bus->wire.wire[bus->wire.head].end_nsec;

                now = now_nsec();
                timer_arm(bus->ev_wire, end > now ? end - now : 0);
        }
}

static void on_wire_timer(evutil_socket_t fd _unused_, short what _unused_, void *userdata) {
        wire_drain(userdata);
}

/* Put a frame on the wire.  Returns -ENETDOWN during bus-off, -ENOBUFS when
 * the wire's queue is full (both counted). */
static int wire_put(SimBus *bus, const struct can_frame *f, Origin origin) {
        WireFrame *w;

        if (bus->bus_off && !(f->can_id & CAN_ERR_FLAG && origin == NULL)) {
                bus->stats.dropped_bus_off++;
                return -ENETDOWN;
        }
        if (bus->wire.len >= bus->wire.cap) {
                bus->stats.dropped_queue++;
                return -ENOBUFS;
        }

        w = &bus->wire.wire[ring_slot(&bus->wire, bus->wire.len)];
        *w = (WireFrame) { .frame = *f, .origin = origin };

        if (bus->bitrate > 0 && origin != NULL) {
                uint64_t now = now_nsec();
                uint64_t start = MAX(now, bus->wire_free_nsec);
                uint64_t bits = can_frame_wire_bits(f);

                /* Round up: a frame never ends before its last bit. */
                w->end_nsec = start + (bits * NSEC_PER_SEC + bus->bitrate - 1) / bus->bitrate;
                bus->wire_free_nsec = w->end_nsec;
        } else if (bus->wire.len > 0)
                /* Keep the FIFO monotonic: internal frames wait their turn. */
                w->end_nsec = bus->wire.wire[ring_slot(&bus->wire, bus->wire.len - 1)].end_nsec;

        bus->wire.len++;

        if (bus->bitrate == 0 || w->end_nsec == 0)
                wire_drain(bus);
        else if (bus->wire.len == 1 && !bus->draining)
                timer_arm(bus->ev_wire, w->end_nsec - MIN(w->end_nsec, now_nsec()));
        return 0;
}

/* Forget an origin that goes away while its frames still wait. */
static void wire_forget_origin(SimBus *bus, Origin origin) {
        for (unsigned i = 0; i < bus->wire.len; i++) {
                WireFrame *w = &bus->wire.wire[ring_slot(&bus->wire, i)];

                if (w->origin == origin)
                        w->origin = ORIGIN_REMOTE; /* still not NULL: not internal */
        }
}

/* ------------------------------------------------------------------------ */
/* join/socketcan: writing to the remote side */

static int remote_write(SimBus *bus, const struct can_frame *f) {
        ssize_t n;

        if (bus->kind == SIMBUS_JOIN)
                n = send(bus->fd, f, sizeof(*f), MSG_DONTWAIT | MSG_NOSIGNAL);
        else
                n = write(bus->fd, f, sizeof(*f));
        if (n == (ssize_t) sizeof(*f))
                return 0;
        if (n >= 0)
                return -EIO;
        return -errno;
}

static bool errno_is_transient(int r) {
        return r == -EAGAIN || r == -ENOBUFS || r == -EINTR;
}

static void txq_flush(SimBus *bus) {
        while (bus->txq.len > 0) {
                int r = remote_write(bus, &bus->txq.frames[bus->txq.head]);

                if (errno_is_transient(r)) {
                        bus->stats.tx_retries++;
                        timer_arm(bus->ev_tx, SIMBUS_TX_RETRY_USEC * NSEC_PER_USEC);
                        return;
                }
                if (r < 0)
                        bus->stats.tx_errors++;
                bus->txq.head = ring_slot(&bus->txq, 1);
                bus->txq.len--;
        }
}

static void on_tx_timer(evutil_socket_t fd _unused_, short what _unused_, void *userdata) {
        txq_flush(userdata);
}

static void bus_tx(SimBus *bus, const struct can_frame *f) {
        int r;

        if (bus->remote_closed) {
                bus->stats.tx_errors++;
                return;
        }
        if (bus->txq.len == 0) {
                r = remote_write(bus, f);
                if (r >= 0)
                        return;
                if (!errno_is_transient(r)) {
                        /* e.g. ENETDOWN while the interface is down. */
                        bus->stats.tx_errors++;
                        return;
                }
                bus->stats.tx_retries++;
                timer_arm(bus->ev_tx, SIMBUS_TX_RETRY_USEC * NSEC_PER_USEC);
        }
        if (bus->txq.len >= bus->txq.cap) {
                bus->stats.dropped_queue++;
                return;
        }
        bus->txq.frames[ring_slot(&bus->txq, bus->txq.len)] = *f;
        bus->txq.len++;
}

/* ------------------------------------------------------------------------ */
/* Reading */

/* Read one message of exactly one frame.  Returns 1 with a frame, 0 when
 * nothing is left (EAGAIN), -ECONNRESET at end of stream, -EBADMSG for a
 * message of the wrong size or DLC (counted, skipped), other -errno. */
static int read_frame(SimBus *bus, int fd, struct can_frame *ret) {
        union {
                struct can_frame f;
                uint8_t raw[sizeof(struct can_frame) + 1];
        } buf;
        ssize_t n;

        n = recv(fd, &buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return -errno;
        }
        if (n == 0)
                return -ECONNRESET;
        if (n != (ssize_t) sizeof(struct can_frame) || !frame_normalize(&buf.f, ret)) {
                bus->stats.invalid++;
                return -EBADMSG;
        }
        return 1;
}

/* Puts up to SIMBUS_READ_BURST frames from @fd on the wire as sent by
 * @origin (losses are counted by wire_put(); the sender is not told, as on
 * a real bus).  Returns 0, or what read_frame() said when the stream ended
 * or failed (-ECONNRESET at its end). */
static int read_burst(SimBus *bus, int fd, Origin origin) {
        for (unsigned i = 0; i < SIMBUS_READ_BURST; i++) {
                struct can_frame f;
                int r = read_frame(bus, fd, &f);

                if (r == 0)
                        return 0;
                if (r == -EBADMSG)
                        continue;
                if (r < 0)
                        return r;
                (void) wire_put(bus, &f, origin);
        }
        return 0;
}

static void on_member_read(evutil_socket_t fd, short what _unused_, void *userdata) {
        Member *m = userdata;

        if (read_burst(m->bus, fd, m) < 0)
                member_free(m);
}

static void on_remote_read(evutil_socket_t fd, short what _unused_, void *userdata) {
        SimBus *bus = userdata;
        int r = read_burst(bus, fd, ORIGIN_REMOTE);

        if (r < 0)
                bus_remote_closed(bus, r == -ECONNRESET ? 0 : r);
}

static void bus_remote_closed(SimBus *bus, int error) {
        if (bus->remote_closed)
                return;
        bus->remote_closed = true;
        (void) event_del(bus->ev_fd);
        bus->txq.len = 0;
        if (bus->closed_fn)
                bus->closed_fn(bus->closed_userdata, error);
}

/* ------------------------------------------------------------------------ */
/* Hub members */

static void members_changed(SimBus *bus) {
        bus->stats.members = bus->n_members;
        if (bus->members_fn)
                bus->members_fn(bus->members_userdata, bus->n_members);
}

static void member_free(Member *m) {
        SimBus *bus;

        if (!m)
                return;
        bus = m->bus;
        LIST_REMOVE(bus->members, m);
        bus->n_members--;
        wire_forget_origin(bus, m);

        if (m->ev)
                event_free(m->ev);
        safe_close(m->fd);
        free(m);
        if (!bus->freeing)
                members_changed(bus);
}

static void on_accept(evutil_socket_t fd, short what _unused_, void *userdata) {
        SimBus *bus = userdata;

        for (unsigned i = 0; i < SIMBUS_READ_BURST; i++) {
                _cleanup_close_ int cfd = -1;
                Member *m;

                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                        /* EAGAIN, or a connection that died in the backlog;
                         * EMFILE leaves it pending and the level-triggered
                         * event retries, bounded by READ_BURST per wakeup. */
                        return;
                if (bus->n_members >= SIMBUS_MEMBERS_MAX)
                        continue; /* closes cfd */

                m = calloc(1, sizeof(*m));
                if (!m)
                        return;
                m->bus = bus;
                m->fd = -1;
                m->ev = event_new(bus->base, cfd, EV_READ | EV_PERSIST, on_member_read, m);
                if (!m->ev || event_add(m->ev, NULL) < 0) {
                        if (m->ev)
                                event_free(m->ev);
                        free(m);
                        return;
                }
                m->fd = TAKE_FD(cfd);

                LIST_APPEND(bus->members, m);
                bus->n_members++;
                members_changed(bus);
        }
}

/* ------------------------------------------------------------------------ */
/* Construction */

static SimBus *bus_alloc(struct event_base *base, SimBusKind kind, uint32_t bitrate) {
        _cleanup_free_ SimBus *bus = NULL;

        bus = calloc(1, sizeof(*bus));
        if (!bus)
                return NULL;
        bus->kind = kind;
        bus->base = base;
        bus->fd = -1;
        bus->bitrate = bitrate;

        if (ring_init(&bus->wire, SIMBUS_QUEUE_MAX, /* wire= */ true) < 0)
                return NULL;
        bus->ev_wire = evtimer_new(base, on_wire_timer, bus);
        if (!bus->ev_wire) {
                ring_done(&bus->wire);
                return NULL;
        }
        return TAKE_PTR(bus);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(SimBus *, simbus_free);

/* Is somebody listening at path?  Only then is the socket not stale. */
static bool socket_alive(const struct sockaddr_un *sa) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return false;
        return connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) == 0;
}

static int sockaddr_from_path(const char *path, struct sockaddr_un *ret) {
        if (!path || !*path)
                return -EINVAL;
        if (strlen(path) >= sizeof(ret->sun_path))
                return -ENAMETOOLONG;
        *ret = (struct sockaddr_un) { .sun_family = AF_UNIX };
        strcpy(ret->sun_path, path);
        return 0;
}

/**
 * simbus_new_hub() - create a vbus hub listening at a path
 * @base: libevent base the hub runs on (not owned; must outlive the bus)
 * @path: path of the Unix SOCK_SEQPACKET socket to create; a stale socket
 *        there (nobody listening) is replaced, a live one is not
 * @bitrate: bit/s for pacing by each frame's wire length, 0 = no pacing
 * @ret: the new bus, owned by the caller (simbus_free())
 *
 * The socket is made world-accessible (0666) so tests running as another
 * user can join; protect the directory if that matters.
 *
 * Return: 0, -EADDRINUSE if a hub already listens at @path, -ENAMETOOLONG,
 * -ENOMEM or another -errno from socket(), bind() or listen().
 */
int simbus_new_hub(struct event_base *base, const char *path, uint32_t bitrate, SimBus **ret) {
        _cleanup_(simbus_freep) SimBus *bus = NULL;
        struct sockaddr_un sa;
        struct stat st;
        int r;

        r = sockaddr_from_path(path, &sa);
        if (r < 0)
                return r;

        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                if (socket_alive(&sa))
                        return -EADDRINUSE;
                if (unlink(path) < 0 && errno != ENOENT)
                        return -errno;
        }

        bus = bus_alloc(base, SIMBUS_HUB, bitrate);
        if (!bus)
                return -ENOMEM;

        bus->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (bus->fd < 0)
                return -errno;
        if (bind(bus->fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        /* From here on the path is ours to unlink. */
        bus->path = strdup(path);
        if (!bus->path) {
                (void) unlink(path);
                return -ENOMEM;
        }
        if (stat(path, &st) < 0)
                return -errno;
        bus->path_dev = st.st_dev;
        bus->path_ino = st.st_ino;
        if (chmod(path, 0666) < 0)
                return -errno;
        if (listen(bus->fd, SOMAXCONN) < 0)
                return -errno;

        bus->ev_fd = event_new(base, bus->fd, EV_READ | EV_PERSIST, on_accept, bus);
        if (!bus->ev_fd)
                return -ENOMEM;
        if (event_add(bus->ev_fd, NULL) < 0)
                return -EIO;

        bus->ev_bus_off = evtimer_new(base, on_bus_off_end, bus);
        if (!bus->ev_bus_off)
                return -ENOMEM;

        *ret = TAKE_PTR(bus);
        return 0;
}

static int bus_setup_remote(SimBus *bus) {
        int r;

        r = ring_init(&bus->txq, SIMBUS_TXQ_MAX, /* wire= */ false);
        if (r < 0)
                return r;
        bus->ev_tx = evtimer_new(bus->base, on_tx_timer, bus);
        if (!bus->ev_tx)
                return -ENOMEM;
        bus->ev_fd = event_new(bus->base, bus->fd, EV_READ | EV_PERSIST, on_remote_read, bus);
        if (!bus->ev_fd)
                return -ENOMEM;
        if (event_add(bus->ev_fd, NULL) < 0)
                return -EIO;
        return 0;
}

/**
 * simbus_new_join() - join an existing vbus hub as one member
 * @base: libevent base (not owned; must outlive the bus)
 * @path: the hub's socket
 * @ret: the new bus, owned by the caller (simbus_free())
 *
 * Local ports' frames go to the hub and to the other local ports; the hub's
 * frames go to every local port.  Writes the hub does not take at once are
 * queued and retried (counted in tx_retries; beyond the queue, dropped_queue).
 *
 * Return: 0, or -errno from connect() (-ENOENT, -ECONNREFUSED: no hub).
 */
int simbus_new_join(struct event_base *base, const char *path, SimBus **ret) {
        _cleanup_(simbus_freep) SimBus *bus = NULL;
        struct sockaddr_un sa;
        int r;

        r = sockaddr_from_path(path, &sa);
        if (r < 0)
                return r;

        bus = bus_alloc(base, SIMBUS_JOIN, 0);
        if (!bus)
                return -ENOMEM;

        /* A blocking connect: a Unix socket connects at once or fails. */
        bus->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (bus->fd < 0)
                return -errno;
        if (connect(bus->fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        if (fcntl(bus->fd, F_SETFL, fcntl(bus->fd, F_GETFL) | O_NONBLOCK) < 0)
                return -errno;

        r = bus_setup_remote(bus);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(bus);
        return 0;
}

/**
 * simbus_new_socketcan() - put the bus on a kernel CAN interface
 * @base: libevent base (not owned; must outlive the bus)
 * @ifname: interface name, e.g. "can0" or "vcan0"
 * @ret: the new bus, owned by the caller (simbus_free())
 *
 * Opens a non-blocking CAN_RAW socket with bus-off/restarted error frames
 * enabled.  A full kernel queue (ENOBUFS/EAGAIN) keeps frames in a TX queue
 * retried from a short timer; nothing is dropped silently.
 *
 * Return: 0, -ENODEV for an unknown interface, other -errno from socket()
 * (-EAFNOSUPPORT without kernel CAN support), setsockopt() or bind().
 */
int simbus_new_socketcan(struct event_base *base, const char *ifname, SimBus **ret) {
        _cleanup_(simbus_freep) SimBus *bus = NULL;
        can_err_mask_t err_mask = CAN_ERR_BUSOFF | CAN_ERR_RESTARTED;
        struct sockaddr_can sa = { .can_family = AF_CAN };
        unsigned idx;
        int r;

        if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
                return -EINVAL;

        bus = bus_alloc(base, SIMBUS_SOCKETCAN, 0);
        if (!bus)
                return -ENOMEM;

        bus->fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
        if (bus->fd < 0)
                return -errno;
        idx = if_nametoindex(ifname);
        if (idx == 0)
                return errno == ENXIO ? -ENODEV : -errno;
        if (setsockopt(bus->fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &err_mask, sizeof(err_mask)) < 0)
                return -errno;
        sa.can_ifindex = (int) idx;
        if (bind(bus->fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;

        r = bus_setup_remote(bus);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(bus);
        return 0;
}

/**
 * simbus_free() - close the bus
 * @bus: the bus, or NULL
 *
 * Frees every port still attached (their owners' SimPort pointers become
 * invalid), disconnects every member and, for a hub, unlinks its socket if
 * it is still the one this hub created.  Must not be called from inside a
 * receive callback of this bus.
 *
 * Return: NULL.
 */
SimBus *simbus_free(SimBus *bus) {
        struct stat st;

        if (!bus)
                return NULL;
        bus->freeing = true;

        while (bus->ports)
                simport_free(bus->ports);
        while (bus->members)
                member_free(bus->members);

        if (bus->ev_fd)
                event_free(bus->ev_fd);
        if (bus->ev_wire)
                event_free(bus->ev_wire);
        if (bus->ev_tx)
                event_free(bus->ev_tx);
        if (bus->ev_bus_off)
                event_free(bus->ev_bus_off);
        safe_close(bus->fd);

        if (bus->path) {
                if (lstat(bus->path, &st) == 0 && st.st_dev == bus->path_dev && st.st_ino == bus->path_ino)
                        (void) unlink(bus->path);
                free(bus->path);
        }
        ring_done(&bus->wire);
        ring_done(&bus->txq);
        free(bus);
        return NULL;
}

/* ------------------------------------------------------------------------ */
/* Ports */

/**
 * simbus_attach() - attach a local port (a virtual controller) to the bus
 * @bus: the bus
 * @fn: called for every frame on the bus not sent through this port,
 *      error frames included; it may send, and free ports (itself too)
 * @userdata: passed to @fn
 * @ret: the port, owned by the caller (simport_free()); simbus_free()
 *       frees ports left attached
 *
 * Return: 0, -EINVAL without @fn, -ENOMEM.
 */
int simbus_attach(SimBus *bus, SimPortRecvFn fn, void *userdata, SimPort **ret) {
        SimPort *p;

        if (!bus || !fn || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->bus = bus;
        p->fn = fn;
        p->userdata = userdata;

        LIST_APPEND(bus->ports, p);
        *ret = p;
        return 0;
}

/**
 * simport_free() - detach and free a port
 * @port: the port, or NULL
 *
 * Safe inside any receive callback of the same bus.  Frames the port sent
 * that are still on the (paced) wire are delivered to everybody else.
 *
 * Return: NULL.
 */
SimPort *simport_free(SimPort *port) {
        SimBus *bus;

        if (!port)
                return NULL;
        bus = port->bus;
        if (bus->port_cursor == port)
                bus->port_cursor = port->next;
        LIST_REMOVE(bus->ports, port);
        wire_forget_origin(bus, port);
        free(port);
        return NULL;
}

/**
 * simport_send() - put a frame on the bus
 * @port: the sending port
 * @f: the frame (classic CAN: can_dlc 0…8; unused data bytes are zeroed)
 *
 * Every other port and member receives it; with pacing, once it "has been
 * on the wire".  A call from inside a receive callback is delivered after
 * the frame being delivered has reached everybody.
 *
 * Return: 0 when the frame is on the bus (for join/socketcan: handed to the
 * socket or queued for it), -EINVAL for can_dlc > 8, -ENETDOWN during a
 * bus-off, -ENOBUFS when the pacing queue is full (all counted).
 */
int simport_send(SimPort *port, const struct can_frame *f) {
        struct can_frame nf;

        if (!port || !f || !frame_normalize(f, &nf))
                return -EINVAL;
        return wire_put(port->bus, &nf, port);
}

/* ------------------------------------------------------------------------ */
/* Bus-off */

static void error_frame(uint32_t flag, struct can_frame *ret) {
        *ret = (struct can_frame) {
                .can_id = CAN_ERR_FLAG | flag,
                .can_dlc = CAN_ERR_DLC,
        };
}

static void on_bus_off_end(evutil_socket_t fd _unused_, short what _unused_, void *userdata) {
        SimBus *bus = userdata;
        struct can_frame f;

        bus->bus_off = false;
        bus->wire_free_nsec = 0;
        error_frame(CAN_ERR_RESTARTED, &f);
        (void) wire_put(bus, &f, NULL);
}

/**
 * simbus_bus_off() - simulate a bus-off of the whole segment
 * @bus: a hub
 * @duration_usec: how long the bus stays off
 *
 * Frames waiting for the wire are lost, every member and port gets an error
 * frame CAN_ERR_FLAG|CAN_ERR_BUSOFF, frames sent meanwhile are dropped
 * (counted in dropped_bus_off; simport_send() returns -ENETDOWN), and after
 * @duration_usec everybody gets CAN_ERR_FLAG|CAN_ERR_RESTARTED.  Calling it
 * again during a bus-off restarts the duration without a second error frame.
 *
 * Return: 0, -EOPNOTSUPP for join and socketcan buses.
 */
int simbus_bus_off(SimBus *bus, uint64_t duration_usec) {
        struct can_frame f;

        if (!bus)
                return -EINVAL;
        if (bus->kind != SIMBUS_HUB)
                return -EOPNOTSUPP;

        timer_arm(bus->ev_bus_off, duration_usec * NSEC_PER_USEC);
        if (bus->bus_off)
                return 0;

        /* The frame on the wire is aborted, the queue behind it lost. */
        bus->stats.dropped_bus_off += bus->wire.len;
        bus->wire.len = 0;
        bus->wire_free_nsec = 0;
        bus->bus_off = true;

        error_frame(CAN_ERR_BUSOFF, &f);
        (void) wire_put(bus, &f, NULL);
        return 0;
}

/* ------------------------------------------------------------------------ */
/* Introspection */

/**
 * simbus_get_stats() - read the bus counters
 * @bus: the bus
 * @ret: filled in
 *
 * frames/bits count frames put on the bus (for join and socketcan: sent by
 * a local port or received from outside); error frames the hub itself
 * generates are not counted as frames.
 */
void simbus_get_stats(const SimBus *bus, SimBusStats *ret) {
        *ret = bus->stats;
}

/**
 * simbus_set_closed_handler() - learn when the bus underneath goes away
 * @bus: a join or socketcan bus (a hub never closes by itself)
 * @fn: called once, with 0 on an orderly close or -errno; may be NULL
 * @userdata: passed to @fn
 */
void simbus_set_closed_handler(SimBus *bus, SimBusClosedFn fn, void *userdata) {
        bus->closed_fn = fn;
        bus->closed_userdata = userdata;
}

/**
 * simbus_set_members_handler() - learn when members join or leave a hub
 * @bus: a hub
 * @fn: called with the new number of external members; may be NULL
 * @userdata: passed to @fn
 */
void simbus_set_members_handler(SimBus *bus, SimBusMembersFn fn, void *userdata) {
        bus->members_fn = fn;
        bus->members_userdata = userdata;
}

/**
 * simbus_get_member_drops() - frames each external member lost
 * @bus: a hub
 * @ret: array receiving one count per member, in connection order
 * @n: size of @ret
 *
 * Return: the number of entries written (at most @n).
 */
unsigned simbus_get_member_drops(const SimBus *bus, uint64_t *ret, unsigned n) {
        unsigned i = 0;

        for (const Member *m = bus->members; m && i < n; m = m->next)
                ret[i++] = m->dropped;
        return i;
}
