/* vbus transport: a Unix SOCK_SEQPACKET client of the userspace CAN hub.
 * Every message is exactly one 16-byte struct can_frame (DESIGN.md "vbus"),
 * so a message of another size means the peer is not a vbus hub. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"
#include "transport/transports.h"

/* Receive buffers: one recvmmsg() takes every frame waiting, up to a
 * batch, in one system call (no EAGAIN round at one frame per wake-up). */
typedef struct VbusState {
        struct mmsghdr msgs[TRANSPORT_RX_BATCH];
        struct iovec iov[TRANSPORT_RX_BATCH];
        struct can_frame frames[TRANSPORT_RX_BATCH];
        int fd;                      /* the transport's (transport_fd()), a copy */
} VbusState;

static int vbus_open(Transport *t, const char *path, uint8_t own_id) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        VbusState *s = transport_state(t);
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* connect() on a non-blocking Unix socket completes at once or fails */
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        for (size_t i = 0; i < TRANSPORT_RX_BATCH; i++) {
                s->iov[i] = (struct iovec) { .iov_base = &s->frames[i], .iov_len = sizeof s->frames[i] };
                s->msgs[i].msg_hdr = (struct msghdr) { .msg_iov = &s->iov[i], .msg_iovlen = 1 };
        }
        s->fd = fd;
        return TAKE_FD(fd);
}

static int vbus_read(Transport *t, void *state, struct can_frame **ret) {
        VbusState *s = state;
        int n;

        /* MSG_TRUNC: msg_len is the message's real size */
        n = recvmmsg(s->fd, s->msgs, TRANSPORT_RX_BATCH, MSG_TRUNC, NULL);
        if (n < 0)
                /* EINTR: the read event fires again, the frames still wait */
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                unsigned len = s->msgs[i].msg_len;

                /* orderly EOF, or a peer that is not a vbus hub: the
                 * transport fails (the frames of this batch go with it) */
                if (len != sizeof(struct can_frame))
                        return len == 0 ? -ECONNRESET : -EBADMSG;
                if (s->frames[i].len > CAN_MAX_DLEN)
                        s->frames[i].len = CAN_MAX_DLEN;
        }
        *ret = s->frames;
        return n;
}

static int vbus_write(Transport *t, const struct can_frame *f) {
        struct can_frame out = *f;
        ssize_t n;

        /* unused data bytes are zero on the vbus wire */
        if (out.len < CAN_MAX_DLEN)
                memset(out.data + out.len, 0, CAN_MAX_DLEN - out.len);
        n = send(transport_fd(t), &out, sizeof out, MSG_NOSIGNAL);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n == (ssize_t) sizeof out ? 0 : -EIO;
}

const TransportOps transport_vbus_ops = {
        .kind = "vbus",
        .state_size = sizeof(VbusState),
        .open = vbus_open,
        .read = vbus_read,
        .write = vbus_write,
};
