/* SocketCAN transport: CAN_RAW with the kernel doing the filtering.
 *
 * Filters (spec §17): status broadcasts {9, 14, 15, 16, 27, 58} and
 * NOTIFY_BOOT (57) from any id; buffer frames {5, 6, 7, 8} and PONG (18)
 * only when addressed to vescd's own id.  Error frames for bus-off,
 * restarts and the controller's error counters; SO_RXQ_OVFL reports the
 * kernel's receive-queue drops, which are added to the counters. */
#include <errno.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "macro.h"
#include "transport/transports.h"
#include "proto/vesc-can.h"

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

/* Receive buffers: one recvmmsg() takes every frame waiting, up to a
 * batch, each with room for its SO_RXQ_OVFL drop count. */
typedef struct SocketcanState {
        struct mmsghdr msgs[TRANSPORT_RX_BATCH];
        struct iovec iov[TRANSPORT_RX_BATCH];
        struct can_frame frames[TRANSPORT_RX_BATCH];
        int fd;                      /* the transport's (transport_fd()), a copy */
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(uint32_t))];
        } control[TRANSPORT_RX_BATCH];
} SocketcanState;

static int socketcan_open(Transport *t, const char *ifname, uint8_t own_id) {
        static const uint8_t any_sender[] = {
                CAN_PACKET_STATUS, CAN_PACKET_STATUS_2, CAN_PACKET_STATUS_3, CAN_PACKET_STATUS_4,
                CAN_PACKET_STATUS_5, CAN_PACKET_STATUS_6, CAN_PACKET_NOTIFY_BOOT,
        };
        static const uint8_t to_us[] = {
                CAN_PACKET_FILL_RX_BUFFER, CAN_PACKET_FILL_RX_BUFFER_LONG, CAN_PACKET_PROCESS_RX_BUFFER,
                CAN_PACKET_PROCESS_SHORT_BUFFER, CAN_PACKET_PONG,
        };
        struct can_filter filters[ELEMENTSOF(any_sender) + ELEMENTSOF(to_us)];
        can_err_mask_t err_mask = CAN_ERR_BUSOFF | CAN_ERR_RESTARTED | CAN_ERR_CRTL;
        struct sockaddr_can sa = { .can_family = AF_CAN };
        _cleanup_close_ int fd = -1;
        size_t n = 0;
        int one = 1;

        if (strlen(ifname) >= IFNAMSIZ)
                return -ENAMETOOLONG;
        fd = socket(AF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
        if (fd < 0)
                return -errno;

        /* type byte in bits 8..15, bits 16..28 must be zero: match those
         * bits plus EFF/RTR; ignore the low (id) byte */
        for (size_t i = 0; i < ELEMENTSOF(any_sender); i++)
                filters[n++] = (struct can_filter) {
                        .can_id = CAN_EFF_FLAG | ((canid_t) any_sender[i] << 8),
                        .can_mask = CAN_EFF_FLAG | CAN_RTR_FLAG | (CAN_EFF_MASK & ~0xFFu),
                };
        for (size_t i = 0; i < ELEMENTSOF(to_us); i++)
                filters[n++] = (struct can_filter) {
                        .can_id = CAN_EFF_FLAG | ((canid_t) to_us[i] << 8) | own_id,
                        .can_mask = CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_EFF_MASK,
                };
        if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, filters, sizeof filters) < 0)
                return -errno;
        if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &err_mask, sizeof err_mask) < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0)
                return -errno;

        sa.can_ifindex = (int) if_nametoindex(ifname);
        if (sa.can_ifindex == 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;

        SocketcanState *s = transport_state(t);
        for (size_t i = 0; i < TRANSPORT_RX_BATCH; i++) {
                s->iov[i] = (struct iovec) { .iov_base = &s->frames[i], .iov_len = sizeof s->frames[i] };
                s->msgs[i].msg_hdr = (struct msghdr) {
                        .msg_iov = &s->iov[i],
                        .msg_iovlen = 1,
                        .msg_control = &s->control[i],
                        .msg_controllen = sizeof s->control[i],
                };
        }
        s->fd = fd;
        return TAKE_FD(fd);
}

static int socketcan_read(Transport *t, void *state, struct can_frame **ret) {
        SocketcanState *s = state;
        int n;

        do
                n = recvmmsg(s->fd, s->msgs, TRANSPORT_RX_BATCH, 0, NULL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                struct msghdr *msg = &s->msgs[i].msg_hdr;

                if (s->msgs[i].msg_len != sizeof(struct can_frame))
                        return -EBADMSG;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                                uint32_t dropped;
                                memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
                                /* the kernel reports a running total per socket */
                                transport_set_rx_dropped_total(t, dropped);
                        }
                /* the kernel wrote back the length it used */
                msg->msg_controllen = sizeof s->control[i];
                if (s->frames[i].len > CAN_MAX_DLEN)
                        s->frames[i].len = CAN_MAX_DLEN;
        }
        *ret = s->frames;
        return n;
}

static int socketcan_write(Transport *t, const struct can_frame *f) {
        ssize_t n = write(transport_fd(t), f, sizeof *f);

        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n == (ssize_t) sizeof *f ? 0 : -EIO;
}

const TransportOps transport_socketcan_ops = {
        .kind = "socketcan",
        .has_ifname = true,
        .state_size = sizeof(SocketcanState),
        .open = socketcan_open,
        .read = socketcan_read,
        .write = socketcan_write,
};
